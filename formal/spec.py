"""Reference Verilog generated from golden/: the specification the formal proofs compare against.

The modules are written from golden's value tables and overflow rules only (never from hw/):
the weight code selects its scaled value from ``Format.scaled_table`` in a case table, the
product is a plain signed multiply, and the accumulator follows ``golden.mac.MACConfig.run``
(wrap or saturate with ``golden.arith.acc_range``). They keep the register names of the
generated designs so that both sides' flip-flops line up when the prover cuts them open.
"""

from __future__ import annotations

import re

import numpy as np

from golden.arith import Overflow, acc_range, signed_bits
from golden.datapath import decode_operand, product_model
from golden.formats import Format
from golden.mac import MACConfig
from golden.systolic import SystolicConfig

__all__ = ["mac_spec", "pe_spec", "array_spec"]

CARRY_IN = " + $signed({1'b0, stage_carry})"
"""The staged carry as a signed term: an unsigned bit would make the whole sum unsigned."""


def mac_spec(config: MACConfig, module: str) -> str:
    """One MAC unit as ``golden.mac.MACConfig.run`` describes it, with or without pipeline."""
    weight, act_bits, acc_bits = config.weight, config.act_bits, config.acc_bits
    _check_act(config)
    value_bits = _value_bits(weight)
    full = value_bits + act_bits
    wide = max(acc_bits, full) + 2
    lines = [
        f"module {module}(input clk, input rst, input {_code_decl(weight)} w,",
        f"    input signed [{act_bits - 1}:0] x, input valid, input clear,",
        f"    output reg signed [{acc_bits - 1}:0] acc, output reg acc_valid);",
        *_weight_table(weight, "w", "weight", value_bits),
        *_assume_finite(weight, "w"),
        f"  wire signed [{full - 1}:0] product = weight * x;",
    ]
    carry = _carry_lines(config) if config.pipeline else []
    if carry:
        # The stage holds golden.datapath.product_model's (word, carry): the product minus the
        # carry the hardware feeds the adder, and that carry.
        lines += [f"  reg signed [{config.word_bits - 1}:0] stage_product;",
                  "  reg stage_carry, stage_valid, stage_clear;", *carry]
        stage = ["stage_product <= product - negative;", "stage_carry <= negative;",
                 "stage_valid <= valid;", "stage_clear <= clear;"]
        zero = ["stage_product <= 0;", "stage_carry <= 0;", "stage_valid <= 0;",
                "stage_clear <= 0;"]
    elif config.pipeline:
        # golden.arith.product_bits holds every product exactly, so the stage keeps its value.
        lines += [f"  reg signed [{config.product_bits - 1}:0] stage_product;",
                  "  reg stage_valid, stage_clear;"]
        stage = ["stage_product <= product;", "stage_valid <= valid;", "stage_clear <= clear;"]
        zero = ["stage_product <= 0;", "stage_valid <= 0;", "stage_clear <= 0;"]
    else:
        lines += [f"  wire signed [{full - 1}:0] stage_product = product;",
                  "  wire stage_valid = valid, stage_clear = clear;"]
        stage, zero = [], []
    lines += [
        f"  wire signed [{acc_bits - 1}:0] base = stage_clear ? {_lit(0, acc_bits)} : acc;",
        f"  wire signed [{wide - 1}:0] total = base + stage_product"
        f"{CARRY_IN if carry else ''};",
        f"  wire signed [{acc_bits - 1}:0] sum = {_overflow(config.overflow, acc_bits, wide)};",
        "  always @(posedge clk) begin",
        "    if (rst) begin",
        *(f"      {s}" for s in ["acc <= 0;", "acc_valid <= 0;", *zero]),
        "    end else begin",
        *(f"      {s}" for s in stage),
        "      acc_valid <= stage_valid;",
        "      if (stage_valid) acc <= sum;",
        "      else if (stage_clear) acc <= 0;",
        "    end",
        "  end",
        "endmodule",
    ]
    return "\n".join(lines) + "\n"


