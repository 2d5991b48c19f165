"""Benchmarks and the load script: they print figures, they never assert on time."""
