"""report.md: Markdown tables and sentences written only from the report data (results.json).

Nothing here computes a figure: every number printed is a value of ``summary`` (see
``flow.report.summarize``), rounded for display. The test suite checks this by parsing every
number out of report.md and finding it in results.json.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from golden.families.blockscaled import block_params
from golden.formats import get_format

__all__ = ["render_markdown", "markdown_table", "fmt_sig", "fmt_fixed", "DEFINITIONS"]

# The report's definitions, stored in results.json (so their constants are data, not typed-in
# figures) and printed under "Definitions".
DEFINITIONS = {
    "tops_per_mm2": "TOPS/mm² = 2 × MACs per cycle × f / area (one MAC is two operations); "
                    "\"@ clock\" uses the common clock of the study, \"@ Fmax\" the design's own "
                    "Fmax from static timing.",
    "tops_per_w": "TOPS/W = 2 / (energy per MAC in pJ) at the given workload.",
    "energy_per_mac": "Energy per MAC = total power × clock period × cycles / MACs, over the "
                      "gate-level simulation window of the workload (mW × ns = pJ).",
    "ratios": "Ratios against INT8xINT8 compare designs of the same kind and size: area ratio = "
              "area(INT8xINT8) / area(design), power ratio = total power(INT8xINT8) / total "
              "power(design) at the same clock and workload, energy/MAC ratio likewise; above 1 "
              "means the design is smaller or cheaper than INT8xINT8.",
    "recipes": "Every MAC and one single PE (a 1×1 array) per PE type are synthesised under "
               "every recipe of the portfolio; the winner is the smallest area that meets timing "
               "at the study clock, and arrays use their PE type's winner. Ratios compare the "
               "designs at their best (best against best); the range is the same-recipe ratio "
               "over the portfolio (PE level for arrays), and the default recipe's ratio is the "
               "figure of a single-recipe flow.",
    "power": "Power is qmac's engine (flow.power) applied to every net's measured toggles in a "
             "gate-level simulation of the mapped netlist (zero-delay: no glitches; MAC results "
             "also carry a labelled SDF-timed figure with glitches; pin loads and the library's "
             "wire-load model, no placement); \"vectorless\" is OpenSTA's estimate with a "
             "default input activity, shown for comparison only.",
}


def fmt_sig(value: float | None, digits: int = 3) -> str:
    """``value`` with ``digits`` significant figures in fixed notation (no exponent)."""
    if value is None:
        return "n/a"
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def fmt_fixed(decimals: int) -> Callable[[float | None], str]:
    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.{decimals}f}"
    return fmt


_int = fmt_fixed(0)
_ratio = fmt_fixed(2)


LEVELS = {"mac": "MAC", "block_mac": "block MAC"}
"""The level column of the one-unit kinds; arrays show their size."""


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub Markdown table; the first column is left-aligned, the others right-aligned."""
    align = [":--"] + ["--:"] * (len(headers) - 1)
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _array(d: dict) -> str:
    return LEVELS.get(d["kind"]) or f"{d['rows']}×{d['cols']}"


def _designs_table(summary: dict) -> str:
    rows = []
    for d in summary["designs"]:
        area = d["result"]["area"]
        rows.append([d["label"], _array(d), _int(d["acc_bits"]),
                     "n/a" if d["psum_bits"] is None else _int(d["psum_bits"]),
                     _int(d["result"]["design"]["macs_per_cycle"]), _int(area["cell_count"]),
                     _int(area["total_um2"]), _int(area["sequential_um2"]),
                     _int(area["combinational_um2"]), _int(area["pe_um2"]),
                     _int(area["edge_um2"])])
    return markdown_table(
        ["Design", "Level", "Accumulator bits", "Partial-sum bits", "MACs/cycle", "Cells",
         "Area (um²)", "Sequential (um²)", "Combinational (um²)", "Per PE (um²)",
         "Edge logic (um²)"], rows)


