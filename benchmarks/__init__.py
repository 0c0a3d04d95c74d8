"""Benchmarks for nm28_async: `python -m benchmarks.run [--quick] [--out DIR]`."""
