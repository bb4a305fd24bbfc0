"""Markdown tables (pasteable into the README) and the goal checks."""
from __future__ import annotations

from bench.checks import SideEffects
from bench.launches import ToolRuns
from bench.stats import Summary, ratio, summarize
from bench.tools import FLOOR, FLOOR_PEEWEE, PEER_NAMES

APP_DB = "app_db"
FRESH_GOAL_N = 500
"""The issue sets the fresh-install goal at N=500 only: at small N every tool
is mostly interpreter start-up, which no runner can halve."""


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}" if seconds >= 0.1 else f"{seconds * 1000:.1f}"


def _cell(summary: Summary | None) -> str:
    if summary is None:
        return "–"
    return f"{_ms(summary.median)} ({_ms(summary.low)}–{_ms(summary.high)})"


def _ratios(values: list[float | None]) -> str:
    return " / ".join("–" if v is None else f"{v:.2f}" for v in values)


def _side_effects(tool: str, runs_at_max: ToolRuns | None, effects: SideEffects | None) -> str:
    parts = []
    if runs_at_max is not None and runs_at_max.noop_writes:
        parts.append("changes file (" + ", ".join(sorted(runs_at_max.noop_writes)) + ")")
    if effects is not None:
        if effects.fsyncs:
            parts.append(f"{effects.fsyncs} fsync")
        if effects.db_writes:
            parts.append(", ".join(f"{count} writes to {which}" for which, count in sorted(effects.db_writes.items())))
        if effects.migration_files_opened:
            parts.append(f"opens {effects.migration_files_opened} migration files")
    return "; ".join(parts) if parts else "none"


def tool_order(results: dict[int, dict[str, ToolRuns]]) -> list[str]:
    names: list[str] = []
    for runs in results.values():
        names.extend(name for name in runs if name not in names)
    return names


def noop_table(results: dict[int, dict[str, ToolRuns]], labels: dict[str, str],
               effects: dict[str, SideEffects]) -> str:
    ns = sorted(results)
    top = max(ns)
    header = ("| no-op launch, ms: median (min–max) | " + " | ".join(f"N={n}" for n in ns)
              + " | × floor+peewee, by N | × floor, by N | peak RSS at N=" + f"{top}, MB (Δ floor+peewee)"
              + f" | side effects at N={top} |")
    lines = [header, "|" + " --- |" * (len(ns) + 5)]
    for name in tool_order(results):
        cells = [_cell(summarize(results[n][name].noop)) if name in results[n] else "–" for n in ns]
        vs_peewee = [ratio(summarize(results[n][name].noop), summarize(results[n].get(FLOOR_PEEWEE, ToolRuns()).noop))
                     if name in results[n] else None for n in ns]
        vs_floor = [ratio(summarize(results[n][name].noop), summarize(results[n].get(FLOOR, ToolRuns()).noop))
                    if name in results[n] else None for n in ns]
        at_top = summarize(results[top][name].noop) if name in results[top] else None
        base = summarize(results[top].get(FLOOR_PEEWEE, ToolRuns()).noop)
        rss = "–"
        if at_top is not None:
            rss = f"{at_top.peak_rss_mib:.1f}"
            if base is not None:
                rss += f" ({at_top.peak_rss_mib - base.peak_rss_mib:+.1f})"
        lines.append(f"| {labels.get(name, name)} | " + " | ".join(cells)
                     + f" | {_ratios(vs_peewee)} | {_ratios(vs_floor)} | {rss} | "
                     + _side_effects(name, results[top].get(name), effects.get(name)) + " |")
    return "\n".join(lines)


