"""GEMM operands that drive the power flow: uniform random codes, LLM-like tensors, zeros.

Dynamic power depends on the data, so every workload is a named, seeded recipe for the code
matrices ``A`` (M x K activation codes, INT8 unless ``act`` says otherwise) and ``W`` (K x N
weight codes) of ``C = A @ W``:

* ``uniform``: every finite code of each format equally likely (the most switching a random
  stream gives; NaN/Inf codes have no value to multiply).
* ``llm``: what a quantized LLM layer feeds a MAC. Weights are Gaussian with Laplacian tails (a
  ``LLM_TAIL_FRACTION`` share of entries drawn from a wider Laplace distribution) with a per-output-
  channel spread, quantized per channel (``quantize_weights``): the tails set the scale, so most
  weights are small, and dINT4 maps many of them to its +-1/2 codes. Activations are Gaussian per
  token with ``llm_outlier_channels(K)`` channels ``LLM_OUTLIER_GAIN`` times larger (the outlier
  features of LLM activations), quantized per token (``quantize_activations``), so
  ordinary channels use few codes around zero.
* ``zeros``: all codes 0 (the floor: only the clock and leakage remain).
"""

from __future__ import annotations

import numpy as np

from golden.checks import check_int
from golden.formats import INT8, Format, as_format
from golden.quantize import quantize_activations, quantize_weights

__all__ = ["WORKLOADS", "LLM_TAIL_FRACTION", "LLM_OUTLIER_GAIN", "llm_outlier_channels",
           "make_workload"]

WORKLOADS = ("uniform", "llm", "zeros")
LLM_TAIL_FRACTION = 0.05
LLM_TAIL_SCALE = 3.0
LLM_OUTLIER_GAIN = 20.0


def llm_outlier_channels(k: int) -> int:
    """Number of outlier activation channels among ``k``: about 1 in 32, at least one."""
    return max(1, k // 32)


def make_workload(name: str, m: int, k: int, n: int, weight: Format | str,
                  seed: int, act: Format | str = INT8) -> tuple[np.ndarray, np.ndarray]:
    """``(a_codes, w_codes)``: M x K ``act`` codes and K x N ``weight`` codes (int64)."""
    if name not in WORKLOADS:
        raise ValueError(f"workload must be one of {list(WORKLOADS)}, not {name!r}")
    for param, value in (("m", m), ("k", k), ("n", n)):
        check_int(param, value, 1)
    weight, act = as_format(weight), as_format(act, "act")
    check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    if name == "zeros":
        return np.zeros((m, k), dtype=np.int64), np.zeros((k, n), dtype=np.int64)
    if name == "uniform":
        return _uniform_codes(rng, act, (m, k)), _uniform_codes(rng, weight, (k, n))
    return _llm_activations(rng, m, k, act), _llm_weights(rng, k, n, weight)


def _uniform_codes(rng: np.random.Generator, fmt: Format, shape: tuple[int, int]) -> np.ndarray:
    """Finite codes drawn uniformly (for an INT grid the same stream as ``integers(min, max)``)."""
    codes = fmt.finite_codes
    return codes[rng.integers(0, len(codes), size=shape, dtype=np.int64)]


def _llm_weights(rng: np.random.Generator, k: int, n: int, weight: Format) -> np.ndarray:
    body = rng.normal(0.0, 1.0, size=(k, n))
    tails = rng.laplace(0.0, LLM_TAIL_SCALE, size=(k, n))
    w = np.where(rng.random((k, n)) < LLM_TAIL_FRACTION, tails, body)
    w *= rng.lognormal(0.0, 0.3, size=(1, n))
    return quantize_weights(w, weight, "channel").codes.astype(np.int64)


def _llm_activations(rng: np.random.Generator, m: int, k: int, act: Format) -> np.ndarray:
    x = rng.normal(0.0, 1.0, size=(m, k))
    outliers = rng.choice(k, size=llm_outlier_channels(k), replace=False)
    x[:, outliers] *= LLM_OUTLIER_GAIN
    return quantize_activations(x, "token", act).codes.astype(np.int64)
