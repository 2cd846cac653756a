"""Golden W4A8 GEMM against a plain float64 NumPy matmul of the same shape, timed in one run.

The golden ``gemm`` must stay fast enough to serve as the model for every GEMM-sized workload;
the target is at most 1.25x the time of ``A @ W`` on float64 inputs (this machine's BLAS).
Times are the best of several repeats, the candidates interleaved within each repeat, so that
other load on the machine inflates them least and affects both sides alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from golden.arith import gemm, gemm_path
from golden.formats import DINT4, INT4, Format

SHAPES = ((1024, 1024, 1024), (4096, 1024, 4096))
"""(M, K, N): a square case and a 4096x4096x1024 LLM projection tile."""
WEIGHTS: tuple[Format, ...] = (DINT4, INT4)
TARGET_RATIO = 1.25
REPEATS = 5
SEED = 0


def best_times(funcs: list[Callable[[], object]], repeats: int = REPEATS) -> list[float]:
    """Shortest wall time of each function over ``repeats`` interleaved rounds (after a warm-up)."""
    best = [float("inf")] * len(funcs)
    for round_ in range(repeats + 1):
        for i, func in enumerate(funcs):
            start = time.perf_counter()
            func()
            if round_:
                best[i] = min(best[i], time.perf_counter() - start)
    return best


def run() -> list[str]:
    rng = np.random.default_rng(SEED)
    lines = [f"seed {SEED}, best of {REPEATS}, target golden/float64 <= {TARGET_RATIO}"]
    for m, k, n in SHAPES:
        a_float = rng.standard_normal((m, k))
        w_float = rng.standard_normal((k, n))
        a_codes = rng.integers(-128, 128, (m, k), dtype=np.int8)
        w_codes = {weight: rng.integers(weight.code_min, weight.code_max + 1, (k, n),
                                        dtype=np.int8) for weight in WEIGHTS}
        baseline, *goldens = best_times(
            [lambda: a_float @ w_float,
             *(lambda weight=weight: gemm(a_codes, w_codes[weight], weight) for weight in WEIGHTS)])
        lines.append(f"{m}x{k}x{n}: float64 numpy matmul {baseline * 1e3:.1f} ms")
        for weight, golden in zip(WEIGHTS, goldens):
            ratio = golden / baseline
            verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
            lines.append(
                f"{m}x{k}x{n}: golden gemm {weight.name} x int8 ({gemm_path(k, weight)} path) "
                f"{golden * 1e3:.1f} ms, ratio {ratio:.2f} {verdict}")
    return lines
