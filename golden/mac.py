"""Cycle model of one MAC unit: the specification the RTL MAC is checked against.

Ports (see ``golden.trace`` for the cycle convention):

* ``w`` (in, weight-format code), ``x`` (in, activation-format code), ``valid`` (in):
  accumulate the scaled product ``(2**f * w) * (2**g * x)`` this cycle (``g = 0`` for INT
  activations); ``clear`` (in): start a new accumulation (with ``valid``, the accumulator
  restarts from this product; without, it restarts from zero).
* ``acc`` (out, ``acc_bits`` signed): the accumulator register; ``acc_valid`` (out): ``acc`` has
  just absorbed a valid input.

Latency is 1 cycle from an input to ``acc``; the optional pipeline register after the
multiplier adds one (``latency = 1 + pipeline``). Throughput is one MAC per cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden.arith import Overflow, apply_overflow, gemm_operands
from golden.datapath import DEFAULT_PRODUCT, Datapath
from golden.formats import Format
from golden.trace import Port, PortTrace, accumulator_trace

__all__ = ["MACConfig"]


@dataclass(frozen=True)
class MACConfig(Datapath):
    """Parameters of a MAC unit; ``hw.mac.MAC`` is generated from exactly these."""

    weight: Format
    act_bits: int | None = None
    acc_bits: int | None = None
    overflow: Overflow = Overflow.WRAP
    pipeline: bool = False
    product: str = DEFAULT_PRODUCT
    act: Format | str | None = None

    kind = "mac"

    def __post_init__(self) -> None:
        self._check_datapath()
        if not isinstance(self.pipeline, bool):
            raise ValueError(f"pipeline must be True or False, not {self.pipeline!r}")

    @property
    def macs_per_cycle(self) -> int:
        """Peak multiply-accumulates per clock cycle."""
        return 1

    def busy_units(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The multiplier works in every cycle whose input is ``valid``."""
        return np.asarray(inputs["valid"], dtype=np.int64).reshape(-1)

    @property
    def latency(self) -> int:
        """Rising edges from an input to its effect on ``acc``."""
        return 1 + int(self.pipeline)

    @property
    def name(self) -> str:
        pipe = "_pipe" if self.pipeline else ""
        return (f"mac_{self.weight.name}_x_{self.act.name}_acc{self.acc_bits}"
                f"_{self.overflow.value}{pipe}{self.product_suffix}")

    def params(self) -> dict:
        return {"kind": self.kind, "weight": self.weight.name, "act": self.act.name,
                "act_bits": self.act_bits, "acc_bits": self.acc_bits,
                "overflow": self.overflow.value, "pipeline": self.pipeline,
                "product": self.product}

    @property
    def ports(self) -> tuple[Port, ...]:
        return (Port("w", "in", self.weight.bits, signed=self.weight.signed),
                Port("x", "in", self.act_bits, signed=self.act.signed),
                Port("valid", "in", 1), Port("clear", "in", 1),
                Port("acc", "out", self.acc_bits, signed=True), Port("acc_valid", "out", 1))

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs, cycle by cycle, for the given (cycles, 1) input arrays, from reset."""
        w = self.weight.decode_scaled(inputs["w"][:, 0], "w")
        x = self.act.decode_scaled(inputs["x"][:, 0], "x")
        products = (w * x).tolist()
        valid = inputs["valid"][:, 0].tolist()
        clear = inputs["clear"][:, 0].tolist()
        cycles = len(products)
        acc_out = np.zeros((cycles, 1), dtype=np.int64)
        in_flight = [(0, 0, 0)] * (self.latency - 1)
        acc = 0
        for t in range(cycles):
            acc_out[t, 0] = acc
            in_flight.append((products[t], valid[t], clear[t]))
            product, do_acc, do_clear = in_flight.pop(0)
            if do_acc:
                base = 0 if do_clear else acc
                acc = int(apply_overflow(np.int64(base + product), self.acc_bits, self.overflow))
            elif do_clear:
                acc = 0
        valid_out = np.zeros((cycles, 1), dtype=np.int64)
        valid_out[self.latency:, 0] = valid[:max(0, cycles - self.latency)]
        return {"acc": acc_out, "acc_valid": valid_out}

    def trace(self, inputs: dict[str, np.ndarray], macs: int | None = None) -> PortTrace:
        """The expected response to ``inputs``; ``acc`` matters wherever ``acc_valid`` is set."""
        return accumulator_trace(self, inputs, macs)

    def gemm_trace(self, a_codes: np.ndarray, w_codes: np.ndarray) -> PortTrace:
        """Stream ``A @ W`` through the MAC: each output's K products back to back, cleared at k=0.

        ``latency + 1`` idle cycles follow the stream so the last result reaches ``acc``.
        """
        a_codes, w_codes = gemm_operands(a_codes, w_codes)
        a_codes = self.act.check_codes(a_codes, "a_codes")
        w_codes = self.weight.check_codes(w_codes, "w_codes")
        (m, k), n = a_codes.shape, w_codes.shape[1]
        x = np.repeat(a_codes[:, None, :], n, axis=1).reshape(-1)
        w = np.repeat(w_codes.T[None, :, :], m, axis=0).reshape(-1)
        clear = np.tile(np.arange(k) == 0, m * n).astype(np.int64)
        tail = self.latency + 1
        pad = np.zeros(tail, dtype=np.int64)
        return self.trace({
            "w": np.concatenate([w, pad]), "x": np.concatenate([x, pad]),
            "valid": np.concatenate([np.ones(m * n * k, dtype=np.int64), pad]),
            "clear": np.concatenate([clear, pad]),
        })
