"""Names for the reference's bench catalog. They are those of the shop's demo catalog, in the same
order, so that `load_reference_catalog` and the shop's `load_demo_catalog`, drawing from the same
seed, load the same rows (names, slugs, prices) into either design."""

CATEGORIES = "Books Electronics Garden Kitchen Music Outdoors Sports Toys Clothing Beauty".split()
ADJECTIVES = "Classic Compact Deluxe Eco Handmade Pro Smart Travel Vintage Wireless".split()
