"""Summaries of samples: medians, ranges, ratios."""
from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.launch import Sample


@dataclass(frozen=True)
class Summary:
    median: float
    low: float
    high: float
    peak_rss_mib: float
    count: int


def summarize(samples: list[Sample]) -> Summary | None:
    if not samples:
        return None
    seconds = [s.seconds for s in samples]
    rss = statistics.median(s.peak_rss_kib for s in samples) / 1024
    return Summary(statistics.median(seconds), min(seconds), max(seconds), rss, len(samples))


def ratio(value: Summary | None, base: Summary | None) -> float | None:
    if value is None or base is None or base.median == 0:
        return None
    return value.median / base.median
