"""golden.workloads: shapes, code ranges, seeded determinism, real and synthetic statistics."""

from __future__ import annotations

import numpy as np
import pytest

from golden.formats import DINT4, INT4, INT8, get_format
from golden.workloads import (SYNTHETIC_OUTLIER_GAIN, WORKLOADS, code_statistics, make_workload,
                              real_tile, synthetic_outlier_channels, toggle_rate)


@pytest.mark.parametrize("name", WORKLOADS)
@pytest.mark.parametrize("weight", [INT8, INT4, DINT4], ids=lambda f: f.name)
def test_shapes_and_code_ranges(name: str, weight) -> None:
    a, w = make_workload(name, 5, 96, 3, weight, seed=1)
    assert a.shape == (5, 96) and w.shape == (96, 3)
    assert a.dtype == np.int64 and w.dtype == np.int64
    INT8.check_codes(a, "a")
    weight.check_codes(w, "w")


@pytest.mark.parametrize("name", WORKLOADS)
def test_same_seed_same_operands_other_seed_differs(name: str) -> None:
    first = make_workload(name, 4, 64, 4, DINT4, seed=7)
    again = make_workload(name, 4, 64, 4, DINT4, seed=7)
    other = make_workload(name, 4, 64, 4, DINT4, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(first, again))
    if name == "zeros":
        assert not first[0].any() and not first[1].any()
    else:
        assert not all(np.array_equal(x, y) for x, y in zip(first, other))


def test_uniform_reaches_every_code() -> None:
    a, w = make_workload("uniform", 64, 256, 8, DINT4, seed=0)
    assert set(np.unique(w).tolist()) == set(DINT4.codes.tolist())
    assert a.min() == -128 and a.max() == 127


def test_synthetic_activations_have_outlier_channels() -> None:
    k = 128
    a, _ = make_workload("synthetic", 64, k, 4, INT8, seed=3)
    channel_size = np.abs(a).mean(axis=0)
    count = synthetic_outlier_channels(k)
    ordered = np.sort(channel_size)
    typical = np.median(channel_size)
    assert np.all(ordered[-count:] > SYNTHETIC_OUTLIER_GAIN / 4 * typical)
    assert np.all(ordered[:-count] < SYNTHETIC_OUTLIER_GAIN / 4 * typical)
    assert np.abs(a).max(axis=1).min() >= 100, "per-token scaling puts each token's max near 127"


def test_synthetic_dint4_weights_use_the_special_codes() -> None:
    _, w = make_workload("synthetic", 4, 256, 8, DINT4, seed=0)
    special = np.isin(w, list(DINT4.special_codes))
    assert special.any(axis=0).all(), "every output channel uses +-1/2"
    assert (w == 0).mean() < 0.5