def fresh_table(results: dict[int, dict[str, ToolRuns]], labels: dict[str, str]) -> str:
    ns = sorted(results)
    lines = ["| fresh install, ms: median (min–max) | " + " | ".join(f"N={n}" for n in ns)
             + " | × fastest peer, by N |", "|" + " --- |" * (len(ns) + 2)]
    for name in tool_order(results):
        if not any(name in results[n] and results[n][name].fresh for n in ns):
            continue
        cells = [_cell(summarize(results[n][name].fresh)) if name in results[n] else "–" for n in ns]
        vs_peer = [ratio(summarize(results[n][name].fresh), fastest_peer(results[n], "fresh")[1])
                   if name in results[n] else None for n in ns]
        lines.append(f"| {labels.get(name, name)} | " + " | ".join(cells) + f" | {_ratios(vs_peer)} |")
    return "\n".join(lines)


def fastest_peer(runs: dict[str, ToolRuns], kind: str) -> tuple[str, Summary | None]:
    best: tuple[str, Summary | None] = ("", None)
    for name in PEER_NAMES:
        if name in runs:
            summary = summarize(getattr(runs[name], kind))
            if summary is not None and (best[1] is None or summary.median < best[1].median):
                best = (name, summary)
    return best


def launch_goals(results: dict[int, dict[str, ToolRuns]], effects: dict[str, SideEffects]) -> list[str]:
    """The issue's launch goals, each as a PASS/FAIL line with its numbers."""
    lines = []
    for n in sorted(results):
        runs = results[n]
        if APP_DB not in runs:
            lines.append(f"- N={n}: app_db not measured")
            continue
        app = summarize(runs[APP_DB].noop)
        r = ratio(app, summarize(runs.get(FLOOR_PEEWEE, ToolRuns()).noop))
        peer, peer_summary = fastest_peer(runs, "noop")
        lines.append(f"- N={n} no-op ≤ 1.15 × floor+peewee: {_verdict(r is not None and r <= 1.15)} ({_ratios([r])})")
        if peer_summary is not None and app is not None:
            lines.append(f"- N={n} no-op faster than every peer: {_verdict(app.median < peer_summary.median)}"
                         f" (app_db {_ms(app.median)} ms, fastest peer {peer} {_ms(peer_summary.median)} ms)")
        fresh = summarize(runs[APP_DB].fresh)
        peer, peer_summary = fastest_peer(runs, "fresh")
        if n == FRESH_GOAL_N and fresh is not None and peer_summary is not None:
            fr = ratio(fresh, peer_summary)
            lines.append(f"- N={n} fresh ≤ 0.5 × fastest peer ({peer}): {_verdict(fr is not None and fr <= 0.5)}"
                         f" ({_ratios([fr])})")
    top = max(results)
    if APP_DB in results[top]:
        app = summarize(results[top][APP_DB].noop)
        base = summarize(results[top].get(FLOOR_PEEWEE, ToolRuns()).noop)
        if app is not None and base is not None:
            delta = app.peak_rss_mib - base.peak_rss_mib
            lines.append(f"- N={top} peak RSS within 3 MB of floor+peewee: {_verdict(delta <= 3)} ({delta:+.1f} MB)")
        writes = results[top][APP_DB].noop_writes
        lines.append(f"- no-op leaves file bytes and mtime unchanged: {_verdict(not writes)}"
                     + (f" ({', '.join(sorted(writes))})" if writes else ""))
        effect = effects.get(APP_DB)
        if effect is not None:
            if effect.fsyncs is not None:
                lines.append(f"- no-op calls no fsync: {_verdict(effect.fsyncs == 0)} ({effect.fsyncs})")
            if effect.db_writes is not None:
                main = effect.db_writes.get("db", 0) + effect.db_writes.get("-wal", 0) + effect.db_writes.get("-journal", 0)
                lines.append(f"- no-op writes nothing to the database or its journal: {_verdict(main == 0)}"
                             f" ({effect.db_writes or 'no writes'}; -shm is SQLite's WAL index, shared memory)")
            lines.append(f"- no-op opens no migration file: {_verdict(effect.migration_files_opened == 0)}"
                         f" ({effect.migration_files_opened})")
    return lines


