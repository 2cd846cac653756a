"""PNG plots of the report data (matplotlib, Agg backend): one function per figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from flow.tables import ACCURACY_PLOT, LEVELS  # noqa: E402

__all__ = ["write_plots", "sweep_pareto"]

_DPI = 110
_HEADROOM = 1.3  # y-axis room above the tallest bar, so the legend does not hide it


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)


def _levels(summary: dict) -> list[str]:
    """``"MAC"``, ``"block MAC"`` and every array size, in study order."""
    return list(dict.fromkeys(_level(d) for d in summary["designs"]))


def _level(d: dict) -> str:
    return LEVELS.get(d["kind"]) or f"{d['rows']}x{d['cols']}"


def _pair(d: dict) -> str:
    """``dINT4xINT8``: the label without its level."""
    return d["label"].rsplit(" ", 1)[0]


def _colors(summary: dict) -> dict[str, str]:
    pairs = list(dict.fromkeys(_pair(d) for d in summary["designs"]))
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {p: cycle[i % len(cycle)] for i, p in enumerate(pairs)}


def _area_breakdown(summary: dict, path: Path) -> None:
    levels = _levels(summary)
    fig, axes = plt.subplots(2, len(levels), figsize=(3.2 * len(levels) + 1, 7.5), squeeze=False)
    for col, level in enumerate(levels):
        designs = [d for d in summary["designs"] if _level(d) == level]
        names = [_pair(d) for d in designs]
        seq = [d["result"]["area"]["sequential_um2"] for d in designs]
        comb = [d["result"]["area"]["combinational_um2"] for d in designs]
        top = axes[0][col]
        top.bar(names, seq, label="sequential", color="tab:blue")
        top.bar(names, comb, bottom=seq, label="combinational", color="tab:orange")
        top.set_title(f"{level}\nsequential vs combinational")
        bottom = axes[1][col]
        if designs[0]["kind"] in LEVELS:
            bottom.axis("off")
            bottom.text(0.5, 0.5, "MAC units have no\nPE / edge split", ha="center",
                        va="center", transform=bottom.transAxes)
        else:
            pes = [d["result"]["area"]["pe_um2"] * d["result"]["area"]["pe_count"]
                   for d in designs]
            edge = [d["result"]["area"]["edge_um2"] for d in designs]
            rest = [max(0.0, d["result"]["area"]["total_um2"] - p - e)
                    for d, p, e in zip(designs, pes, edge)]
            bottom.bar(names, pes, label="PEs", color="tab:green")
            bottom.bar(names, edge, bottom=pes, label="edge logic", color="tab:red")
            bottom.bar(names, rest, bottom=[p + e for p, e in zip(pes, edge)],
                       label="top-level glue", color="tab:gray")
            bottom.set_title(f"{level}\nPEs vs edge logic")
            bottom.set_xlabel("weight x activation format")
            bottom.set_ylabel("area (um²)")
            bottom.set_ylim(0, _HEADROOM * max(d["result"]["area"]["total_um2"] for d in designs))
            bottom.tick_params(axis="x", rotation=20)
        top.set_ylabel("area (um²)")
        top.set_ylim(0, _HEADROOM * max(d["result"]["area"]["total_um2"] for d in designs))
        top.set_xlabel("weight x activation format")
        top.tick_params(axis="x", rotation=20)
    axes[0][0].legend(loc="upper right", fontsize="small")
    arrays = [c for c, level in enumerate(levels) if level not in LEVELS.values()]
    if arrays:
        axes[1][arrays[0]].legend(loc="upper right", fontsize="small")
    fig.suptitle(f"Area breakdown ({summary['library']['name']})")
    _save(fig, path)


def _energy_by_workload(summary: dict, path: Path) -> None:
    designs = summary["designs"]
    workloads = summary["workloads"]
    width = 0.8 / len(workloads)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(designs) + 2), 4.8))
    for i, workload in enumerate(workloads):
        xs = [j + (i - (len(workloads) - 1) / 2) * width for j in range(len(designs))]
        ax.bar(xs, [d["result"]["power"]["workloads"][workload]["energy_per_mac_pj"]
                    for d in designs], width, label=workload)
    ax.set_xticks(range(len(designs)), [d["label"] for d in designs], rotation=35, ha="right")
    ax.set_xlabel("design")
    ax.set_ylabel("energy per MAC (pJ)")
    ax.set_title(f"Energy per MAC by workload at {summary['clock_ns']:g} ns clock")
    ax.legend(title="workload")
    _save(fig, path)


def _scaling(summary: dict, path: Path) -> None:
    headline = summary["headline_workload"]
    colors = _colors(summary)
    arrays = [d for d in summary["designs"] if d["kind"] not in LEVELS]
    fig, (area_ax, energy_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
    for pair in dict.fromkeys(_pair(d) for d in arrays):
        series = sorted((d["rows"] * d["cols"], d) for d in arrays if _pair(d) == pair)
        pes = [n for n, _ in series]
        area_ax.plot(pes, [d["result"]["area"]["total_um2"] for _, d in series], "o-",
                     color=colors[pair], label=pair)
        energy_ax.plot(pes, [d["result"]["power"]["workloads"][headline]["energy_per_mac_pj"]
                             for _, d in series], "o-", color=colors[pair], label=pair)
    sizes = sorted({(d["rows"] * d["cols"], f"{d['rows']}x{d['cols']}") for d in arrays})
    for ax in (area_ax, energy_ax):
        ax.set_xscale("log", base=2)
        ax.set_xticks([n for n, _ in sizes], [f"{label}\n({n} PEs)" for n, label in sizes])
        ax.minorticks_off()
        ax.set_xlabel("array size (rows x cols)")
        ax.grid(True, alpha=0.3)
        if arrays:
            ax.legend()
        else:
            ax.text(0.5, 0.5, "no arrays in this study", ha="center", transform=ax.transAxes)
    area_ax.set_yscale("log")
    area_ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    area_ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    area_ax.yaxis.set_minor_formatter(NullFormatter())
    area_ax.set_ylabel("area (um²)")
    area_ax.set_title("Array area vs size")
    energy_ax.set_ylabel(f"energy per MAC, {headline} workload (pJ)")
    energy_ax.set_title("Array energy per MAC vs size")
    _save(fig, path)


def _area_vs_energy(summary: dict, path: Path) -> None:
    headline = summary["headline_workload"]
    colors = _colors(summary)
    markers = dict(zip(_levels(summary), "os^Dvp<>"))
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    for d in summary["designs"]:
        x = d["derived"]["area_per_mac_um2"]
        y = d["result"]["power"]["workloads"][headline]["energy_per_mac_pj"]
        ax.scatter([x], [y], color=colors[_pair(d)], marker=markers.get(_level(d), "o"), s=60)
    handles = [plt.Line2D([], [], color=c, marker="o", ls="", label=p) for p, c in colors.items()]
    handles += [plt.Line2D([], [], color="black", marker=m, ls="", label=level)
                for level, m in markers.items()]
    ax.legend(handles=handles, fontsize="small")
    ax.set_xlabel("area per MAC/cycle (um²)")
    ax.set_ylabel(f"energy per MAC, {headline} workload (pJ)")
    ax.set_title("Area vs energy per MAC (lower left is better)")
    ax.grid(True, alpha=0.3)
    _save(fig, path)


def _accuracy_vs_energy(summary: dict, path: Path) -> None:
    """Energy per MAC on the headline workload vs end-to-end cosine. Within each level (the MAC,
    each array size: the designs that are alternatives to each other) the Pareto-optimal ones,
    which no other design beats on both energy and accuracy, are joined by a dashed line."""
    headline = summary["headline_workload"]
    cosine = {f: r["end_to_end"]["w_a8"]["cosine_mean"]
              for f, r in summary["accuracy"]["formats"].items()}
    colors = _colors(summary)
    markers = dict(zip(_levels(summary), "os^Dvp<>"))
    points = [(d["result"]["power"]["workloads"][headline]["energy_per_mac_pj"],
               cosine[d["weight"]], d) for d in summary["designs"] if d["weight"] in cosine]
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    for energy, cos, d in points:
        ax.scatter([energy], [cos], color=colors[_pair(d)], marker=markers.get(_level(d), "o"),
                   s=60)
        ax.annotate(d["label"], (energy, cos), textcoords="offset points", xytext=(5, 4),
                    fontsize="x-small")
    for level, marker in markers.items():
        best, pareto = -1.0, []
        for energy, cos, d in sorted(points, key=lambda p: (p[0], -p[1])):
            if _level(d) == level and cos > best:
                pareto.append((energy, cos))
                best = cos
        if pareto:
            ax.plot(*zip(*pareto), color="gray", ls="--", lw=1, marker=marker, mfc="none",
                    label=f"Pareto front, {level}")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel(f"energy per MAC, {headline} workload (pJ, log scale)")
    ax.set_ylabel("end-to-end embedding cosine to FP32 (W+A8, mean)")
    ax.set_title("Accuracy vs energy per MAC (upper left is better)")
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    _save(fig, path)


def _ratios_with_spread(summary: dict, path: Path) -> None:
    """Best-vs-best ratios against INT8 as bars; the same-recipe range over the portfolio as a
    range bar (it need not contain the best-vs-best ratio, so it is drawn, not an error +-)."""
    headline = summary["headline_workload"]
    designs = [d for d in summary["designs"] if d["derived"]["vs_int8"] is not None
               and d["weight"] != "int8"]
    fig, axes = plt.subplots(1, 2, figsize=(max(8.0, 1.2 * len(designs) + 4), 4.8))
    panels = ((axes[0], "area", "area_range", "area ratio vs INT8xINT8"),
              (axes[1], "energy_per_mac", "energy_range",
               f"energy/MAC ratio vs INT8xINT8 ({headline})"))
    for ax, key, range_key, ylabel in panels:
        xs = range(len(designs))
        best = [d["derived"]["vs_int8"][key] if key == "area"
                else d["derived"]["vs_int8"][key].get(headline) for d in designs]
        ax.bar(xs, [b or 0 for b in best], color="tab:blue", label="best vs best")
        spans = [(x, (d["derived"].get("vs_int8_by_recipe") or {}).get(range_key))
                 for x, d in zip(xs, designs)]
        spans = [(x, span) for x, span in spans if span is not None]
        if spans:
            ax.errorbar([x for x, _ in spans], [(lo + hi) / 2 for _, (lo, hi) in spans],
                        yerr=[(hi - lo) / 2 for _, (lo, hi) in spans], fmt="none",
                        ecolor="black", capsize=6, label="range over recipes (same recipe)")
        ax.axhline(1.0, color="gray", lw=0.8)
        ax.set_xticks(list(xs), [d["label"] for d in designs], rotation=35, ha="right")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize="small")
    fig.suptitle("Ratios against INT8xINT8: each design at its best recipe")
    _save(fig, path)


_FIGURES = (
    ("area_breakdown.png", "Area breakdown: sequential vs combinational, PEs vs edge logic",
     _area_breakdown),
    ("energy_per_mac.png", "Energy per MAC by workload", _energy_by_workload),
    ("scaling.png", "Area and energy per MAC vs array size", _scaling),
    ("area_vs_energy.png", "Area per MAC/cycle vs energy per MAC", _area_vs_energy),
    ("ratios.png", "Best-vs-best ratios against INT8xINT8, with their range over the recipes",
     _ratios_with_spread),
)


_ACCURACY_FIGURE = (ACCURACY_PLOT,
                    "End-to-end accuracy vs energy per MAC (Pareto front dashed)",
                    _accuracy_vs_energy)


def write_plots(summary: dict, out_dir: Path) -> dict[str, str]:
    """Write every figure into ``out_dir``; returns file name -> caption."""
    figures = _FIGURES + ((_ACCURACY_FIGURE,) if summary.get("accuracy") else ())
    for name, _, draw in figures:
        draw(summary, Path(out_dir) / name)
    return {name: caption for name, caption, _ in figures}


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both coordinates (lower is better), by x."""
    front: list[tuple[float, float]] = []
    for x, y in sorted(points):
        if not front or y < front[-1][1]:
            front.append((x, y))
    return front