def _formats_table(summary: dict) -> str:
    """One row per weight x activation pair studied (older results.json: no rows)."""
    rows = [[f"{f['weight']} x {f['act']}", _int(f["bits"]),
             *(f"{f[k]:g}" if k in f else "n/a"
               for k in ("bits_per_element", "act_bits_per_element")),
             _int(f["values"]), f"[{f['value_min']:g}, {f['value_max']:g}]",
             f"{f['smallest_nonzero']:g}", _int(f["product_bits"]),
             f"{f['datapath']} x {f['act_datapath']}"]
            for f in summary.get("formats", [])]
    return markdown_table(["Weight x activation", "Weight bits", "Weight bits/element (scale "
                           "included)", "Act bits/element", "Values", "Value range",
                           "Smallest nonzero", "Product bits", "Datapath (weight x act)"], rows)


def _timing_table(summary: dict) -> str:
    rows = []
    for d in summary["designs"]:
        timing, der = d["result"]["timing"], d["derived"]
        rows.append([d["label"], fmt_sig(timing["critical_path_ns"]),
                     fmt_sig(timing["fmax_mhz"]), _int(der["area_per_mac_um2"]),
                     fmt_sig(der["tops_per_mm2_at_clock"]), fmt_sig(der["tops_per_mm2_at_fmax"])])
    return markdown_table(
        ["Design", "Critical path (ns)", "Fmax (MHz)", "Area per MAC/cycle (um²)",
         "TOPS/mm² @ clock", "TOPS/mm² @ Fmax"], rows)


def _power_table(summary: dict) -> str:
    workload = summary["headline_workload"]
    rows = []
    for d in summary["designs"]:
        power = d["result"]["power"]
        p = power["workloads"][workload]
        rows.append([d["label"], fmt_sig(p["internal_mw"]), fmt_sig(p["switching_mw"]),
                     fmt_sig(p["leakage_mw"]), fmt_sig(p["total_mw"]),
                     fmt_sig(power["vectorless"]["total_mw"])])
    return markdown_table(
        ["Design", "Internal (mW)", "Switching (mW)", "Leakage (mW)", "Total (mW)",
         "Vectorless total (mW)"], rows)


def _energy_table(summary: dict) -> str:
    workloads = summary["workloads"]
    rows = []
    for d in summary["designs"]:
        per = d["result"]["power"]["workloads"]
        shape = "×".join(_int(n) for n in per[workloads[0]]["shape"])
        rows.append([d["label"], shape]
                    + [fmt_sig(per[w]["energy_per_mac_pj"]) for w in workloads]
                    + [fmt_sig(d["derived"]["tops_per_w"][w]) for w in workloads])
    return markdown_table(["Design", "GEMM M×K×N"] + [f"{w} (pJ/MAC)" for w in workloads]
                          + [f"{w} (TOPS/W)" for w in workloads], rows)


def _range(bounds: list[float] | None) -> str:
    return "n/a" if bounds is None else f"{_ratio(bounds[0])}–{_ratio(bounds[-1])}"


def _recipe_of(d: dict) -> str:
    return d["result"].get("recipe", {}).get("name", "n/a")


def _ratio_table(summary: dict) -> str:
    workloads = summary["workloads"]
    headline = summary["headline_workload"]
    rows = []
    for d in summary["designs"]:
        vs = d["derived"]["vs_int8"]
        if vs is None:
            continue
        by_recipe = d["derived"].get("vs_int8_by_recipe") or {}
        rows.append([d["label"], _recipe_of(d), _ratio(vs["area"]),
                     _range(by_recipe.get("area_range")), _ratio(by_recipe.get("default_area")),
                     _ratio(vs["sequential_area"]), _ratio(vs["power"].get(headline))]
                    + [_ratio(vs["energy_per_mac"].get(w)) for w in workloads]
                    + [_range(by_recipe.get("energy_range"))])
    return markdown_table(
        ["Design", "Recipe", "Area ratio", "Area ratio range over recipes",
         "Area ratio, default recipe", "Sequential-area ratio", f"Power ratio ({headline})"]
        + [f"Energy/MAC ratio ({w})" for w in workloads]
        + [f"Energy/MAC ratio range over recipes ({headline})"], rows)


