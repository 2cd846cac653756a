"""A design kind added from this file alone: one ``golden.designs.DesignKind`` record.

``piped_mac`` is a toy kind: a MAC whose product register is always on, with its own golden
config class, regression grid and options builder, and the existing MAC generator and
testbench named in its record. Through the record alone (nothing outside this file names
``piped_mac``) it round-trips its parameters, builds hardware, is offered by ``qmac verilog``,
``qmac regress`` and ``qmac synth``, runs its exhaustive cocotb regression on Icarus (the bench
imports this file through ``QMAC_PLUGINS``) and gets the flow's workload shape.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from golden.arith import Overflow
from golden.designs import (DESIGN_KINDS, DesignKind, config_from_params, design_kind,
                            flow_kinds, register_kind)
from golden.formats import INT4, as_format
from golden.mac import MACConfig


@dataclass(frozen=True)
class PipedMACConfig(MACConfig):
    """A MAC whose product is always registered."""

    kind = "piped_mac"
    pipeline: bool = True


def piped_grid(sims: tuple[str, ...], weights: tuple | None = None) -> list:
    from sim.regress import Case

    wanted = {as_format(w) for w in weights} if weights else {INT4}
    return [Case(PipedMACConfig(fmt), "icarus") for fmt in wanted if "icarus" in sims]


def piped_options(args: argparse.Namespace) -> PipedMACConfig:
    return PipedMACConfig(args.weight, acc_bits=args.acc_bits, act=args.act,
                          overflow=Overflow.SATURATE if args.saturate else Overflow.WRAP)


PIPED_MAC = DesignKind("piped_mac", PipedMACConfig, "hw.mac:MAC", "sim.tb_mac", piped_grid,
                       piped_options, "flow.evaluate:mac_shape")

if __name__.startswith("qmac_plugin"):
    register_kind(PIPED_MAC)  # imported by a cocotb bench through QMAC_PLUGINS


@pytest.fixture
def piped_mac() -> Iterator[DesignKind]:
    register_kind(PIPED_MAC)
    yield PIPED_MAC
    del DESIGN_KINDS[PIPED_MAC.name]


def test_the_record_round_trips_its_config(piped_mac: DesignKind) -> None:
    from hw.mac import MAC

    config = PipedMACConfig(INT4)
    assert config_from_params(json.loads(json.dumps(config.params()))) == config
    assert design_kind(config) is piped_mac and config.latency == 2
    assert piped_mac.load("component") is MAC and piped_mac.load("grid") is piped_grid
    assert "piped_mac" in flow_kinds()


def test_a_record_whose_config_names_another_kind_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^kind\.config\.kind must be the kind's name "
                                         r"'twin', not 'piped_mac'$"):
        register_kind(DesignKind("twin", PipedMACConfig, "hw.mac:MAC", "sim.tb_mac",
                                 piped_grid, piped_options))


def test_every_command_offers_it(piped_mac: DesignKind, tmp_path: Path,
                                 capsys: pytest.CaptureFixture) -> None:
    from flow.evaluate import MAC_SHAPE, workload_shape
    from qmac_cli import main

    assert main(["verilog", "--design", "piped_mac", "--weight", "int4", "-o",
                 str(tmp_path)]) == 0
    assert "latency 2" in capsys.readouterr().out
    assert workload_shape(PipedMACConfig(INT4)) == MAC_SHAPE
    for command in ("regress", "synth"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "piped_mac" in capsys.readouterr().out


@pytest.mark.slow  # one Icarus build and the exhaustive run of 16 x 256 code pairs: ~10 s
def test_its_regression_runs_from_the_record(piped_mac: DesignKind, build_root: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from sim.regress import grid, regress
    from sim.stimulus import PLUGINS_ENV

    monkeypatch.setenv(PLUGINS_ENV, os.path.abspath(__file__))
    results = regress(grid("piped_mac", ("icarus",)), build_root / "toy_kind")
    assert [r.case.config.name for r in results] == ["mac_int4_x_int8_acc24_wrap_pipe"]
    assert all(r.passed for r in results), [r.message for r in results]
