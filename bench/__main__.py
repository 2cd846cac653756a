"""Run every benchmark module in bench/ (or those named on the command line) and print results."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench


def main(names: list[str]) -> int:
    modules = sorted(m.name for m in pkgutil.iter_modules(bench.__path__)
                     if m.name.startswith("bench_"))
    unknown = sorted(set(names) - set(modules))
    if unknown:
        print(f"bench: unknown benchmark {unknown[0]!r}; choose from {modules}", file=sys.stderr)
        return 2
    for name in names or modules:
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        for line in importlib.import_module(f"bench.{name}").run():
            print(f"   {line}", flush=True)
        print(f"   ({time.perf_counter() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