def pe_spec(config: SystolicConfig, module: str) -> str:
    """One processing element of ``golden.systolic``: two weight banks, the bank bit selecting
    the weight, ``psum_out <= psum_in + product`` wrapped to ``psum_bits``, and the load chain."""
    weight, act_bits, psum_bits = config.weight, config.act_bits, config.psum_bits
    _check_act(config)
    value_bits = _value_bits(weight)
    full = value_bits + act_bits
    wide = max(psum_bits, full) + 2
    code = _code_decl(weight)
    lines = [
        f"module {module}(input clk, input rst, input signed [{act_bits - 1}:0] x_in,",
        f"    input bank_in, input signed [{psum_bits - 1}:0] psum_in, input {code} w_in,",
        "    input load, input load_bank,",
        f"    output reg signed [{act_bits - 1}:0] x_out, output reg bank_out,",
        f"    output reg signed [{psum_bits - 1}:0] psum_out, output {code} w_out);",
        f"  reg {code} bank0, bank1;",
        f"  wire {code} selected = bank_in ? bank1 : bank0;",
        *_weight_table(weight, "selected", "weight", value_bits),
        *(line for code in ("w_in", "bank0", "bank1") for line in _assume_finite(weight, code)),
        f"  wire signed [{full - 1}:0] product = weight * x_in;",
        f"  wire signed [{wide - 1}:0] total = psum_in + product;",
        "  assign w_out = load_bank ? bank1 : bank0;",
        "  always @(posedge clk) begin",
        "    if (rst) begin",
        "      x_out <= 0; bank_out <= 0; psum_out <= 0; bank0 <= 0; bank1 <= 0;",
        "    end else begin",
        "      x_out <= x_in; bank_out <= bank_in;",
        f"      psum_out <= total[{psum_bits - 1}:0];",
        "      if (load && load_bank) bank1 <= w_in;",
        "      if (load && !load_bank) bank0 <= w_in;",
        "    end",
        "  end",
        "endmodule",
    ]
    return "\n".join(lines) + "\n"


def _check_act(config: MACConfig | SystolicConfig) -> None:
    if not config.act.values_are_codes:
        raise ValueError(f"act format {config.act.name} must be a plain integer format")


def _value_bits(weight: Format) -> int:
    table = weight.scaled_table
    return signed_bits(int(table.min()), int(table.max()))


def _code_decl(weight: Format) -> str:
    return f"{'signed ' if weight.signed else ''}[{weight.bits - 1}:0]"


def _weight_table(weight: Format, code: str, value: str, value_bits: int) -> list[str]:
    """``reg value`` = scaled value of ``code``, from golden's table."""
    return [f"  reg signed [{value_bits - 1}:0] {value};", "  always @*",
            *_case_table(weight, code, value, value_bits)]


def _case_table(weight: Format, code: str, value: str, value_bits: int) -> list[str]:
    """One case item per code bit pattern; the last code is the default, so the case is full
    and no latch is inferred."""
    items = [(int(c), int(v)) for c, v in zip(weight.codes, weight.scaled_table)]
    mask = (1 << weight.bits) - 1
    lines = [f"    case ({code})"]
    for c, v in items[:-1]:
        lines.append(f"      {weight.bits}'b{c & mask:0{weight.bits}b}: {value} = "
                     f"{_lit(v, value_bits)};")
    return lines + [f"      default: {value} = {_lit(items[-1][1], value_bits)};", "    endcase"]


def _assume_finite(fmt: Format, code: str) -> list[str]:
    """An assumption that ``code`` is finite, for a format with NaN/Inf codes.

    golden's arithmetic refuses non-finite codes (``Format.check_codes``) and no quantizer emits
    them, so they are outside the specification's domain: what the hardware does with them is
    unspecified, and spending gates to pin it (say, to zero) would only inflate the area the
    report charges. For a register (a PE's weight bank) the assumption is the inductive
    invariant that it only ever loads finite codes from its assumed-finite input.
    """
    finite = fmt.finite_mask
    if finite.all():
        return []
    mask = (1 << fmt.bits) - 1
    name = f"{code}_finite"
    items = [f"      {fmt.bits}'b{int(c) & mask:0{fmt.bits}b}: {name} = 1'b0;"
             for c, ok in zip(fmt.codes, finite) if not ok]
    return [f"  reg {name};", "  always @*", f"    case ({code})", *items,
            f"      default: {name} = 1'b1;", "    endcase", f"  always @* assume({name});"]


