"""Bit-exact W4A8 forward pass of all-MiniLM-L6-v2 against its FP32 NumPy forward pass.

Both encode the project's sentence set (``models.minilm.SENTENCES``) in the same run, best of
several interleaved repeats (``bench_gemm.best_times``). The W4A8 pass quantizes each layer's
activations per token to INT8 and runs every one of the 36 linear layers as ``golden.arith.gemm``
on INT4 weight codes (per channel, quantized once beforehand as they would be offline). Target:
at most 1.5x the FP32 time, so the bit-exact model is cheap enough for every accuracy study.
"""

from __future__ import annotations

import numpy as np

from bench.bench_gemm import best_times
from golden.formats import INT4
from models.minilm import SENTENCES, load_model
from models.quantized import QuantizedLinears, QuantSpec

TARGET_RATIO = 1.5
REPEATS = 5


def run() -> list[str]:
    model = load_model()
    w4a8 = QuantizedLinears(model, QuantSpec(INT4))
    fp32_time, w4a8_time = best_times([lambda: model.encode(SENTENCES),
                                       lambda: model.encode(SENTENCES, w4a8)], REPEATS)
    cosine = np.sum(model.encode(SENTENCES) * model.encode(SENTENCES, w4a8), axis=1)
    ratio = w4a8_time / fp32_time
    tokens = model.tokenize(SENTENCES).ids.size
    return [f"{len(SENTENCES)} sentences ({tokens} tokens), best of {REPEATS}, "
            f"target w4a8/fp32 <= {TARGET_RATIO}",
            f"fp32 numpy forward {fp32_time * 1e3:.0f} ms",
            f"w4a8 bit-exact forward (golden gemm, int4 per channel) {w4a8_time * 1e3:.0f} ms, "
            f"ratio {ratio:.2f} {'PASS' if ratio <= TARGET_RATIO else 'FAIL'} "
            f"(mean cosine to fp32 {cosine.mean():.4f})"]