def sweep_pareto(summaries: list[dict], path: Path) -> None:
    """Area per MAC/cycle vs energy per MAC of every point of a sweep (each study's headline
    workload), one marker per study, the Pareto front over all points dashed."""
    fig, ax = plt.subplots(figsize=(8.0, 5.8))
    markers = "os^Dvp<>"
    points = []
    for index, summary in enumerate(summaries):
        headline = summary["headline_workload"]
        label = f"{summary['clock_ns']:g} ns, {summary['library']['name']}"
        xs, ys = [], []
        for d in summary["designs"]:
            xs.append(d["derived"]["area_per_mac_um2"])
            ys.append(d["result"]["power"]["workloads"][headline]["energy_per_mac_pj"])
            ax.annotate(d["label"], (xs[-1], ys[-1]), textcoords="offset points",
                        xytext=(4, 3), fontsize="xx-small")
        ax.scatter(xs, ys, marker=markers[index % len(markers)], s=50, label=label)
        points += zip(xs, ys)
    front = pareto_front(points)
    ax.plot(*zip(*front), color="gray", ls="--", lw=1, label="Pareto front")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("area per MAC/cycle (um², log scale)")
    ax.set_ylabel("energy per MAC, headline workload (pJ, log scale)")
    ax.set_title("Sweep: area vs energy per MAC (lower left is better)")
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3, which="both")
    _save(fig, path)
