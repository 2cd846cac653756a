"""What each weight format costs in accuracy on the real model: per layer and end to end.

``accuracy_study`` runs the FP32 model once on the sentence set, recording the real input of each
of the 36 linear layers, then for every weight format:

* per layer: weight underflow share (nonzero weights that became code 0, over nonzero weights),
  special-code share (weights on dINT's +-2**-f codes), weight SQNR, and the SQNR of the layer's
  GEMM ``x @ W`` on its captured FP32 input with quantized weights only and with quantized
  activations too (INT8 per token by default, or MXINT8 per block) (the bias is left out: it is added after the GEMM and carries no error);
* end to end, with all 36 layers quantized (weights only, and W + A8 bit-exact through golden):
  cosine of each sentence embedding to its FP32 embedding (mean, min), the largest and the mean
  absolute error of the sentence-similarity matrix, and the share of sentences whose nearest
  neighbour (by cosine, itself excluded) is the one FP32 picks.

SQNR is ``10 log10(sum ref**2 / sum (ref - quantized)**2)`` in dB. There is no randomness: the
result is a function of the model package version, the sentence set and golden/'s quantizers.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from golden.formats import get_format
from golden.blockscaled import BlockQuantized
from golden.families.blockscaled import block_params
from golden.quantize import WEIGHT_GRANULARITIES, Quantized
from hw.export import write_atomic
from models.minilm import SENTENCES, MiniLM, capture_inputs, load_model, model_version
from models.quantized import QuantizedLinears, QuantSpec, quantized_gemm

__all__ = ["ACCURACY_SCHEMA", "DEFAULT_FORMATS", "accuracy_study",
           "sentence_digest", "accuracy_table", "cached_accuracy_study"]

ACCURACY_SCHEMA = "qmac.accuracy/1"
_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FORMATS = ("int8", "int4", "dint4")
_LAYER_METRICS = ("underflow", "special_share", "weight_sqnr_db", "output_sqnr_w_db",
                  "output_sqnr_wa8_db")


def sentence_digest(sentences: Sequence[str]) -> str:
    """sha256 of the sentence set (one per line): names the inputs in results and cache keys."""
    return hashlib.sha256("\n".join(sentences).encode()).hexdigest()


def sqnr_db(reference: np.ndarray, approx: np.ndarray) -> float:
    """``10 log10(signal / noise)`` in dB; ``inf`` when ``approx`` is exact."""
    reference = np.asarray(reference, dtype=np.float64)
    noise = float(np.sum((reference - approx) ** 2))
    signal = float(np.sum(reference ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(signal / noise)


def _end_to_end(reference: np.ndarray, embeddings: np.ndarray) -> dict[str, float]:
    cosine = np.sum(reference * embeddings, axis=1) / np.linalg.norm(embeddings, axis=1)
    sim_ref, sim = reference @ reference.T, embeddings @ embeddings.T
    off = ~np.eye(len(reference), dtype=bool)
    error = np.abs(sim - sim_ref)[off]
    np.fill_diagonal(sim_ref, -np.inf)
    np.fill_diagonal(sim, -np.inf)
    return {"cosine_mean": float(cosine.mean()), "cosine_min": float(cosine.min()),
            "similarity_error_max": float(error.max()),
            "similarity_error_mean": float(error.mean()),
            "nn_agreement": float(np.mean(sim.argmax(axis=1) == sim_ref.argmax(axis=1)))}


def _layer_stats(name: str, x: np.ndarray, reference: np.ndarray, model: MiniLM,
                 quantized: QuantizedLinears, x_q: Quantized | BlockQuantized) -> dict[str, float]:
    """Statistics of one layer; float32 products suffice (their ~1e-7 error is ~140 dB down)."""
    w, _ = model.linears[name]
    qw = quantized.weights[name]
    w_q = quantized.dequantized(name)
    return {
        "underflow": qw.underflow / max(1, int(np.count_nonzero(w))),
        "special_share": float(np.isin(qw.codes, list(qw.fmt.special_codes)).mean()),
        "weight_sqnr_db": sqnr_db(w, w_q),
        "output_sqnr_w_db": sqnr_db(reference, x @ w_q),
        "output_sqnr_wa8_db": sqnr_db(reference, quantized_gemm(x_q, qw)),
    }


def accuracy_study(formats: Sequence[str] = DEFAULT_FORMATS, granularity: str = "channel",
                   group_size: int | None = None, sentences: Sequence[str] = SENTENCES,
                   progress: Callable[[str], None] = print, act: str = "int8") -> dict:
    """Accuracy of each weight format on the real model (see the module docstring); JSON-ready.

    ``act`` is the activation format: element-wise ones (``int8``) per token, block-scaled ones
    (``mxint8``) per block of K."""
    if granularity not in WEIGHT_GRANULARITIES[1:]:
        raise ValueError(f"granularity must be one of ['channel', 'group'], not {granularity!r}")
    if isinstance(formats, str) or not formats:
        raise ValueError(f"formats must be a non-empty list of format names, not {formats!r}")
    start = time.perf_counter()
    model = load_model()
    act_format = get_format(act)
    linears = {fmt.name: QuantizedLinears(model, QuantSpec(fmt, granularity, group_size,
                                                           act_format))
               for fmt in (get_format(f) for f in dict.fromkeys(formats))}
    spec = next(iter(linears.values())).spec
    sentences = list(sentences)
    inputs = capture_inputs(model, sentences)
    reference = model.encode(sentences)
    act_codes = {name: spec.quantize_activations(x) for name, x in inputs.items()}
    products = {name: x @ model.linears[name][0] for name, x in inputs.items()}
    results = {}
    for index, (fmt, quantized) in enumerate(linears.items(), 1):
        elapsed = time.perf_counter() - start
        eta = f"{elapsed / (index - 1) * (len(linears) - index + 1):.0f} s" if index > 1 else "-"
        progress(f"accuracy {fmt} ({index}/{len(linears)}, {elapsed:.1f} s, ETA {eta})")
        layers = {name: _layer_stats(name, x, products[name], model, quantized, act_codes[name])
                  for name, x in inputs.items()}
        results[fmt] = {
            "layers": layers,
            "mean": {metric: float(np.mean([layer[metric] for layer in layers.values()]))
                     for metric in _LAYER_METRICS},
            "end_to_end": {
                "w_only": _end_to_end(reference, model.encode(sentences, quantized.weights_only)),
                "w_a8": _end_to_end(reference, model.encode(sentences, quantized)),
            },
        }
    return {
        "schema": ACCURACY_SCHEMA,
        "model": model_version(),
        "sentences": {"count": len(sentences), "tokens": int(next(iter(inputs.values())).shape[0]),
                      "sha256": sentence_digest(sentences)},
        "granularity": granularity,
        "group_size": group_size,
        "activations": (f"{act_format.name} per block of K (golden.blockscaled.quantize_blocks)"
                        if block_params(act_format) else f"{act_format.name} per token "
                        "(golden.quantize.quantize_activations)"),
        "formats": results,
        "runtime_s": time.perf_counter() - start,
    }


def accuracy_table(study: dict) -> list[dict[str, str]]:
    """One row per format: the layer means and the W + A8 end-to-end figures, formatted."""
    rows = []
    for name, res in study["formats"].items():
        mean, e2e, w_only = res["mean"], res["end_to_end"]["w_a8"], res["end_to_end"]["w_only"]
        rows.append({
            "format": name,
            "underflow %": f"{100 * mean['underflow']:.1f}",
            "specials %": f"{100 * mean['special_share']:.1f}",
            "weight SQNR dB": f"{mean['weight_sqnr_db']:.1f}",
            "GEMM SQNR W dB": f"{mean['output_sqnr_w_db']:.1f}",
            "GEMM SQNR W+A8 dB": f"{mean['output_sqnr_wa8_db']:.1f}",
            "cos W": f"{w_only['cosine_mean']:.4f}",
            "cos W+A8 mean": f"{e2e['cosine_mean']:.4f}",
            "cos W+A8 min": f"{e2e['cosine_min']:.4f}",
            "sim err max": f"{e2e['similarity_error_max']:.4f}",
            "NN agree %": f"{100 * e2e['nn_agreement']:.0f}",
        })
    return rows


_SOURCES = ("golden/formats.py", "golden/quantize.py", "golden/arith.py", "golden/blockscaled.py",
            "golden/families/blockscaled.py", "models/minilm.py",
            "models/quantized.py", "models/accuracy.py", "models/sentences.txt")
"""The files whose content decides an accuracy result (with the model package version)."""


def cached_accuracy_study(cache_dir: Path, formats: Sequence[str] = DEFAULT_FORMATS,
                          granularity: str = "channel", group_size: int | None = None,
                          progress: Callable[[str], None] = print, act: str = "int8") -> dict:
    """``accuracy_study`` on the default sentence set, stored in ``cache_dir`` under a key of
    everything the result depends on (arguments, model version, the ``_SOURCES`` contents)."""
    digest = hashlib.sha256()
    for rel in _SOURCES:
        digest.update(rel.encode() + b"\0" + (_ROOT / rel).read_bytes() + b"\0")
    material = json.dumps({"formats": [get_format(f).name for f in formats],
                           "granularity": granularity, "group_size": group_size,
                           "act": get_format(act).name, "model": model_version(),
                           "sources": digest.hexdigest()},
                          sort_keys=True)
    path = Path(cache_dir) / f"accuracy-{hashlib.sha256(material.encode()).hexdigest()[:16]}.json"
    if path.is_file():
        progress(f"{'cached':<9}accuracy study ({path.name})")
        return json.loads(path.read_text(encoding="utf-8"))
    result = accuracy_study(formats, granularity, group_size, progress=progress, act=act)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(result, indent=1) + "\n")
    return result
