"""Port packing, trace validation, mismatch messages, and the MAC cycle model against gemm."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden.arith import Overflow, gemm, product_bits
from golden.formats import DINT4, INT4, INT8, Format
from golden.mac import MACConfig
from golden.trace import Port, PortTrace

SEED = 11


@given(st.integers(1, 16), st.integers(1, 5), st.booleans(), st.data())
@settings(max_examples=60, deadline=None)
def test_pack_unpack_round_trip(lane_bits: int, lanes: int, signed: bool,
                                data: st.DataObject) -> None:
    port = Port("p", "in", lane_bits, lanes, signed)
    lo, hi = (-(1 << (lane_bits - 1)), (1 << (lane_bits - 1)) - 1) if signed \
        else (0, (1 << lane_bits) - 1)
    rows = data.draw(st.lists(st.lists(st.integers(lo, hi), min_size=lanes, max_size=lanes),
                              min_size=1, max_size=6))
    values = np.array(rows, dtype=np.int64)
    words = port.pack(values)
    assert all(0 <= word < 1 << port.bits for word in words)
    np.testing.assert_array_equal(port.unpack(words), values)


def test_lane_zero_is_least_significant() -> None:
    port = Port("p", "in", 4, 2, signed=True)
    assert port.pack(np.array([[1, 0], [0, 1], [-1, 0], [0, -8]])) == [0x01, 0x10, 0x0F, 0x80]
    assert port.to_json() == {"name": "p", "dir": "in", "bits": 8, "lane_bits": 4, "lanes": 2,
                              "signed": True}


PORTS = (Port("x", "in", 8, signed=True), Port("y", "out", 6, 2, signed=True),
         Port("ok", "out", 1))


def small_trace() -> PortTrace:
    cycles = 8
    x = np.arange(cycles, dtype=np.int64).reshape(-1, 1) - 3
    y = np.stack([np.arange(cycles), -np.arange(cycles)], axis=1).astype(np.int64)
    care_y = np.arange(cycles) >= 2
    return PortTrace(PORTS, {"x": x}, {"y": y, "ok": np.ones((cycles, 1), np.int64)},
                     {"y": care_y, "ok": np.ones(cycles, bool)}, macs=cycles)


def test_first_mismatch_none_when_equal_or_dont_care() -> None:
    trace = small_trace()
    observed = {name: values.copy() for name, values in trace.expected.items()}
    assert trace.first_mismatch(observed) is None
    observed["y"][1, 0] = 99
    assert trace.first_mismatch(observed) is None


def test_first_mismatch_names_earliest_cycle_port_lane_and_inputs() -> None:
    trace = small_trace()
    observed = {name: values.copy() for name, values in trace.expected.items()}
    observed["y"][6, 1] = 17
    observed["ok"][5, 0] = 0
    observed["y"][5, 1] = 21
    message = trace.first_mismatch(observed)
    assert message.startswith("first mismatch at cycle 5 on y[1]: expected -5, got 21 "
                              "(all lanes expected [5, -5], got [5, 21]); inputs ")
    assert message.endswith("inputs cycle 2: x=-1; cycle 3: x=0; cycle 4: x=1; cycle 5: x=2")
    observed["y"][5, 1] = -5
    assert trace.first_mismatch(observed).startswith(
        "first mismatch at cycle 5 on ok: expected 1, got 0 (all lanes expected 1, got 0)")


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: {**t, "inputs": {"x": t["inputs"]["x"][:3]}},
     r"^trace arrays must share one cycle count, not \[3, 8\]$"),
    (lambda t: {**t, "inputs": {"z": t["inputs"]["x"]}},
     r"^trace names 'z', which is not an input port$"),
    (lambda t: {**t, "inputs": {"y": t["inputs"]["x"]}},
     r"^trace names 'y', which is not an input port$"),
    (lambda t: {**t, "expected": {**t["expected"], "y": t["expected"]["y"][:, :1]}},
     r"^trace of port 'y' must be shaped \(cycles, 2\), not \(8, 1\)$"),
])
def test_trace_rejects_inconsistent_arrays(change, message: str) -> None:
    trace = small_trace()
    fields = {"ports": trace.ports, "inputs": trace.inputs, "expected": trace.expected,
              "care": trace.care, "macs": trace.macs}
    with pytest.raises(ValueError, match=message):
        PortTrace(**change(fields))


def final_accumulators(config: MACConfig, trace: PortTrace, k: int) -> np.ndarray:
    """``acc`` as each output's K-th product lands: ``latency`` cycles after it is driven."""
    valid = np.flatnonzero(trace.inputs["valid"][:, 0])
    last = valid[k - 1::k] + config.latency
    assert trace.care["acc"][last].all()
    return trace.expected["acc"][last, 0]


@pytest.mark.parametrize("pipeline", [False, True])
@pytest.mark.parametrize("overflow", list(Overflow))
@pytest.mark.parametrize("weight", [INT8, INT4, DINT4], ids=lambda f: f.name)
def test_gemm_trace_ends_on_gemm(weight: Format, overflow: Overflow, pipeline: bool) -> None:
    rng = np.random.default_rng(SEED)
    m, k, n = 3, 9, 4
    a = rng.integers(INT8.code_min, INT8.code_max + 1, (m, k))
    w = rng.integers(weight.code_min, weight.code_max + 1, (k, n))
    a[0], w[:, 0] = INT8.code_min, weight.codes[np.argmin(weight.scaled_table)]
    for acc_bits in (product_bits(weight) + 1, None):
        config = MACConfig(weight, acc_bits=acc_bits, overflow=overflow, pipeline=pipeline)
        trace = config.gemm_trace(a, w)
        assert trace.macs == m * n * k
        expected = gemm(a, w, weight, config.acc_bits, overflow).reshape(-1)
        np.testing.assert_array_equal(final_accumulators(config, trace, k), expected)


def test_trace_of_hand_stimulus() -> None:
    """clear with valid restarts from the product; clear alone restarts from zero."""
    config = MACConfig(DINT4)
    w = [7, 7, -7, 0, 3, 0]
    x = [4, 4, 1, 0, -2, 0]
    trace = config.trace({"w": w, "x": x, "valid": [1, 1, 1, 0, 1, 0],
                          "clear": [1, 0, 0, 1, 0, 0]})
    assert trace.expected["acc"][:, 0].tolist() == [0, 4, 8, -6, 0, -12]
    assert trace.expected["acc_valid"][:, 0].tolist() == [0, 1, 1, 1, 0, 1]
    assert trace.macs == 4
    assert re.match(r"^mac_dint4_x_int8_acc\d+_wrap$", config.name)


def test_gemm_trace_refuses_float_activations() -> None:
    """Before: 1.7 was truncated to the code 1 and simulated without a word."""
    a, w = np.array([[1.7, 2.0]]), np.array([[1], [2]])
    with pytest.raises(ValueError, match=r"^a_codes must be an integer array of int8 codes, "
                                         r"not dtype float64$"):
        MACConfig(DINT4).gemm_trace(a, w)
    with pytest.raises(ValueError, match=r"^w_codes must be an integer array of dint4 codes, "
                                         r"not dtype float64$"):
        MACConfig(DINT4).gemm_trace(w.T, a.T)


def test_trace_refuses_float_inputs() -> None:
    inputs = {"w": [1, 2], "x": [1.7, 2], "valid": [1, 1], "clear": [1, 0]}
    with pytest.raises(ValueError, match=r"^x must be an integer array, not dtype float64$"):
        MACConfig(DINT4).trace(inputs)
