"""Launch time against N for every tool, as a PNG for the docs."""
from __future__ import annotations

from pathlib import Path

from bench.launches import ToolRuns
from bench.report import tool_order
from bench.stats import summarize


def plot_launch_times(results: dict[int, dict[str, ToolRuns]], labels: dict[str, str], machine: str,
                      out: Path) -> None:
    """Median no-op and fresh launch (min–max as error bars), log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = sorted(results)
    names = tool_order(results)
    colors = {name: f"C{index}" for index, name in enumerate(names)}  # same colour in both panels
    fig, (noop_ax, fresh_ax) = plt.subplots(1, 2, figsize=(12, 5.2))
    for name in names:
        for ax, kind in ((noop_ax, "noop"), (fresh_ax, "fresh")):
            points = [(n, summarize(getattr(results[n][name], kind))) for n in ns if name in results[n]]
            points = [(n, s) for n, s in points if s is not None]
            if not points:
                continue
            xs = [n for n, _ in points]
            medians = [s.median * 1000 for _, s in points]
            errors = [[(s.median - s.low) * 1000 for _, s in points], [(s.high - s.median) * 1000 for _, s in points]]
            style: dict = {"color": colors[name]}
            style |= {"linestyle": "--", "linewidth": 1.2} if name.startswith("floor") else {"linewidth": 2}
            if name == "app_db":
                style["linewidth"] = 3
            ax.errorbar(xs, medians, yerr=errors, marker="o", capsize=3, label=labels.get(name, name), **style)
    noop_ax.set_title("Launch with nothing pending")
    fresh_ax.set_title("Fresh install (apply all N)")
    for ax in (noop_ax, fresh_ax):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.set_xlabel("N, migrations in the project")
        ax.set_ylabel("whole-process time, ms (median, min–max)")
        ax.grid(True, which="both", alpha=0.3)
    noop_ax.legend(fontsize=8)
    fig.suptitle(machine, fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