def _searched(summary: dict) -> list[tuple[str, dict]]:
    """``(searched design name, portfolio record)`` of every search, each once, in study order."""
    records = {d["result"]["portfolio"]["searched_on"]: d["result"]["portfolio"]
               for d in summary["designs"] if "portfolio" in d["result"]}
    return list(records.items())


def _portfolio_table(summary: dict) -> str:
    headline = summary["headline_workload"]
    rows = []
    for name, record in _searched(summary):
        area = record["spread"]["area_um2"]
        energy = record["spread"]["energy_per_mac_pj"][headline]
        rows.append([name, record["winner"], "yes" if record["meets_timing"] else "no"]
                    + [_int(area[k]) for k in ("min", "median", "max")]
                    + [fmt_sig(energy[k]) for k in ("min", "median", "max")])
    return markdown_table(
        ["Searched design", "Winner", "Meets timing", "Area min (um²)", "Area median (um²)",
         "Area max (um²)", f"Energy/MAC min (pJ, {headline})", "median", "max"], rows)


def _recipe_area_table(summary: dict) -> str:
    recipes = list(summary["recipes"])
    rows = [[name] + [_int(record["candidates"][r]["area_um2"]) if r in record["candidates"]
                      else "n/a" for r in recipes]
            for name, record in _searched(summary)]
    return markdown_table(["Searched design (area um²)"] + recipes, rows)


def _paper_table(summary: dict) -> str:
    headline = summary["headline"]
    paper = summary["paper"]
    rows = [[f"Paper (quoted: {paper['source']})", "MAC", "n/a",
             _ratio(paper["area_ratio"]), _ratio(paper["power_ratio"]), "n/a"]]
    for row in headline["rows"]:
        rows.append([f"qmac: {row['label']} (best vs best)",
                     "MAC" if row["level"] == "mac" else "array",
                     f"{_int(row['acc_bits'])} vs {_int(row['baseline_acc_bits'])}",
                     _ratio(row["area_ratio"]), _ratio(row["power_ratio"]),
                     _ratio(row["energy_ratio"])])
    for row in headline["rows"]:
        if row["level"] == "mac" and row.get("default_recipe_area_ratio") is not None:
            rows.append([f"qmac: {row['label']}, {summary['default_recipe']} recipe only "
                         "(single-recipe flow)", "MAC",
                         f"{_int(row['acc_bits'])} vs {_int(row['baseline_acc_bits'])}",
                         _ratio(row["default_recipe_area_ratio"]), "n/a",
                         _ratio(row["default_recipe_energy_ratio"])])
    return markdown_table(
        ["Source", "Level", "Accumulator bits (dINT4 vs INT8)", "Area ratio (×)",
         f"Power ratio (×, {headline['workload']})", f"Energy/MAC ratio (×, {headline['workload']})"],
        rows)


def _workload_table(summary: dict) -> str:
    rows = []
    for workload, by_format in summary["workload_stats"].items():
        for fmt, s in by_format.items():
            rows.append([workload, fmt, _share(s["x_zero_share"]), _share(s["w_zero_share"]),
                         _share(s["w_special_share"]), fmt_fixed(2)(s["x_mean_abs"]),
                         fmt_fixed(2)(s["w_mean_abs"]), _share(s["x_toggle_rate"]),
                         _share(s["w_toggle_rate"])])
    return markdown_table(
        ["Workload", "Weight format", "x zero share", "w zero share", "w special-code share",
         "x mean abs", "w mean abs", "x toggle rate", "w toggle rate"], rows)


_share = fmt_fixed(3)
ACCURACY_PLOT = "accuracy_vs_energy.png"


