"""Every linear layer of the model as a bit-exact quantized GEMM through golden/.

A layer ``y = x @ W + b`` becomes, for weights quantized by ``golden.quantize.quantize_weights``
(any golden format, per channel or per group) and INT8 activations quantized per token by
``golden.quantize.quantize_activations``::

    y = sum_g  gemm(A[:, g], W_codes[g, :]) * s_a * s_w[g] / 2**f  + b

where ``gemm`` is ``golden.arith.gemm`` (the MAC's exact integer sum, default accumulator), ``g``
runs over the K blocks that share a weight scale (one block per channel, K / group_size blocks per
group) and ``f`` is the format's fixed-point shift (dINT's scaled values are ``2**f * value``). The
integer partial sums are what the MAC and the array compute; only the final rescale is float, as
in an accelerator's output stage. ``QuantizedLinears.weights_only`` multiplies the FP32
activations by the dequantized weights instead: the weight error alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from golden.arith import gemm
from golden.formats import Format
from golden.quantize import Quantized, quantize_activations, quantize_weights
from models.minilm import MiniLM

__all__ = ["QuantSpec", "QuantizedLinears", "quantized_gemm"]


@dataclass(frozen=True)
class QuantSpec:
    """How the weights of the linear layers are quantized: format and scale granularity."""

    weight: Format
    granularity: str = "channel"
    group_size: int | None = None


def quantized_gemm(a: Quantized, w: Quantized, dtype: type = np.float64) -> np.ndarray:
    """``dequantize(a) @ dequantize(w)`` computed as exact integer GEMMs per scale block.

    ``a`` holds per-token (M x 1) or per-tensor scales, ``w`` per-channel/tensor (1 x N) or
    per-group (K/g x N) scales; each block's integer sum is rescaled once, in ``dtype`` (the
    model's layers use float32, the precision of the FP32 model they replace).
    """
    blocks = w.scales.shape[0]
    size = w.codes.shape[0] // blocks
    out = None
    for block in range(blocks):
        rows = slice(block * size, (block + 1) * size)
        part = gemm(a.codes[:, rows], w.codes[rows], w.fmt, act=a.fmt).astype(dtype)
        part *= w.scales[block].astype(dtype)
        out = part if out is None else np.add(out, part, out=out)
    out *= (a.element_scales() / float(1 << w.fmt.shift)).astype(dtype)
    return out


@dataclass
class QuantizedLinears:
    """The model's 36 linear layers under one ``QuantSpec``; call it as a ``models.minilm.Linear``.

    Weights are quantized once, at construction (as they would be offline); ``weights`` keeps the
    ``Quantized`` weight of every layer for statistics.
    """

    model: MiniLM
    spec: QuantSpec
    weights: dict[str, Quantized] = field(init=False)

    def __post_init__(self) -> None:
        self.weights = {name: quantize_weights(w, self.spec.weight, self.spec.granularity,
                                               self.spec.group_size)
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

    def _activations(self, x: np.ndarray) -> Quantized:
        """INT8 codes of ``x``, quantized once when consecutive layers share their input (query,
        key and value read the same hidden states, as one quantizer feeds all three in hardware)."""
        if self._last_input is None or self._last_input[0] is not x:
            self._last_input = (x, quantize_activations(x, "token"))
        return self._last_input[1]
