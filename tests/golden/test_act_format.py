"""The activation as a Format in every design config; act_bits derived and still accepted."""

from __future__ import annotations

import numpy as np
import pytest

from golden.arith import gemm, product_bits
from golden.designs import config_from_params
from golden.formats import FP8_E4M3, INT4, INT8, get_format
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from golden.tiler import schedule_gemm


def test_int8_activations_by_default_and_act_bits_alone_still_works() -> None:
    assert MACConfig("dint4").act == INT8 and MACConfig("dint4").act_bits == 8
    old = MACConfig("dint4", act_bits=6)
    assert old.act == get_format("int6") and old.name == "mac_dint4_x_int6_acc22_wrap"
    assert SystolicConfig(2, 2, "int4", act_bits=4).act == INT4


@pytest.mark.parametrize("act", ["fp8e4m3", FP8_E4M3, "int4"])
def test_activation_format_by_name_or_object(act) -> None:
    config = MACConfig("fp4", act=act)
    fmt = get_format(act) if isinstance(act, str) else act
    assert config.act == fmt and config.act_bits == fmt.bits
    assert config.product_bits == product_bits(get_format("fp4"), fmt)
    assert config_from_params(config.params()) == config
    assert config.params()["act"] == fmt.name


def test_act_bits_must_agree_with_act() -> None:
    assert MACConfig("int4", act_bits=8, act="int8").act == INT8
    with pytest.raises(ValueError, match=r"^act_bits must be None or 8 \(the width of act "
                                         r"fp8e4m3\), not 6$"):
        MACConfig("int4", act_bits=6, act="fp8e4m3")
    with pytest.raises(ValueError, match=r"^format must be one of .*, not 'fp9'"):
        SystolicConfig(2, 2, "int4", act="fp9")


def test_saved_params_without_act_load_as_int() -> None:
    params = {"kind": "mac", "weight": "dint4", "act_bits": 8, "acc_bits": 24}
    assert config_from_params(params) == MACConfig("dint4", act="int8", acc_bits=24)


def test_fp8_activations_through_the_mac_and_the_array_equal_gemm() -> None:
    rng = np.random.default_rng(11)
    weight = get_format("fp4")
    a = rng.choice(FP8_E4M3.finite_codes, (5, 9))
    w = rng.choice(weight.finite_codes, (9, 3))
    mac = MACConfig(weight, act=FP8_E4M3)
    expected = gemm(a, w, weight, mac.acc_bits, act=FP8_E4M3)
    trace = mac.gemm_trace(a, w)
    got = trace.expected["acc"][trace.expected["acc_valid"][:, 0] == 1, 0]
    np.testing.assert_array_equal(got[8::9].reshape(5, 3), expected)
    array = SystolicConfig(4, 2, weight, act=FP8_E4M3)
    assert array.name.startswith("systolic_4x2_fp4_x_fp8e4m3_")
    np.testing.assert_array_equal(schedule_gemm(array, a, w).result, expected)
