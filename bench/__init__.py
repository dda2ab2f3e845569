"""Benchmark suite: a throwaway full stack, real load tools, one table (see bench/README.md)."""
