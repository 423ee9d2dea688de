"""Benchmarks: each `python -m bench.NAME` prints JSON figures beside a baseline measured in the same run."""