def _cpu_ratio(samples: list, base: list) -> float | None:
    """Median CPU time (user + system) of ``samples`` over that of ``base``: steadier than wall time under load."""
    import statistics

    if not samples or not base or not all(s.cpu_seconds for s in samples + base):
        return None
    return statistics.median(s.cpu_seconds for s in samples) / statistics.median(s.cpu_seconds for s in base)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


MAX_SILENT_SHARE = 0.5
"""Progress counts as reported *during* the long step when no stretch without
a report is longer than this share of the run: one report at the start of a
step that then works silently does not count."""


def upgrade_table(scenarios: list) -> str:
    """One row per scenario variant: time, ratio to raw SQLite, progress."""
    lines = ["| large upgrade | what | s: median (min–max) | × raw | peak RSS, MB | progress reports; longest gap, s (share of run) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for scenario in scenarios:
        base = summarize(scenario.samples.get("raw", []))
        for variant, samples in scenario.samples.items():
            summary = summarize(samples)
            assert summary is not None
            what = scenario.baseline if variant == "raw" else variant
            cell = f"{summary.median:.2f} ({summary.low:.2f}–{summary.high:.2f})"
            progress = "–"
            if variant in scenario.silences:
                counts = scenario.progress_counts[variant]
                progress = (f"{min(counts)}–{max(counts)}; {max(scenario.silences[variant]):.2f}"
                            f" ({max(scenario.silent_shares[variant]):.0%})")
            lines.append(f"| {scenario.title} | {what} | {cell} | {_ratios([ratio(summary, base)])} "
                         f"| {summary.peak_rss_mib:.0f} | {progress} |")
    return "\n".join(lines)


def upgrade_goals(scenarios: list) -> list[str]:
    lines = []
    for scenario in scenarios:
        base = summarize(scenario.samples.get("raw", []))
        for variant, samples in scenario.samples.items():
            if not variant.startswith("app_db"):
                continue  # raw, or another reference shown beside it
            r = ratio(summarize(samples), base)
            if scenario.goal_variants is not None and variant not in scenario.goal_variants:
                reference = scenario.references.get(variant)
                by_hand = ratio(summarize(samples), summarize(scenario.samples.get(reference, [])))
                lines.append(f"- {scenario.title}, {variant}: {_ratios([r])} × raw"
                             + (f", {_ratios([by_hand])} × {reference}" if reference else "")
                             + f" (for reference; the goal is for {', '.join(scenario.goal_variants)})")
                continue
            cpu = _cpu_ratio(samples, scenario.samples.get("raw", []))
            lines.append(f"- {scenario.title}, {variant} ≤ {scenario.goal:g} × raw: "
                         f"{_verdict(r is not None and r <= scenario.goal)}"
                         f" ({_ratios([r])}; CPU time {_ratios([cpu])})")
            if variant in scenario.silences and scenario.long_step:
                share = max(scenario.silent_shares[variant])
                lines.append(f"- {scenario.title}, {variant} reports progress during the long step "
                             f"(no gap over {MAX_SILENT_SHARE:.0%} of the run): {_verdict(share <= MAX_SILENT_SHARE)}"
                             f" (longest gap {max(scenario.silences[variant]):.2f} s, {share:.0%})")
    return lines


def first_window_table(result) -> str:
    """The demo's time to first window on a large notebook, after an upgrade and on the launch after it."""
    lines = [f"| demo app, {result.notes:,} notes: time to first window | s: median (min–max) | peak RSS, MB |",
             "| --- | --- | --- |"]
    for variant, samples in result.samples.items():
        summary = summarize(samples)
        assert summary is not None
        what = f"after an upgrade ({result.pending} migrations, backup first)" if variant == "after an upgrade" else variant
        lines.append(f"| {what} | {summary.median:.2f} ({summary.low:.2f}–{summary.high:.2f}) "
                     f"| {summary.peak_rss_mib:.0f} |")
    return "\n".join(lines)
