# amaranth: UnusedElaboratable=no
"""hw.build: the one entry to hardware builds every format pair a registered datapath serves and
refuses the rest in one line."""

from __future__ import annotations

import pytest
from amaranth.hdl import Fragment

from golden.formats import format_names
from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from hw.build import build
from qmac_cli import main


@pytest.mark.parametrize(("weight", "act"), [("int4", "int4"), ("dint4", "int4"),
                                             ("fp4", "fp8e4m3"), ("fp8e4m3", "int8"),
                                             ("nf4", "fp8e4m3"), ("ternary", "fp8e4m3")])
def test_builds_every_family(weight: str, act: str) -> None:
    assert weight in format_names()
    for config in (MACConfig(weight), SystolicConfig(2, 2, weight, act=act)):
        Fragment.get(build(config), None)  # elaborates: the generator accepts the pair


def test_refuses_dint_weights_with_a_floating_point_activation() -> None:
    with pytest.raises(ValueError, match=r"^weight format 'dint4' needs an INT activation "
                                         r"\(dint_shift_mux\), not 'fp8e4m3'$"):
        build(SystolicConfig(2, 2, "dint4", act="fp8e4m3"))


def test_cli_says_so_in_one_line(tmp_path, capsys) -> None:
    assert main(["verilog", "--weight", "dint4", "--act", "fp8e4m3", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("qmac verilog: error: weight format 'dint4' needs an INT activation "
                   "(dint_shift_mux), not 'fp8e4m3'")
    assert not any(tmp_path.iterdir())


def test_cli_writes_an_fp4_mac_with_fp8_activations(tmp_path, capsys) -> None:
    assert main(["verilog", "--weight", "fp4", "--act", "fp8e4m3", "-o", str(tmp_path)]) == 0
    assert (tmp_path / "mac_fp4_x_fp8e4m3_acc35_wrap.v").is_file()
