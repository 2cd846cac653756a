"""The weight x activation -> accumulator parameters every qmac design config holds."""

from __future__ import annotations

from golden.arith import Overflow, check_acc_bits, default_acc_bits, product_bits
from golden.checks import check_int
from golden.formats import Format, as_format, int_format

__all__ = ["Datapath"]


class Datapath:
    """Mixin of ``MACConfig`` and ``SystolicConfig`` (frozen dataclasses with the fields below):
    one place normalises and checks the fields they share and derives the product width."""

    weight: Format
    act_bits: int
    acc_bits: int | None
    overflow: Overflow

    def _check_datapath(self) -> None:
        """Format by name, ``act_bits`` in [2, 16], overflow mode by name, ``acc_bits``
        defaulted to ``default_acc_bits`` and checked against one product."""
        object.__setattr__(self, "weight", as_format(self.weight))
        check_int("act_bits", self.act_bits, 2, 16)
        object.__setattr__(self, "overflow", Overflow.parse(self.overflow))
        if self.acc_bits is None:
            object.__setattr__(self, "acc_bits", default_acc_bits(self.weight, self.act))
        check_acc_bits(self.acc_bits, self.weight, self.act)

    @property
    def act(self) -> Format:
        return int_format(self.act_bits)

    @property
    def product_bits(self) -> int:
        return product_bits(self.weight, self.act)
