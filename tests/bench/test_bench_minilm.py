"""``bench_minilm`` runs and reports: two sentences, so this checks its output, not its speed."""

from __future__ import annotations

import re

import pytest

from bench import bench_minilm


def test_bench_minilm_reports_both_passes_and_the_ratio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_minilm, "SENTENCES", ("A short one.", "Another sentence here."))
    monkeypatch.setattr(bench_minilm, "REPEATS", 1)
    lines = bench_minilm.run()
    assert re.match(r"^2 sentences \(\d+ tokens\), best of 1, target w4a8/fp32 <= 1\.5$", lines[0])
    assert re.match(r"^fp32 numpy forward \d+ ms$", lines[1])
    match = re.match(r"^w4a8 bit-exact forward \(golden gemm, int4 per channel\) \d+ ms, "
                     r"ratio (\d+\.\d\d) (PASS|FAIL) \(mean cosine to fp32 (0\.\d{4})\)$", lines[2])
    assert match, lines[2]
    assert 0.5 < float(match[3]) < 1.0