def _carry_lines(config: MACConfig) -> list[str]:
    """Lines defining ``negative``, the carry into the adder that golden's ``product_model`` says
    the product datapath forms, or none when it is always 0.

    Two shapes occur: a carry that depends on the weight code alone (dINT's ``cin`` variant: a
    negative special code forms ``~(x << k)`` plus 1), and the operands' sign xor (the decoded
    datapaths' negation by carry-in). Each is generated as case tables from golden's model.
    """
    weight, act = config.weight, config.act
    w, x = np.meshgrid(weight.finite_codes, act.finite_codes, indexing="ij")
    carry = product_model(weight, act, config.product, w, x)[1]
    if not carry.any():
        return []
    if (carry == carry[:, :1]).all():
        return _flag_table(weight, "w", "negative", carry[:, 0])
    w_negative = decode_operand(weight, weight.finite_codes)[2]
    x_negative = decode_operand(act, act.finite_codes)[2]
    if not (carry == (w_negative[:, None] ^ x_negative[None, :])).all():
        raise ValueError(f"the carry of {weight.name} x {act.name} is neither the weight's own "
                         "nor the operands' sign xor: the spec has no shape for it")
    return [*_flag_table(weight, "w", "w_negative", w_negative),
            *_flag_table(act, "x", "x_negative", x_negative),
            "  wire negative = w_negative ^ x_negative;"]


def _flag_table(fmt: Format, code: str, name: str, flags: np.ndarray) -> list[str]:
    """``reg name`` = ``flags`` of each finite code of ``fmt``, as a case table."""
    mask = (1 << fmt.bits) - 1
    items = [f"      {fmt.bits}'b{int(c) & mask:0{fmt.bits}b}: {name} = 1'b{int(f)};"
             for c, f in zip(fmt.finite_codes, flags)]
    return [f"  reg {name};", "  always @*", f"    case ({code})", *items[:-1],
            f"      default: {name} = 1'b{int(flags[-1])};", "    endcase"]


def _overflow(overflow: Overflow, acc_bits: int, wide: int, total: str = "total") -> str:
    """Signed ``total`` (``wide`` bits) reduced to ``acc_bits`` as
    ``golden.arith.apply_overflow`` does."""
    if overflow is Overflow.WRAP:
        return f"{total}[{acc_bits - 1}:0]"
    lo, hi = acc_range(acc_bits)
    return (f"{total} > {_lit(hi, wide)} ? {_lit(hi, acc_bits)} : "
            f"{total} < {_lit(lo, wide)} ? {_lit(lo, acc_bits)} : {total}[{acc_bits - 1}:0]")


def _lit(value: int, bits: int) -> str:
    """A signed Verilog literal; ``bits`` must hold ``value``."""
    if signed_bits(value, value) > bits:
        raise ValueError(f"value {value} does not fit {bits} signed bits")
    return f"{'-' if value < 0 else ''}{bits}'sd{abs(value)}"


