"""Weight-stationary systolic array, generated from a ``golden.systolic.SystolicConfig``."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.systolic import SystolicConfig
from hw.ports import ConfigComponent
from hw.product import DecodedProduct, ScaledProduct, product_for, reduce_overflow

__all__ = ["PE", "Skew", "Deskew", "Accumulator", "SystolicArray"]


class PE(wiring.Component):
    """Processing element: two weight banks, one multiplier, one adder, registered outputs.

    During each cycle it multiplies ``x_in`` by the weight in bank ``bank_in``, adds ``psum_in``
    (``psum_bits`` wide, wrapping) and registers the sum, ``x_in`` and ``bank_in`` for its
    right and lower neighbours. With ``load`` set, bank ``load_bank`` takes ``w_in`` at the edge
    while ``w_out`` shows that bank's old content to the PE below, so a column shifts down.

    Parameters
    ----------
    config:
        The array's config (widths, weight format).
    product:
        The weight x activation logic, shared with ``hw.mac.MAC``.

    Members
    -------
    x_in: In(signed(act_bits)), bank_in: In(1)
        Activation and the bank it uses, from the left.
    psum_in: In(signed(psum_bits))
        Partial sum from above.
    w_in: In(signed(weight bits)), load: In(1), load_bank: In(1)
        Weight load chain from above.
    x_out, bank_out, psum_out: Out
        Registered activation, bank bit and partial sum.
    w_out: Out(signed(weight bits))
        Bank ``load_bank``'s weight, for the PE below.
    """

    def __init__(self, config: SystolicConfig, product: ScaledProduct | DecodedProduct) -> None:
        self.config = config
        self.product = product
        act, psum = signed(config.act_bits), signed(config.psum_bits)
        code = signed(config.weight.bits) if config.weight.signed else unsigned(config.weight.bits)
        super().__init__({
            "x_in": In(act), "bank_in": In(1), "psum_in": In(psum),
            "w_in": In(code), "load": In(1), "load_bank": In(1),
            "x_out": Out(act), "bank_out": Out(1), "psum_out": Out(psum), "w_out": Out(code),
        })

    def elaborate(self, platform: object) -> Module:
        cfg = self.config
        m = Module()
        banks = [Signal.like(self.w_in, name=f"bank{b}") for b in range(2)]
        weight = Mux(self.bank_in, banks[1], banks[0])
        formed = self.product(m, weight, self.x_in)
        product = Signal(signed(cfg.word_bits))
        m.d.comb += [product.eq(formed.word),
                     self.w_out.eq(Mux(self.load_bank, banks[1], banks[0]))]
        m.d.sync += [self.x_out.eq(self.x_in), self.bank_out.eq(self.bank_in),
                     self.psum_out.eq(formed._replace(word=product).add_to(self.psum_in))]
        with m.If(self.load):
            for b, bank in enumerate(banks):
                with m.If(self.load_bank == b):
                    m.d.sync += bank.eq(self.w_in)
        return m


class Skew(wiring.Component):
    """Input edge: lane r of ``x`` reaches PE row r after r register stages, and so does the bank
    bit (one shared delay chain, tapped once per row)."""

    def __init__(self, config: SystolicConfig) -> None:
        self.config = config
        lanes = data.ArrayLayout(signed(config.act_bits), config.rows)
        super().__init__({"x": In(lanes), "bank": In(1),
                          "x_out": Out(lanes), "bank_out": Out(config.rows)})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        bank = self.bank
        for r in range(self.config.rows):
            if r:
                bank = _delay(m, bank, 1, f"bank{r}")
            m.d.comb += [self.x_out[r].eq(_delay(m, self.x[r], r, f"x{r}")),
                         self.bank_out[r].eq(bank)]
        return m


class Deskew(wiring.Component):
    """Output edge: column c's sum is delayed C - 1 - c stages so a row's C sums leave together;
    the row's control bits (valid and accumulator fields) are delayed to match them."""

    def __init__(self, config: SystolicConfig, ctrl_bits: int) -> None:
        self.config = config
        lanes = data.ArrayLayout(signed(config.psum_bits), config.cols)
        super().__init__({"psum": In(lanes), "ctrl": In(ctrl_bits),
                          "psum_out": Out(lanes), "ctrl_out": Out(ctrl_bits)})

    def elaborate(self, platform: object) -> Module:
        cfg = self.config
        m = Module()
        for c in range(cfg.cols):
            m.d.comb += self.psum_out[c].eq(_delay(m, self.psum[c], cfg.cols - 1 - c, f"psum{c}"))
        m.d.comb += self.ctrl_out.eq(_delay(m, self.ctrl, cfg.latency - 1, "ctrl"))
        return m


