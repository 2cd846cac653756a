"""GEMM operands that drive the power flow: real model tensors, synthetic ones, uniform, zeros.

Dynamic power depends on the data, so every workload is a named, seeded recipe for the code
matrices ``A`` (M x K activation codes, INT8 unless ``act`` says otherwise) and ``W`` (K x N
weight codes) of ``C = A @ W``:

* ``minilm``: a tile of a real GEMM of the trained all-MiniLM-L6-v2 encoder (``models/``): the
  seed picks one of its 36 linear layers, M consecutive tokens of the activations captured on the
  project's sentence set, and a K x N window of the trained weights. The weights are quantized
  per channel over the whole layer and the activations per token over their whole row (INT8), as
  in inference, and then cut to the tile; so the codes carry the real scales and distributions.
  The tensors come from ``models.minilm.layer_operands``, imported on first use: golden/ itself
  stays pure NumPy and loads no model.
* ``synthetic``: an imitation of such a layer (what qmac used before it had real tensors; it
  flatters 4-bit formats, see docs/accuracy.md). Weights are Gaussian with Laplacian tails (a
  ``SYNTHETIC_TAIL_FRACTION`` share drawn from a wider Laplace distribution) with a per-output-
  channel spread, quantized per channel; activations are Gaussian per token with
  ``synthetic_outlier_channels(K)`` channels ``SYNTHETIC_OUTLIER_GAIN`` times larger, quantized
  per token to INT8.
* ``uniform``: every finite code of each format equally likely (the most switching a random
  stream gives; NaN/Inf codes have no value to multiply).
* ``zeros``: all codes 0 (the floor: only the clock and leakage remain).

``code_statistics`` summarises what a workload feeds the MAC ports (zero and special-code shares,
mean |code|, bit toggle rate), so a reader sees why workloads draw different power.
"""

from __future__ import annotations

import numpy as np

from golden.blockscaled import BlockQuantized, quantize_operand
from golden.checks import check_int
from golden.formats import INT8, Format, as_format
from golden.quantize import quantize_activations, quantize_weights

__all__ = ["WORKLOADS", "SYNTHETIC_TAIL_FRACTION", "SYNTHETIC_OUTLIER_GAIN",
           "synthetic_outlier_channels", "make_workload", "block_workload", "real_tile",
           "code_statistics",
           "toggle_rate"]

WORKLOADS = ("minilm", "synthetic", "uniform", "zeros")
SYNTHETIC_TAIL_FRACTION = 0.05
SYNTHETIC_TAIL_SCALE = 3.0
SYNTHETIC_OUTLIER_GAIN = 20.0


def synthetic_outlier_channels(k: int) -> int:
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
    if name == "minilm":
        from models.minilm import layer_operands  # lazy: golden/ never needs models/ to import

        return real_tile(layer_operands(), m, k, n, weight, rng, act)
    return _synthetic_activations(rng, m, k, act), _synthetic_weights(rng, k, n, weight)


def _uniform_codes(rng: np.random.Generator, fmt: Format, shape: tuple[int, int]) -> np.ndarray:
    """Finite codes drawn uniformly (for an INT grid the same stream as ``integers(min, max)``)."""
    codes = fmt.finite_codes
    return codes[rng.integers(0, len(codes), size=shape, dtype=np.int64)]


def real_tile(layers: dict[str, tuple[np.ndarray, np.ndarray]], m: int, k: int, n: int,
              weight: Format, rng: np.random.Generator,
              act: Format = INT8) -> tuple[np.ndarray, np.ndarray]:
    """An M x K by K x N tile of one real layer ``(X, W)`` of ``layers``, quantized as in inference.

    ``rng`` picks the layer (among those at least that large), M consecutive tokens, and the K and
    N windows. W is quantized per channel over all its K rows and X per token over its whole row
    before the tile is cut (X in ``act``, INT8 by default), so the tile's codes carry the layer's
    real scales.
    """
    x, w, (k0, n0) = _real_layer(layers, m, k, n, rng)
    a_codes = quantize_activations(x, "token", act).codes[:, k0:k0 + k]
    w_codes = quantize_weights(w[:, n0:n0 + n], weight, "channel").codes[k0:k0 + k]
    return a_codes.astype(np.int64), w_codes.astype(np.int64)