def array_spec(config: SystolicConfig, module: str) -> str:
    """The whole array as ``golden.systolic.SystolicConfig.run`` computes it, structured like
    that model rather than like ``hw.systolic``: PE (r, c) reads lane r of ``x`` and the bank bit
    through plain delay lines of r + c registers (no activation passing between PEs), the banks
    shift down on ``w_load``, column c's bottom sum is delayed C - 1 - c cycles and the control
    bits R + C - 1 cycles, then the output stage (or the accumulator memory) applies the
    overflow mode. ``rst`` zeroes every register (golden's state after reset) but not the
    accumulator memory, which starts at zero and is only read after a ``first`` row wrote it."""
    rows, cols = config.rows, config.cols
    a, b, s_bits, acc = config.act_bits, config.weight.bits, config.psum_bits, config.acc_bits
    _check_act(config)
    value_bits = _value_bits(config.weight)
    code = _code_decl(config.weight)
    ctrl = config.latency - 1
    accum = config.acc_depth > 0
    lines = [f"module {module}(input clk, input rst, input [{rows * a - 1}:0] x,",
             "    input x_valid, input x_bank,",
             *(["    input x_first, input x_last,", f"    input [{config.addr_bits - 1}:0] x_addr,"]
               if accum else []),
             f"    input [{cols * b - 1}:0] w, input w_load, input w_bank,",
             f"    output reg [{cols * acc - 1}:0] y, output reg y_valid);",
             "  integer i;",
             *_weight_function(config.weight, value_bits)]
    regs: list[str] = []
    for r in range(rows):
        lines.append(f"  wire signed [{a - 1}:0] x_{r}_0 = x[{r * a + a - 1}:{r * a}];")
        _delay_line(lines, regs, f"x_{r}", f"signed [{a - 1}:0]", r + cols - 1)
    lines.append("  wire bank_0 = x_bank;")
    _delay_line(lines, regs, "bank", "", rows + cols - 2)
    for name in ("valid", *(("first", "last") if accum else ())):
        lines.append(f"  wire {name}_0 = x_{name};")
        _delay_line(lines, regs, name, "", ctrl)
    if accum:
        lines.append(f"  wire [{config.addr_bits - 1}:0] addr_0 = x_addr;")
        _delay_line(lines, regs, "addr", f"[{config.addr_bits - 1}:0]", ctrl)
    for r in range(rows):
        for c in range(cols):
            lines += [f"  reg {code} wb0_{r}_{c}, wb1_{r}_{c};",
                      f"  reg signed [{s_bits - 1}:0] psum_{r}_{c};",
                      f"  wire signed [{value_bits + a - 1}:0] product_{r}_{c} = "
                      f"weight_value(bank_{r + c} ? wb1_{r}_{c} : wb0_{r}_{c}) * x_{r}_{r + c};"]
            above = f"psum_{r - 1}_{c} + " if r else ""
            regs.append(f"psum_{r}_{c} <= {above}product_{r}_{c};")
            for bank in (0, 1):
                source = f"w[{c * b + b - 1}:{c * b}]" if r == 0 else f"wb{bank}_{r - 1}_{c}"
                regs.append(f"if (w_load && w_bank == {bank}) wb{bank}_{r}_{c} <= {source};")
    wide = max(s_bits, acc) + 2
    for c in range(cols):
        lines.append(f"  wire signed [{s_bits - 1}:0] bottom_{c}_0 = psum_{rows - 1}_{c};")
        _delay_line(lines, regs, f"bottom_{c}", f"signed [{s_bits - 1}:0]", cols - 1 - c)
        aligned = f"bottom_{c}_{cols - 1 - c}"
        lane = f"y[{c * acc + acc - 1}:{c * acc}]"
        if accum:
            lines += [f"  reg signed [{acc - 1}:0] memory_{c} [0:{config.acc_depth - 1}];",
                      f"  initial for (i = 0; i < {config.acc_depth}; i = i + 1) "
                      f"memory_{c}[i] = 0;",
                      f"  wire signed [{acc - 1}:0] base_{c} = first_{ctrl} ? {_lit(0, acc)} : "
                      f"memory_{c}[addr_{ctrl}];",
                      f"  wire signed [{wide - 1}:0] total_{c} = base_{c} + {aligned};",
                      f"  wire signed [{acc - 1}:0] sum_{c} = "
                      f"{_overflow(config.overflow, acc, wide, f'total_{c}')};"]
            regs.append(f"if (valid_{ctrl}) begin memory_{c}[addr_{ctrl}] <= sum_{c}; "
                        f"{lane} <= sum_{c}; end")
        else:
            lines.append(f"  wire signed [{wide - 1}:0] total_{c} = {aligned};")
            regs.append(f"{lane} <= {_overflow(config.overflow, acc, wide, f'total_{c}')};")
    regs.append(f"y_valid <= valid_{ctrl}" + (f" && last_{ctrl};" if accum else ";"))
    state = [name for line in lines if line.startswith("  reg ")
             for name in re.findall(r"(\w+)(?:,|;)", line)] + ["y", "y_valid"]
    lines += ["  always @(posedge clk) begin",
              "    if (rst) begin", *(f"      {name} <= 0;" for name in state), "    end else begin",
              *(f"      {reg}" for reg in regs), "    end", "  end", "endmodule"]
    return "\n".join(lines) + "\n"


def _delay_line(lines: list[str], regs: list[str], name: str, shape: str, stages: int) -> None:
    """Declare ``name_1 .. name_<stages>`` and add their shifts (``name_0`` is the input)."""
    for k in range(1, stages + 1):
        lines.append(f"  reg {shape + ' ' if shape else ''}{name}_{k};")
        regs.append(f"{name}_{k} <= {name}_{k - 1};")


def _weight_function(weight: Format, value_bits: int) -> list[str]:
    """``weight_value(code)``: the scaled value of a weight code, from golden's table."""
    return [f"  function signed [{value_bits - 1}:0] weight_value(input [{weight.bits - 1}:0] code);",
            *(line.replace("  ", "    ", 1) for line in
              _case_table(weight, "code", "weight_value", value_bits)),
            "  endfunction"]
