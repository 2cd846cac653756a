# amaranth: UnusedElaboratable=no
"""hw.build: the one entry to hardware refuses formats no generator implements yet."""

from __future__ import annotations

import pytest

from golden.mac import MACConfig
from golden.systolic import SystolicConfig
from hw.build import build
from qmac_cli import main


@pytest.mark.parametrize("weight", ["fp4", "fp8e4m3", "nf4", "ternary"])
def test_refuses_weight_formats_without_a_datapath(weight: str) -> None:
    with pytest.raises(ValueError, match=rf"^weight format '{weight}' has no hardware datapath yet"):
        build(MACConfig(weight))


def test_refuses_a_floating_point_activation() -> None:
    with pytest.raises(ValueError, match=r"^act format 'fp8e4m3' has no hardware datapath yet"):
        build(SystolicConfig(2, 2, "int4", act="fp8e4m3"))


def test_builds_integer_and_dint_formats() -> None:
    for config in (MACConfig("int4"), MACConfig("dint4"), SystolicConfig(2, 2, "dint4")):
        assert build(config) is not None


def test_cli_says_so_in_one_line(tmp_path, capsys) -> None:
    assert main(["verilog", "--weight", "fp4", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("qmac verilog: error: weight format 'fp4' has no hardware datapath yet")
    assert "\n" not in err and not any(tmp_path.iterdir())
