"""Reference Verilog generated from golden/: the specification the formal proofs compare against.

The modules are written from golden's value tables and overflow rules only (never from hw/):
the weight code selects its scaled value from ``Format.scaled_table`` in a case table, the
product is a plain signed multiply, and the accumulator follows ``golden.mac.MACConfig.run``
(wrap or saturate with ``golden.arith.acc_range``). They keep the register names of the
generated designs so that both sides' flip-flops line up when the prover cuts them open.
"""

from __future__ import annotations

from golden.arith import Overflow, acc_range, signed_bits
from golden.formats import Format
from golden.mac import MACConfig
from golden.systolic import SystolicConfig

__all__ = ["mac_spec", "pe_spec"]


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
        f"  wire signed [{full - 1}:0] product = weight * x;",
    ]
    if config.pipeline:
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
        f"  wire signed [{wide - 1}:0] total = base + stage_product;",
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
    """``value`` = scaled value of ``code``: one case item per bit pattern, from golden's table;
    the last code is the default so the case is full and no latch is inferred."""
    items = [(int(c), int(v)) for c, v in zip(weight.codes, weight.scaled_table)]
    mask = (1 << weight.bits) - 1
    lines = [f"  reg signed [{value_bits - 1}:0] {value};", "  always @* begin",
             f"    case ({code})"]
    for c, v in items[:-1]:
        lines.append(f"      {weight.bits}'b{c & mask:0{weight.bits}b}: {value} = "
                     f"{_lit(v, value_bits)};")
    lines += [f"      default: {value} = {_lit(items[-1][1], value_bits)};", "    endcase",
              "  end"]
    return lines


def _overflow(overflow: Overflow, acc_bits: int, wide: int) -> str:
    """``total`` reduced to ``acc_bits`` as ``golden.arith.apply_overflow`` does."""
    if overflow is Overflow.WRAP:
        return f"total[{acc_bits - 1}:0]"
    lo, hi = acc_range(acc_bits)
    return (f"total > {_lit(hi, wide)} ? {_lit(hi, acc_bits)} : "
            f"total < {_lit(lo, wide)} ? {_lit(lo, acc_bits)} : total[{acc_bits - 1}:0]")


def _lit(value: int, bits: int) -> str:
    """A signed Verilog literal; ``bits`` must hold ``value``."""
    if signed_bits(value, value) > bits:
        raise ValueError(f"value {value} does not fit {bits} signed bits")
    return f"{'-' if value < 0 else ''}{bits}'sd{abs(value)}"