class Accumulator(wiring.Component):
    """Bottom-edge accumulator: ``acc_depth`` rows of C sums of ``acc_bits``.

    For a valid row: ``s = overflow((first ? 0 : mem[addr]) + psum)``; ``mem[addr]`` and ``y``
    take ``s`` at the edge, ``y_valid`` rises when the row is the last K-tile's.
    """

    def __init__(self, config: SystolicConfig) -> None:
        self.config = config
        psum = data.ArrayLayout(signed(config.psum_bits), config.cols)
        out = data.ArrayLayout(signed(config.acc_bits), config.cols)
        super().__init__({"psum": In(psum), "valid": In(1), "first": In(1), "last": In(1),
                          "addr": In(config.addr_bits), "y": Out(out), "y_valid": Out(1)})

    def elaborate(self, platform: object) -> Module:
        cfg = self.config
        m = Module()
        layout = data.ArrayLayout(signed(cfg.acc_bits), cfg.cols)
        m.submodules.mem = mem = Memory(shape=layout, depth=cfg.acc_depth, init=[])
        read = mem.read_port(domain="comb")
        write = mem.write_port()
        total = Signal(layout)
        for c in range(cfg.cols):
            base = Mux(self.first, 0, read.data[c])
            m.d.comb += total[c].eq(reduce_overflow(base + self.psum[c], cfg.acc_bits,
                                                    cfg.overflow))
        m.d.comb += [read.addr.eq(self.addr), write.addr.eq(self.addr),
                     write.data.eq(total), write.en.eq(self.valid)]
        with m.If(self.valid):
            m.d.sync += self.y.eq(total)
        m.d.sync += self.y_valid.eq(self.valid & self.last)
        return m


class SystolicArray(ConfigComponent):
    """R x C weight-stationary array of ``PE`` with skew, deskew and optional accumulator.

    Timing (cycle convention of ``golden.trace``): a row driven on ``x`` in cycle T reaches PE
    (r, c) in cycle T + r + c and its results show on ``y`` in cycle T + ``latency`` with
    ``latency = R + C``. Weights shift into bank ``w_bank`` one row per ``w_load`` cycle; the
    first of R loads ends in PE row R - 1. ``golden.systolic.SystolicConfig`` documents the
    ports and is the cycle model this array matches in every cycle.

    Parameters
    ----------
    config:
        Rows, columns, weight format, activation, partial-sum and accumulator widths, overflow
        mode and accumulator depth.

    Members
    -------
    x: In(ArrayLayout(signed(act_bits), R)), x_valid: In(1), x_bank: In(1)
        One row of A, its valid flag and its weight bank.
    x_first, x_last: In(1), x_addr: In(addr_bits)
        Accumulator control of the row (only when ``acc_depth > 0``).
    w: In(ArrayLayout(weight, C)), w_load: In(1), w_bank: In(1)
        One weight row and the bank it shifts into.
    y: Out(ArrayLayout(signed(acc_bits), C)), y_valid: Out(1)
        One row of results.
    """

    config_class = SystolicConfig

    def __init__(self, config: SystolicConfig) -> None:
        super().__init__(config)
        self.product = product_for(config)

    def elaborate(self, platform: object) -> Module:
        cfg = self.config
        m = Module()
        m.submodules.skew = skew = Skew(cfg)
        x, w, y = (_lanes(port, count) for port, count in
                   ((self.x, cfg.rows), (self.w, cfg.cols), (self.y, cfg.cols)))
        m.d.comb += [*(skew.x[r].eq(x[r]) for r in range(cfg.rows)), skew.bank.eq(self.x_bank)]

        pes = [[PE(cfg, self.product) for _ in range(cfg.cols)] for _ in range(cfg.rows)]
        for r, row in enumerate(pes):
            for c, pe in enumerate(row):
                m.submodules[f"pe_{r}_{c}"] = pe
                left = (skew.x_out[r], skew.bank_out[r]) if c == 0 \
                    else (row[c - 1].x_out, row[c - 1].bank_out)
                above = (Const(0, signed(cfg.psum_bits)), w[c]) if r == 0 \
                    else (pes[r - 1][c].psum_out, pes[r - 1][c].w_out)
                m.d.comb += [pe.x_in.eq(left[0]), pe.bank_in.eq(left[1]),
                             pe.psum_in.eq(above[0]), pe.w_in.eq(above[1]),
                             pe.load.eq(self.w_load), pe.load_bank.eq(self.w_bank)]

        accum = (self.x_last, self.x_first, self.x_addr) if cfg.acc_depth else ()
        ctrl = Cat(self.x_valid, *accum)
        m.submodules.deskew = deskew = Deskew(cfg, len(ctrl))
        m.d.comb += [deskew.ctrl.eq(ctrl),
                     *(deskew.psum[c].eq(pes[-1][c].psum_out) for c in range(cfg.cols))]
        valid = deskew.ctrl_out[0]
        if cfg.acc_depth:
            m.submodules.accum = acc = Accumulator(cfg)
            m.d.comb += [acc.psum.eq(deskew.psum_out), acc.valid.eq(valid),
                         acc.last.eq(deskew.ctrl_out[1]), acc.first.eq(deskew.ctrl_out[2]),
                         acc.addr.eq(deskew.ctrl_out[3:]),
                         *(y[c].eq(acc.y[c]) for c in range(cfg.cols)),
                         self.y_valid.eq(acc.y_valid)]
        else:
            m.d.sync += [self.y_valid.eq(valid),
                         *(y[c].eq(reduce_overflow(deskew.psum_out[c], cfg.acc_bits,
                                                        cfg.overflow))
                           for c in range(cfg.cols))]
        return m


def _lanes(port: Value, count: int) -> list[Value]:
    """The lanes of a vector port (``hw.ports`` gives one-lane ports a plain shape)."""
    return [port] if count == 1 else [port[i] for i in range(count)]


def _delay(m: Module, value: Value, stages: int, name: str) -> Value:
    """``value`` after ``stages`` registers (reset to zero)."""
    for stage in range(stages):
        reg = Signal.like(value, name=f"{name}_d{stage + 1}")
        m.d.sync += reg.eq(value)
        value = reg
    return value
