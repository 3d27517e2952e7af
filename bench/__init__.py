"""Benchmarks: one command each, a printed table of figures and ratios, a JSON result."""