def test_synthetic_weights_concentrate_near_zero() -> None:
    _, w = make_workload("synthetic", 4, 512, 8, INT4, seed=0)
    assert np.mean(np.abs(w) <= 2) > 0.6, "the Laplacian tails set the scale"


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "gaussian"},
     r"^workload must be one of \['minilm', 'synthetic', 'uniform', 'zeros'\], not 'gaussian'$"),
    ({"m": 0}, r"^m must be a positive integer, not 0$"),
    ({"k": 2.5}, r"^k must be a positive integer, not 2.5$"),
    ({"n": True}, r"^n must be a positive integer, not True$"),
    ({"weight": "uint4"}, r"^format must be one of int8, int4, dint4, .*, not 'uint4'$"),
    ({"seed": -1}, r"^seed must be a non-negative integer, not -1$"),
])
def test_bad_arguments_name_the_parameter(kwargs: dict, message: str) -> None:
    args = {"name": "synthetic", "m": 2, "k": 8, "n": 2, "weight": DINT4, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        make_workload(**args)


def test_weight_may_be_a_format_name() -> None:
    assert all(np.array_equal(a, b) for a, b in zip(make_workload("synthetic", 2, 8, 2, "dint4", 1),
                                                    make_workload("synthetic", 2, 8, 2, DINT4, 1)))
    with pytest.raises(TypeError, match=r"^weight must be a Format or a format name such as "
                                        r"'dint4', not 4$"):
        make_workload("synthetic", 2, 8, 2, 4, 1)


def test_real_tile_is_a_window_of_the_layer_quantized_whole() -> None:
    """Codes are those of the whole layer quantized as in inference (per token, per channel),
    cut to the tile afterwards: the tile keeps the layer's real scales."""
    from golden.quantize import quantize_activations, quantize_weights

    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((12, 40)), rng.laplace(size=(40, 6))
    all_a = quantize_activations(x, "token").codes
    all_w = quantize_weights(w, DINT4, "channel").codes
    for seed in range(5):
        a, wt = real_tile({"only": (x, w)}, 4, 16, 3, DINT4, np.random.default_rng(seed))
        windows = [(t, k, n) for t in range(9) for k in range(25) for n in range(4)
                   if np.array_equal(all_a[t:t + 4, k:k + 16], a)
                   and np.array_equal(all_w[k:k + 16, n:n + 3], wt)]
        assert windows, f"seed {seed}: the tile is no window of the quantized layer"


def test_minilm_tiles_come_from_the_real_layers() -> None:
    from models.minilm import layer_operands

    layers = layer_operands()
    assert len(layers) == 36
    a, w = make_workload("minilm", 8, 64, 2, INT8, seed=0)
    assert np.abs(a).max(axis=1).min() > 0 and w.any()
    widest = max(w.shape[0] for _, w in layers.values())
    with pytest.raises(ValueError, match=r"^k, n must fit a real layer"):
        make_workload("minilm", 8, widest + 1, 8, INT8, seed=0)


def test_minilm_differs_from_synthetic_as_issue_10_measured() -> None:
    """Real INT4 weights underflow less than the synthetic ones, and real activations are larger."""
    real = code_statistics(*make_workload("minilm", 64, 256, 32, INT4, seed=0), INT4)
    fake = code_statistics(*make_workload("synthetic", 64, 256, 32, INT4, seed=0), INT4)
    assert real["w_zero_share"] < fake["w_zero_share"]
    assert real["x_mean_abs"] > fake["x_mean_abs"]


def test_real_tile_rejects_k_or_n_larger_than_every_layer() -> None:
    layers = {"a": (np.ones((10, 4)), np.ones((4, 3)))}
    with pytest.raises(ValueError, match=r"^k, n must fit a real layer \(at most 4 x 3\), "
                                         r"not 5 x 3$"):
        real_tile(layers, 11, 5, 3, INT8, np.random.default_rng(0))
    assert real_tile(layers, 11, 4, 3, INT8, np.random.default_rng(0))[0].shape == (11, 4)


def test_toggle_rate_counts_flipped_bits() -> None:
    assert toggle_rate(np.array([0, -1, 0]), 8) == 1.0
    assert toggle_rate(np.array([0, 1, 3, 3]), 4) == pytest.approx(2 / 12)
    assert toggle_rate(np.array([5]), 4) == 0.0


def test_code_statistics_of_a_known_stream() -> None:
    a = np.array([[0, 2]])
    w = np.array([[7], [0]])  # dINT4 code 7 is +1/2
    stats = code_statistics(a, w, DINT4)
    assert stats["x_zero_share"] == 0.5 and stats["w_zero_share"] == 0.5
    assert stats["w_special_share"] == 0.5
    assert stats["x_mean_abs"] == 1.0 and stats["w_mean_abs"] == 0.25


def test_uniform_int_streams_are_unchanged_by_the_act_format() -> None:
    """Finite-code drawing keeps the INT streams the report was measured with."""
    a, w = make_workload("uniform", 6, 40, 3, DINT4, seed=4)
    rng = np.random.default_rng(4)
    np.testing.assert_array_equal(a, rng.integers(-128, 128, size=(6, 40), dtype=np.int64))
    np.testing.assert_array_equal(w, rng.integers(-8, 8, size=(40, 3), dtype=np.int64))


def test_activations_and_weights_in_other_formats_use_finite_codes() -> None:
    e5m2, e4m3 = get_format("fp8e5m2"), get_format("fp8e4m3")
    a, w = make_workload("uniform", 64, 256, 8, e5m2, seed=0, act=e4m3)
    assert set(np.unique(w).tolist()) == set(e5m2.finite_codes.tolist())
    assert set(np.unique(a).tolist()) == set(e4m3.finite_codes.tolist())
    a, w = make_workload("synthetic", 8, 64, 4, get_format("nf4"), seed=0, act=e4m3)
    assert np.abs(e4m3.decode(a)).max(axis=1).tolist() == [448.0] * 8
    assert set(np.unique(w).tolist()) <= set(get_format("nf4").valid_codes.tolist())


def test_block_workloads_carry_their_own_block_scales() -> None:
    """Block-scaled operands: codes of the tensor's shape, one E8M0 scale per 32 elements along
    K, drawn from the seed; zeros give zero codes."""
    from golden.blockscaled import block_dot
    from golden.workloads import block_workload

    a, w = block_workload("synthetic", 4, 64, 3, "mxfp4", "mxint8", 5)
    assert a.codes.shape == (4, 64) and a.scale_codes.shape == (4, 2)
    assert w.codes.shape == (64, 3) and w.scale_codes.shape == (2, 3)
    again = block_workload("synthetic", 4, 64, 3, "mxfp4", "mxint8", 5)
    assert np.array_equal(again[0].codes, a.codes) and np.array_equal(again[1].scale_codes,
                                                                      w.scale_codes)
    assert len(set(a.scale_codes.ravel().tolist())) > 1  # the data's own scales, not one unit
    assert block_dot(a, w, 48, 24).shape == (4, 3)
    zeros = block_workload("zeros", 2, 32, 1, "mxfp4", "mxint8", 0)
    assert not zeros[0].codes.any() and not zeros[1].codes.any()
    with pytest.raises(ValueError, match=r"^x must have a multiple of the block size 32 along "
                                         r"axis 1, not 40$"):
        block_workload("uniform", 2, 40, 1, "mxfp4", "mxint8", 0)


def test_minilm_streams_longer_than_its_tokens_reuse_them_cyclically() -> None:
    """A 16x16 array's stream needs 1,176 rows and the captured sentences give 852 tokens:
    before, the workload was refused; now the rows continue cyclically (real data, repeated)."""
    a, w = make_workload("minilm", 1176, 32, 16, "fp4", 0)
    assert a.shape == (1176, 32) and w.shape == (32, 16)
    tokens = 852
    assert np.array_equal(a[tokens:], a[:1176 - tokens])
    assert not np.array_equal(a[1:tokens + 1], a[:tokens])  # within one cycle rows differ
