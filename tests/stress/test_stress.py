"""The reliability scenarios at the scale $APP_DB_STRESS names (short: the CI default; full: the published figures)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from . import scenarios
from .properties import property_round_trips
from .scenarios import Outcome, current_scale

pytestmark = pytest.mark.stress

RUNS = scenarios.SCALES[current_scale()]


@pytest.fixture(scope="module")
def work():
    """A folder that the unprivileged child (uid 65534) can reach; pytest's own are root-only."""
    root = Path(tempfile.mkdtemp(prefix="app-db-stress-"))
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def reference(work):
    """The populated file before the batch, and the states before and after it, computed once."""
    return scenarios.build_reference(work / "reference")


def assert_survived(outcome: Outcome) -> None:
    assert outcome.runs > 0
    assert outcome.failures == [] and outcome.survived == outcome.runs, "\n".join(outcome.failures)


def test_sigkill_at_random_points_leaves_the_state_before_or_after_never_between(reference):
    assert_survived(scenarios.kill_at_random_points(reference, RUNS["kill"]))


def test_simultaneous_launches_run_each_migration_once_and_never_report_locked(work):
    assert_survived(scenarios.simultaneous_launches(work / "simultaneous", RUNS["simultaneous"]))


@pytest.mark.posix_only(reason="RLIMIT_FSIZE (the resource module) stands in for a full disk")
def test_disk_full_at_any_point_raises_disk_full_and_loses_nothing(reference):
    assert_survived(scenarios.disk_full(reference, RUNS["disk_full"]))


@pytest.mark.needs_root(reason="drops privileges to 'nobody'")
def test_not_writable_files_and_folders_raise_a_clear_error_naming_the_path(reference):
    assert_survived(scenarios.not_writable(reference))


def test_bad_migration_files_are_refused_naming_the_file_before_any_change(reference):
    assert_survived(scenarios.bad_migration_files(reference))


def test_newer_corrupt_empty_and_crashed_files_are_each_handled(reference):
    assert_survived(scenarios.unusual_files(reference))


def test_random_operation_sequences_round_trip_through_up_and_down(work):
    assert_survived(property_round_trips(RUNS["properties"], work / "properties"))
