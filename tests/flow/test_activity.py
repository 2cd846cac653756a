"""flow.activity: per-bit toggles and time at 1 from a VCD (pywellen) and from a SAIF file."""

from __future__ import annotations

from pathlib import Path

import pytest

from flow.activity import read_saif, read_vcd_activity
from flow.gatesim import RESET_CYCLES, read_wave

_VCD = """$timescale 1ns $end
$scope module tb $end
$var wire 1 ! clk $end
$scope module dut $end
$var wire 1 " a $end
$var wire 3 # v [2:0] $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
0!
0"
b000 #
#5
1!
1"
#10
0!
b101 #
#15
1!
x"
#20
0!
1"
b111 #
#25
1!
0"
#30
0!
#35
1!
#40
0!
"""

_SAIF = r"""(SAIFILE
(SAIFVERSION "2.0")
(DURATION 400)
(TIMESCALE 100 ps)
(INSTANCE tb
  (NET (clk (T0 20) (T1 20) (TX 0) (TC 8)))
  (INSTANCE dut
    (NET
      (a\[0\] (T0 300) (T1 100) (TX 0) (TC 3) (IG 0))
      (b (T0 400) (T1 0) (TX 0) (TC 0))
    )
    (INSTANCE sub (NET (n (T1 200) (TC 5))))
  )
)
)
"""


def test_vcd_bits_toggles_and_time_high(tmp_path: Path) -> None:
    path = tmp_path / "a.vcd"
    path.write_text(_VCD)
    activity = read_vcd_activity(path, "tb.dut", period_ns=10.0)
    assert activity.cycles == 4
    # a: 0 -> 1 (5) -> x (15) -> 1 (20) -> 0 (25): changes to or from x never count
    assert activity.toggles == {"a": 2, "v[0]": 1, "v[1]": 1, "v[2]": 1}
    assert activity.time_high == {"a": 15.0, "v[0]": 30.0, "v[1]": 20.0, "v[2]": 30.0}
    assert activity.duty("v[0]") == 0.75


def test_vcd_reader_matches_the_gatesim_reader(tmp_path: Path) -> None:
    path = tmp_path / "a.vcd"
    path.write_text(_VCD)
    ours = read_vcd_activity(path, "tb.dut", period_ns=10.0, cycles=4)
    # read_wave counts trace cycles after RESET_CYCLES reset cycles: this VCD has none.
    theirs = read_wave(path, "tb.dut", {"run": (-RESET_CYCLES, 4 - RESET_CYCLES)})["run"]
    for net in ("a", "v[0]", "v[1]", "v[2]"):
        assert ours.toggles[net] == theirs.toggles[net]
        assert ours.duty(net) == pytest.approx(theirs.duty[net])


def test_saif_nets_and_sub_scopes(tmp_path: Path) -> None:
    path = tmp_path / "a.saif"
    path.write_text(_SAIF)
    activity = read_saif(path, "tb/dut", period_ns=10.0)
    assert activity.cycles == 4
    assert activity.toggles == {"a[0]": 3, "b": 0, "sub.n": 5}
    assert activity.time_high == pytest.approx({"a[0]": 10.0, "b": 0.0, "sub.n": 20.0})


@pytest.mark.parametrize("reader, text, message", [
    (read_vcd_activity, _VCD, r"^scope 'tb\.nope' has no variables in "),
    (read_saif, _SAIF, r"^scope 'tb\.nope' is not an INSTANCE path in "),
    (read_saif, _SAIF.replace("(DURATION 400)", ""), r"^SAIF file .* has no DURATION$"),
])
def test_bad_scope_or_file_is_named(tmp_path: Path, reader, text: str, message: str) -> None:
    path = tmp_path / "a.wave"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        reader(path, "tb.nope", 10.0)
