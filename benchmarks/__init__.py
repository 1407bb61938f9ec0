"""Benchmarks of skelaug (not part of the wheel); methodology in ``benchmarks/README.md``."""