def _accuracy_table(summary: dict) -> str:
    headline = summary["headline_workload"]
    rows = []
    for fmt, res in summary["accuracy"]["formats"].items():
        mean, e2e = res["mean"], res["end_to_end"]["w_a8"]
        energy = [fmt_sig(d["result"]["power"]["workloads"][headline]["energy_per_mac_pj"])
                  for d in summary["designs"] if d["kind"] in LEVELS and d["weight"] == fmt]
        rows.append([fmt, _share(mean["underflow"]), _share(mean["special_share"]),
                     fmt_fixed(1)(mean["weight_sqnr_db"]), fmt_fixed(1)(mean["output_sqnr_wa8_db"]),
                     fmt_fixed(4)(res["end_to_end"]["w_only"]["cosine_mean"]),
                     fmt_fixed(4)(e2e["cosine_mean"]), fmt_fixed(4)(e2e["cosine_min"]),
                     fmt_fixed(4)(e2e["similarity_error_max"]), _share(e2e["nn_agreement"]),
                     energy[0] if energy else "n/a"])
    return markdown_table(
        ["Weight format", "Weight underflow", "Special codes", "Weight SQNR (dB)",
         "GEMM SQNR W+A8 (dB)", "Cosine W only", "Cosine W+A8 (mean)", "Cosine W+A8 (min)",
         "Similarity error (max)", "NN agreement", f"MAC pJ/MAC ({headline})"], rows)


def _accuracy_intro(summary: dict) -> str:
    acc = summary["accuracy"]
    sentences = acc["sentences"]
    scheme = ("per channel" if acc["granularity"] == "channel"
              else f"per group of {acc['group_size']}")
    if any(block_params(get_format(name)) for name in acc["formats"]):
        scheme += "; block-scaled formats per block of K, with their own scales"
    return (f"All 36 linear layers of all-MiniLM-L6-v2 ({acc['model']}) quantized to each weight "
            f"format ({scheme}) with INT8 per-token activations, computed bit-exactly through "
            f"golden/ on {sentences['count']} sentences ({sentences['tokens']} tokens) and "
            "compared with the FP32 model (method: docs/accuracy.md). Shares are fractions of "
            "the weights (layer means); cosine is each sentence embedding's cosine to its FP32 "
            "embedding; NN agreement is the share of sentences whose nearest neighbour is the "
            "FP32 one. The plot sets each design's energy per MAC on the headline workload "
            "against the end-to-end cosine of its weight format.")


def _cells_table(summary: dict) -> str:
    macs = [d for d in summary["designs"] if d["kind"] == "mac"]
    cells = sorted({c for d in macs for c in d["result"]["area"]["cells"]})
    rows = [[cell] + [_int(d["result"]["area"]["cells"].get(cell, {}).get("count", 0))
                      for d in macs] for cell in cells]
    return markdown_table(["Cell"] + [f"{d['label']} (count)" for d in macs], rows)


def _headline_sentence(summary: dict) -> str:
    """The headline, built from the data: dINT4xINT8 vs INT8xINT8 at MAC and largest array."""
    headline = summary["headline"]
    if headline is None:
        return ("This study has no dINT4xINT8 design with an INT8xINT8 baseline, so there is no "
                "paper comparison.")
    by_level = {r["level"]: r for r in headline["rows"]}
    paper = summary["paper"]
    parts = []
    mac = by_level.get("mac")
    if mac is not None:
        parts.append(f"on the {headline['workload']} workload at {fmt_sig(summary['clock_mhz'])} "
                     f"MHz, the dINT4xINT8 MAC measures an area ratio of "
                     f"{_ratio(mac['area_ratio'])}× and a power ratio of "
                     f"{_ratio(mac['power_ratio'])}× against the INT8xINT8 MAC (accumulators "
                     f"{_int(mac['acc_bits'])} vs {_int(mac['baseline_acc_bits'])} bits)")
    arrays = [r for r in headline["rows"] if r["level"] != "mac"]
    if arrays:
        big = arrays[-1]
        parts.append(f"for the {big['label']} array the ratios are {_ratio(big['area_ratio'])}× "
                     f"(area) and {_ratio(big['power_ratio'])}× (power)")
    text = "; ".join(parts)
    sentence = (f"**Headline:** {text[0].upper()}{text[1:]}. The paper claims "
                f"{_ratio(paper['area_ratio'])}× and {_ratio(paper['power_ratio'])}× for the "
                "MAC.")
    if mac is not None and mac.get("area_ratio_range") is not None:
        sentence += (f" Every design is compared at its best synthesis recipe (MACs: "
                     f"{mac['recipe']} for dINT4, {mac['baseline_recipe']} for INT8); with both "
                     f"MACs under the same recipe the area ratio ranges over "
                     f"{_range(mac['area_ratio_range'])}×, and the {summary['default_recipe']} "
                     f"recipe alone gives {_ratio(mac['default_recipe_area_ratio'])}×.")
    return sentence


