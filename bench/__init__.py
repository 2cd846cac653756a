"""Benchmarks (`make bench`): each module ``bench/bench_*.py`` has ``run() -> list[str]``.

Every result is printed as a ratio against a baseline measured in the same run, so the numbers
mean the same on any machine.
"""
