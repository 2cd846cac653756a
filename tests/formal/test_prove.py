"""``qmac prove``: the generated MAC and PE equal golden in every state, the arrays agree with
golden's cycle model from reset, and a deliberately wrong design fails with a counterexample."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

import qmac_cli
from golden.arith import Overflow
from golden.formats import DINT4, INT4, get_format
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from hw.mac import MAC
from hw.product import ScaledProduct
from hw.systolic import SystolicArray
from formal.prove import prove
from formal.spec import mac_spec, pe_spec
from golden.families.base import format_names

INT2 = get_format("int2")
QUICK_MACS = [MACConfig(fmt, overflow=overflow, pipeline=pipeline)
              for fmt in (INT4, DINT4) for overflow in Overflow for pipeline in (False, True)]


@pytest.mark.parametrize("config", QUICK_MACS, ids=lambda c: c.name)
def test_mac_equals_golden_in_every_state(config: MACConfig, build_root: Path) -> None:
    proof = prove("mac", config, build_root / "prove" / config.name)
    assert proof.proven, proof.summary()
    assert proof.summary().startswith(f"mac {config.name}: PROVEN equal to golden in ")


@pytest.mark.parametrize("weight", [INT4, DINT4], ids=lambda f: f.name)
def test_pe_equals_golden_in_every_state(weight: object, build_root: Path) -> None:
    config = SystolicConfig(4, 4, weight)
    proof = prove("pe", config, build_root / "prove" / f"pe_{config.name}")
    assert proof.proven, proof.summary()


@pytest.mark.parametrize("code", sorted(DINT4.special_codes))
def test_flipped_special_code_fails_with_a_counterexample(code: int, build_root: Path) -> None:
    """A dINT4 MAC serving one special code with the wrong sign: the proof names that code."""
    config = MACConfig(DINT4)
    broken = MAC(config)
    broken.product = ScaledProduct(replace(DINT4, specials=tuple(
        (c, -v if c == code else v) for c, v in DINT4.specials)), config.product)
    proof = prove("mac", config, build_root / "prove" / f"flip{code}", component=broken)
    assert not proof.proven
    cex = proof.counterexample
    assert cex["in_w"] == code & 0xF and cex["in_valid"] == 1 and cex["in_rst"] == 0
    assert cex["gold_acc.d"] != cex["gate_acc.d"]
    assert re.match(rf"mac {config.name}: FAILED in [0-9.]+ s, counterexample: .*in_w={code & 0xF}",
                    proof.summary())


@pytest.mark.parametrize("config", [
    SystolicConfig(2, 2, INT2, act_bits=2, acc_bits=6, overflow=Overflow.SATURATE, acc_depth=2),
    SystolicConfig(4, 4, INT2, act_bits=2, acc_bits=6, overflow=Overflow.SATURATE, acc_depth=4)],
    ids=lambda c: c.name)
def test_array_matches_the_cycle_model_from_reset(config: SystolicConfig,
                                                  build_root: Path) -> None:
    """Every cycle from reset: bank switching, skew, accumulator addressing. Narrow arithmetic
    (the control logic does not depend on it) keeps ABC fast; the PE proofs cover the formats."""
    proof = prove("systolic", config, build_root / "prove" / config.name)
    assert proof.proven, proof.summary()
    assert proof.name == f"{config.name} (every cycle from reset)"


def test_array_with_the_wrong_overflow_fails(build_root: Path) -> None:
    """A wrapping array under a saturating config: output sums past 2**(A-1) differ."""
    config = SystolicConfig(2, 2, INT2, act_bits=2, acc_bits=4, overflow=Overflow.SATURATE)
    wrapping = SystolicArray(replace(config, overflow=Overflow.WRAP))
    proof = prove("systolic", config, build_root / "prove" / "wrong_overflow", component=wrapping)
    assert not proof.proven


NARROW_HARDWARE_FORMATS = [f for f in format_names() if get_format(f).bits <= 6]
"""Every registered format up to 6 bits has hardware (INT, dINT, FP4/FP6, NF4, ternary) and
proves in seconds; 8-bit weights take minutes (``make prove``)."""


@pytest.mark.parametrize("weight", NARROW_HARDWARE_FORMATS)
def test_every_format_with_hardware_is_proven(weight: str, build_root: Path) -> None:
    """Through the format registry: a format a generator gains is proven without edits here
    (8-bit weights take minutes: ``make prove``)."""
    config = SystolicConfig(2, 2, get_format(weight))
    proof = prove("pe", config, build_root / "prove" / f"pe_{weight}")
    assert proof.proven, proof.summary()


@pytest.mark.parametrize("weight", ["fp4", "nf4", "ternary"])
def test_pipelined_zoo_mac_is_proven(weight: str, build_root: Path) -> None:
    """The decoded datapaths stage (word, carry); before, the spec had no ``stage_carry`` and
    the proof stopped with a register mismatch."""
    config = MACConfig(get_format(weight), overflow=Overflow.SATURATE, pipeline=True)
    proof = prove("mac", config, build_root / "prove" / config.name)
    assert proof.proven, proof.summary()


@pytest.mark.parametrize("overflow", Overflow)
def test_pipelined_cin_mac_is_proven(overflow: Overflow, build_root: Path) -> None:
    """dINT's ``cin`` product stages (word, carry) with the carry set by the weight code alone;
    before, the spec had no ``stage_carry`` for it and the proof stopped with a register
    mismatch."""
    config = MACConfig(DINT4, overflow=overflow, pipeline=True, product="cin")
    proof = prove("mac", config, build_root / "prove" / config.name)
    assert proof.proven, proof.summary()


def test_fp8_mac_is_proven_over_finite_codes(build_root: Path) -> None:
    """FP8 E4M3's NaN codes (127, 255) are outside golden's domain (``check_codes`` refuses
    them), so the spec assumes a finite weight; before, the proof failed on code 127. The
    pipelined saturating MAC is the quickest FP8 proof (about 9 s); ``make prove`` has the rest."""
    config = MACConfig(get_format("fp8e4m3"), overflow=Overflow.SATURATE, pipeline=True)
    proof = prove("mac", config, build_root / "prove" / config.name)
    assert proof.proven, proof.summary()


def test_the_spec_assumes_exactly_the_non_finite_codes_away() -> None:
    """One assumption per code-carrying signal, naming each NaN pattern and nothing else; a
    format without non-finite codes gets no assumption."""
    pe = pe_spec(SystolicConfig(2, 2, "fp8e4m3"), "spec")
    for signal in ("w_in", "bank0", "bank1"):
        assert f"always @* assume({signal}_finite);" in pe
    assert re.findall(r"8'b(\d+): w_in_finite = 1'b0;", pe) == ["01111111", "11111111"]
    assert "assume" not in mac_spec(MACConfig(get_format("fp4")), "spec")


def test_pe_of_a_format_pair_without_hardware_is_refused(tmp_path: Path) -> None:
    """Before, the PE was built with the integer datapath and 'FAILED' with a counterexample."""
    with pytest.raises(ValueError, match=r"^act format fp8e4m3 must be a plain integer format$"):
        prove("pe", SystolicConfig(2, 2, "dint4", act="fp8e4m3"), tmp_path)


def test_bad_design_and_config_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^design must be one of \['mac', 'pe', 'systolic'\], "
                                         r"not 'alu'$"):
        prove("alu", MACConfig(INT4), tmp_path)
    with pytest.raises(TypeError, match=r"^config must be a SystolicConfig for design pe, "
                                        r"not MACConfig$"):
        prove("pe", MACConfig(INT4), tmp_path)


def test_cli_prints_the_proof_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert qmac_cli.main(["prove", "--design", "pe", "--weight", "int4", "--rows", "2",
                          "-o", str(tmp_path)]) == 0
    assert re.fullmatch(r"pe pe_int4_x_int8_psum13: PROVEN equal to golden in [0-9.]+ s\n",
                        capsys.readouterr().out)
    assert qmac_cli.main(["prove", "--design", "pe", "--pipeline", "-o", str(tmp_path)]) == 2
    assert re.fullmatch(r"qmac prove: error: --pipeline and --saturate apply to --design mac "
                        r"only: .*\n", capsys.readouterr().err)