def _scaling_paragraph(summary: dict) -> str:
    """Energy per MAC vs array size, in words, from ``summary["energy_scaling"]``."""
    scaling = summary.get("energy_scaling") or {"formats": {}}
    sentences = []
    for pair, levels in scaling["formats"].items():
        if len(levels) < 2:
            continue
        steps = ", ".join(
            f"{fmt_sig(level['energy_per_mac_pj'])} pJ in the {level['label']}"
            + (f" ({_ratio(level['vs_mac'])}× the MAC)" if level["kind"] != "mac"
               and level["vs_mac"] is not None else "")
            for level in levels)
        lowest = min(levels, key=lambda level: level["energy_per_mac_pj"])
        sentence = f"{pair}: energy per MAC is {steps}; lowest in the {lowest['label']}."
        arrays = [level["energy_per_mac_pj"] for level in levels if level["kind"] != "mac"]
        steps_up = [b > a for a, b in zip(arrays, arrays[1:])]
        if steps_up and all(steps_up):
            sentence += " Among the arrays it rises with size."
        elif steps_up and not any(steps_up):
            sentence += " Among the arrays it falls with size."
        edges = [level for level in levels if level["edge_share_pct"] is not None]
        if edges:
            sentence += (" The edge logic outside the PEs takes "
                         + ", ".join(f"{fmt_sig(level['edge_share_pct'])} % of the "
                                     f"{level['label']}'s power" for level in edges) + ".")
            shares = [level["edge_share_pct"] for level in edges]
            if len(shares) > 1 and all(b < a for a, b in zip(shares, shares[1:])):
                sentence += (" That share falls as the array grows: more multipliers share the "
                             "edge logic, so energy per MAC approaches the PEs' own.")
        sentences.append(sentence)
    if not sentences:
        return "The study has no MAC and array of one weight format to compare."
    return " ".join(sentences)


def _block_paragraph(summary: dict) -> str:
    """Each block-scaled MAC against the element-wise MACs, in words, from
    ``summary["block_scaled"]``; "" without one (or in an older results.json)."""
    rows = (summary.get("block_scaled") or {}).get("rows")
    if not rows:
        return ""
    sentences = []
    for row in rows:
        against = "; ".join(
            f"{_ratio(r['area_ratio'])}× the area and {_ratio(r['energy_ratio'])}× the energy "
            f"of the {r['label']} ({_int(r['acc_bits'])}-bit accumulator)"
            for r in row["against"])
        sentences.append(
            f"The {row['label']} stores {row['weight_bits_per_element']:g} weight and "
            f"{row['act_bits_per_element']:g} activation bits per element (block scale "
            f"included) and measures {_int(row['area_um2'])} um² and "
            f"{fmt_sig(row['energy_per_mac_pj'])} pJ/MAC with a {_int(row['acc_bits'])}-bit "
            f"accumulator" + (f": {against}." if against else "."))
    return (" ".join(sentences) + " A block MAC's area includes its scale datapath (the "
            "scale decoders, the E4M3 mantissa multiplier, the alignment shifters) and its wide "
            "output accumulator, which adds once per block; no design here stores its "
            "operands, so the scale storage shows only in bits per element.")