def _real_layer(layers: dict[str, tuple[np.ndarray, np.ndarray]], m: int, k: int, n: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """``(X rows, W, (k0, n0))``: M token rows of the real layer ``rng`` picks, and where its
    K x N tile starts.

    The rows are M consecutive tokens. A stream longer than the captured tokens (a 16x16 array's
    1,176 rows against 852 tokens) takes them cyclically from a random start: real activations,
    repeated after every token has been used once.
    """
    fits = [name for name, (x, w) in sorted(layers.items())
            if x.shape[0] >= m and w.shape[0] >= k and w.shape[1] >= n]
    cyclic = not fits
    if cyclic:
        fits = [name for name, (x, w) in sorted(layers.items())
                if w.shape[0] >= k and w.shape[1] >= n]
    if not fits:
        largest = max(w.shape for _, w in layers.values())
        raise ValueError(f"k, n must fit a real layer (at most {largest[0]} x {largest[1]}), "
                         f"not {k} x {n}")
    x, w = layers[fits[int(rng.integers(len(fits)))]]
    tokens = x.shape[0]
    t0 = int(rng.integers(tokens if cyclic else tokens - m + 1))
    k0, n0 = (int(rng.integers(size - tile + 1)) for size, tile in ((w.shape[0], k),
                                                                     (w.shape[1], n)))
    return x[(t0 + np.arange(m)) % tokens], w, (k0, n0)


def block_workload(name: str, m: int, k: int, n: int, weight: Format | str, act: Format | str,
                   seed: int) -> tuple[BlockQuantized, BlockQuantized]:
    """``(a, w)`` of workload ``name`` in block-scaled formats: the M x K activations and K x N
    weights ``make_workload`` draws (the same draws for ``synthetic`` and ``minilm``), as floats,
    quantized to ``act``/``weight`` with blocks along K (``golden.blockscaled.quantize_operand``:
    an element-wise ``act`` such as INT8 is quantized per token), so the scales are the data's
    own. ``uniform`` is uniform floats in [-1, 1)."""
    if name not in WORKLOADS:
        raise ValueError(f"workload must be one of {list(WORKLOADS)}, not {name!r}")
    for param, value in (("m", m), ("k", k), ("n", n), ("seed", seed)):
        check_int(param, value, 0 if param == "seed" else 1)
    rng = np.random.default_rng(seed)
    if name == "zeros":
        x, w = np.zeros((m, k)), np.zeros((k, n))
    elif name == "uniform":
        x, w = rng.uniform(-1.0, 1.0, (m, k)), rng.uniform(-1.0, 1.0, (k, n))
    elif name == "minilm":
        from models.minilm import layer_operands  # lazy: golden/ never needs models/ to import

        rows, layer_w, (k0, n0) = _real_layer(layer_operands(), m, k, n, rng)
        x, w = rows[:, k0:k0 + k], layer_w[k0:k0 + k, n0:n0 + n]
    else:
        x = _synthetic_activation_values(rng, m, k)
        w = _synthetic_weight_values(rng, k, n)
    return quantize_operand(x, act, 1), quantize_operand(w, weight, 0)


def toggle_rate(values: np.ndarray, bits: int) -> float:
    """Mean share of a ``bits``-wide port's bits that flip from one cycle to the next."""
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    if values.size < 2:
        return 0.0
    flips = (values[1:] ^ values[:-1]) & ((1 << bits) - 1)
    counts = np.unpackbits(flips.astype(">u8").view(np.uint8)).sum()
    return float(counts) / (bits * (values.size - 1))


def code_statistics(a_codes: np.ndarray, w_codes: np.ndarray, weight: Format,
                    act: Format = INT8) -> dict[str, float]:
    """What a workload feeds the MAC, streamed as ``MACConfig.gemm_trace`` does (outputs in row
    order, each output's K products back to back): per port the share of zero codes, of special
    codes, the mean |value| of the codes (format units: dINT4's specials count 1/2), and the bit
    toggle rate of the port."""
    m, k = a_codes.shape
    n = w_codes.shape[1]
    x_stream = np.repeat(a_codes[:, None, :], n, axis=1).reshape(-1)
    w_stream = np.repeat(w_codes.T[None, :, :], m, axis=0).reshape(-1)
    return {
        "x_zero_share": float(np.mean(a_codes == 0)),
        "w_zero_share": float(np.mean(w_codes == 0)),
        "w_special_share": float(np.isin(w_codes, list(weight.special_codes)).mean()),
        "x_mean_abs": float(np.abs(act.decode(a_codes)).mean()),
        "w_mean_abs": float(np.abs(weight.decode(w_codes)).mean()),
        "x_toggle_rate": toggle_rate(x_stream, act.bits),
        "w_toggle_rate": toggle_rate(w_stream, weight.bits),
    }


def _synthetic_weights(rng: np.random.Generator, k: int, n: int, weight: Format) -> np.ndarray:
    return quantize_weights(_synthetic_weight_values(rng, k, n), weight,
                            "channel").codes.astype(np.int64)


def _synthetic_weight_values(rng: np.random.Generator, k: int, n: int) -> np.ndarray:
    body = rng.normal(0.0, 1.0, size=(k, n))
    tails = rng.laplace(0.0, SYNTHETIC_TAIL_SCALE, size=(k, n))
    w = np.where(rng.random((k, n)) < SYNTHETIC_TAIL_FRACTION, tails, body)
    w *= rng.lognormal(0.0, 0.3, size=(1, n))
    return w


def _synthetic_activations(rng: np.random.Generator, m: int, k: int, act: Format) -> np.ndarray:
    return quantize_activations(_synthetic_activation_values(rng, m, k), "token",
                                act).codes.astype(np.int64)


def _synthetic_activation_values(rng: np.random.Generator, m: int, k: int) -> np.ndarray:
    x = rng.normal(0.0, 1.0, size=(m, k))
    outliers = rng.choice(k, size=synthetic_outlier_channels(k), replace=False)
    x[:, outliers] *= SYNTHETIC_OUTLIER_GAIN
    return x
