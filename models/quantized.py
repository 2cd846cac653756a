"""Every linear layer of the model as a bit-exact quantized GEMM through golden/.

A layer ``y = x @ W + b`` becomes, for weights quantized by ``golden.quantize.quantize_weights``
(any golden format, per channel or per group) and INT8 activations quantized per token by
``golden.quantize.quantize_activations``::

    y = sum_g  gemm(A[:, g], W_codes[g, :]) * s_a * s_w[g] / 2**f  + b

where ``gemm`` is ``golden.arith.gemm`` (the MAC's exact integer sum, default accumulator), ``g``
runs over the K blocks that share a weight scale (one block per channel, K / group_size blocks per
group) and ``f`` is the format's fixed-point shift (dINT's scaled values are ``2**f * value``). The
integer partial sums are what the MAC and the array compute; only the final rescale is float, as
in an accelerator's output stage. Block-scaled weights and activations (MXFP4, NVFP4, MXINT8:
``golden.blockscaled``) run the same way with ``g`` the K blocks over which both scales are
constant, each block's sum times its two block scales. ``QuantizedLinears.weights_only`` multiplies the FP32
activations by the dequantized weights instead: the weight error alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from golden.arith import gemm
from golden.blockscaled import BlockQuantized, quantize_blocks
from golden.families.blockscaled import block_params
from golden.formats import INT8, Format, as_format
from golden.quantize import Quantized, quantize_activations, quantize_weights
from models.minilm import MiniLM

__all__ = ["QuantSpec", "QuantizedLinears", "quantized_gemm"]


@dataclass(frozen=True)
class QuantSpec:
    """How the linear layers are quantized: weight format and scale granularity, activation
    format. A block-scaled format (``mxfp4``, ``nvfp4``, ``mxint8``, ...) brings its own
    granularity, a scale per block along K; ``granularity`` and ``group_size`` then do not apply.
    Element-wise activations are quantized per token."""

    weight: Format
    granularity: str = "channel"
    group_size: int | None = None
    act: Format | str = INT8

    def quantize_weights(self, w: np.ndarray) -> Quantized | BlockQuantized:
        if block_params(as_format(self.weight)) is not None:
            return quantize_blocks(w, self.weight, axis=0)
        return quantize_weights(w, self.weight, self.granularity, self.group_size)

    def quantize_activations(self, x: np.ndarray) -> Quantized | BlockQuantized:
        act = as_format(self.act, "act")
        if block_params(act) is not None:
            return quantize_blocks(x, act, axis=1)
        return quantize_activations(x, "token", act)


def quantized_gemm(a: Quantized | BlockQuantized, w: Quantized | BlockQuantized,
                   dtype: type = np.float64) -> np.ndarray:
    """``dequantize(a) @ dequantize(w)`` computed as exact integer GEMMs per scale block.

    ``a`` holds per-token (M x 1) or per-tensor scales, or block scales along K (MXINT8,
    NVFP4, ...); ``w`` per-channel/tensor (1 x N), per-group (K/g x N) or block scales. Each
    K chunk over which both scales are constant is an exact integer sum (``golden.arith.gemm``),
    rescaled once in ``dtype`` (the model's layers use float32, the precision of the FP32 model
    they replace); per-token scales multiply the total. With float64 this is
    ``golden.blockscaled.block_dot`` with an accumulator that never truncates or overflows, up to
    float64 rounding of the additions.
    """
    k = w.codes.shape[0]
    step = min(_k_block(a, k), _k_block(w, k))
    w_scales = _k_scales(w, step, 0)
    a_scales = _k_scales(a, step, 1) if isinstance(a, BlockQuantized) else None
    out = None
    for chunk in range(k // step):
        rows = slice(chunk * step, (chunk + 1) * step)
        part = gemm(a.codes[:, rows], w.codes[rows], w.fmt, act=a.fmt).astype(dtype)
        part *= w_scales[chunk].astype(dtype)
        if a_scales is not None:
            part *= a_scales[:, chunk, None].astype(dtype)
        out = part if out is None else np.add(out, part, out=out)
    unit = 1.0 / float(1 << (w.fmt.shift + a.fmt.shift))
    out *= np.asarray(unit if a_scales is not None else a.element_scales() * unit, dtype=dtype)
    return out


def _k_block(q: Quantized | BlockQuantized, k: int) -> int:
    """K elements that share one scale of ``q``."""
    if isinstance(q, BlockQuantized):
        return q.block
    return k // q.scales.shape[0] if q.codes.shape[0] == k else k


def _k_scales(q: Quantized | BlockQuantized, step: int, axis: int) -> np.ndarray:
    """The scales of ``q``, one per ``step`` K elements along ``axis``."""
    if isinstance(q, BlockQuantized):
        return np.repeat(q.block_scales(), q.block // step, axis=axis)
    return np.repeat(q.scales, _k_block(q, q.codes.shape[0]) // step, axis=axis)


@dataclass
class QuantizedLinears:
    """The model's 36 linear layers under one ``QuantSpec``; call it as a ``models.minilm.Linear``.

    Weights are quantized once, at construction (as they would be offline); ``weights`` keeps the
    ``Quantized`` weight of every layer for statistics.
    """

    model: MiniLM
    spec: QuantSpec
    weights: dict[str, Quantized | BlockQuantized] = field(init=False)

    def __post_init__(self) -> None:
        self.weights = {name: self.spec.quantize_weights(w)
                        for name, (w, _) in self.model.linears.items()}
        self._dequantized: dict[str, np.ndarray] = {}
        self._last_input: tuple[np.ndarray, Quantized] | None = None

    def dequantized(self, name: str) -> np.ndarray:
        """The quantized weights of layer ``name`` as float32 values (K x N)."""
        if name not in self._dequantized:
            self._dequantized[name] = self.weights[name].dequantize().astype(np.float32)
        return self._dequantized[name]

    def weights_only(self, name: str, x: np.ndarray) -> np.ndarray:
        """The layer with quantized weights and FP32 activations (a ``Linear`` too)."""
        return x @ self.dequantized(name) + self.model.linears[name][1]

    def __call__(self, name: str, x: np.ndarray) -> np.ndarray:
        bias = self.model.linears[name][1]
        product = quantized_gemm(self._activations(x), self.weights[name], np.float32)
        product += bias
        return product

    def _activations(self, x: np.ndarray) -> Quantized | BlockQuantized:
        """Activation codes of ``x``, quantized once when consecutive layers share their input (query,
        key and value read the same hidden states, as one quantizer feeds all three in hardware)."""
        if self._last_input is None or self._last_input[0] is not x:
            self._last_input = (x, self.spec.quantize_activations(x))
        return self._last_input[1]