def _header(summary: dict) -> list[str]:
    tools = summary["tools"]
    library = summary["library"]
    lines = [
        "# qmac efficiency report",
        "",
        f"Generated {summary['date']} by qmac {summary['qmac']} with `{summary['command']}`.",
        "",
        "- Tools: " + ", ".join(f"{name} {version}" for name, version in sorted(tools.items())),
        f"- Library: {library['name']} (`{library['liberty']}`)",
        f"- Clock: {fmt_sig(summary['clock_ns'])} ns ({fmt_sig(summary['clock_mhz'])} MHz), the "
        "same for every design",
        f"- Workloads: {', '.join(summary['workloads'])} (seed {summary['seed']}); headline "
        f"workload: {summary['headline_workload']}",
        "- Regenerate: `make report` (full study) or `make report-quick`; custom studies with "
        "`qmac report --designs ... --sizes ... --liberty ... --clock-ns ... --workload ...`. "
        "Designs whose inputs did not change are taken from the cache in build/cache.",
    ]
    lines += [f"- Note: {note}" for note in summary["notes"]]
    return lines


def render_markdown(summary: dict, plots: dict[str, str]) -> str:
    """The whole report.md; ``plots`` maps a PNG file name to its caption."""
    headline = summary["headline_workload"]
    sections: list[tuple[str, str, Any]] = [
        ("Designs and area", "Area from the Liberty cell areas of the mapped netlist; per-PE "
         "and edge-logic areas for arrays.", _designs_table),
        ("Formats", "Each weight format's valid (quantizer-output) values before the block "
         "scale, the exact product width against its activation format, and the product "
         "datapath that serves the pair (docs/extending.md).", _formats_table),
        ("Timing and area efficiency", "", _timing_table),
        (f"Power ({headline} workload)", "", _power_table),
        ("Energy per MAC and TOPS/W by workload", "Each workload streams a GEMM of the "
         "shape shown through the design (the flow's `workload_shape`); energy per MAC covers "
         "the whole simulated stream.", _energy_table),
        ("Ratios against INT8xINT8 (same kind and size)", "Best against best: each design "
         "under its winning recipe. The range is the same-recipe ratio over the portfolio (for "
         "arrays, of their single PEs).", _ratio_table),
        ("Synthesis recipes (portfolio search)", "Each searched design under every recipe: the "
         "winner (smallest area meeting timing) and the spread of area and energy per MAC.",
         _portfolio_table),
        ("Area under each recipe", "", _recipe_area_table),
        ("Workload statistics", "What each workload feeds the MAC ports (the operands streamed "
         "through a MAC, seed of the study): share of zero codes, of dINT's special codes, mean "
         "absolute value, and the share of port bits that flip per cycle. `minilm` tiles are "
         "real all-MiniLM-L6-v2 weights and activations; `synthetic` imitates them.",
         _workload_table),
        ("Cells by type (MAC units)", "", _cells_table),
    ]
    lines = _header(summary) + ["", _headline_sentence(summary), ""]
    if summary["headline"] is not None:
        lines += ["## Paper claims vs qmac", "",
                  "Ratios are INT8xINT8 / dINT4xINT8 (above 1: dINT4xINT8 is smaller or "
                  "cheaper). The paper row is a quotation, not a measurement.", "",
                  _paper_table(summary), ""]
    for title, intro, table in sections:
        lines += [f"## {title}", ""] + ([intro, ""] if intro else []) + [table(summary), ""]
        if table is _energy_table:
            lines += [f"### Energy per MAC vs array size ({headline} workload)", "",
                      _scaling_paragraph(summary), ""]
            block = _block_paragraph(summary)
            if block:
                lines += [f"### Block-scaled formats ({headline} workload)", "", block, ""]
    plots = dict(plots)
    if summary.get("accuracy") is not None:
        lines += ["## Accuracy vs hardware cost", "", _accuracy_intro(summary), "",
                  _accuracy_table(summary), ""]
        lines += [f"![{caption}]({name})" for name, caption in plots.items()
                  if name == ACCURACY_PLOT] + [""]
        plots.pop(ACCURACY_PLOT, None)
    lines += ["## Plots", ""]
    for name, caption in plots.items():
        lines += [f"![{caption}]({name})", ""]
    lines += ["## Definitions", ""]
    lines += [f"- {text}" for text in summary["definitions"].values()]
    return "\n".join(lines) + "\n"
