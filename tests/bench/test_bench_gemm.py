"""``bench_gemm`` runs and reports: shapes shrunk so this checks its output, not its speed."""

from __future__ import annotations

import re

import pytest

from bench import bench_gemm


def test_bench_gemm_reports_every_weight_and_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_gemm, "SHAPES", ((8, 16, 4), (4, 32, 8)))
    monkeypatch.setattr(bench_gemm, "REPEATS", 1)
    lines = bench_gemm.run()
    assert lines[0] == "seed 0, best of 1, target golden/float64 <= 1.25"
    pattern = (r"^(\d+x\d+x\d+): golden gemm (\w+) x int8 \(float32 path\) \d+\.\d ms, "
               r"ratio \d+\.\d\d (PASS|FAIL)$")
    reported = [m.groups()[:2] for m in map(re.compile(pattern).match, lines) if m]
    assert reported == [(f"{m}x{k}x{n}", w.name) for m, k, n in bench_gemm.SHAPES
                        for w in bench_gemm.WEIGHTS]
    baselines = [line for line in lines if "float64 numpy matmul" in line]
    assert len(baselines) == len(bench_gemm.SHAPES)
