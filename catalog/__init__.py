"""Categories and products: the public catalog, cached in Redis by cachalot."""
