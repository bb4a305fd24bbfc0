#!/bin/sh
# Rebuild the previous release's wheel that tests/test_newer_upgrade.py opens upgraded files with.
#
# The previous release is the code of commit 606ab1a (app_db 0.1.0 before the tracking table
# recorded app versions). The wheel is kept in the repository so the test needs no git history
# (CI's clone may be shallow): run this only to rebuild it, in a full clone.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$here/../../.." archive 606ab1a | tar -x -C "$work"
rm -f "$here"/app_db-*.whl
python -m pip wheel --quiet --no-deps --wheel-dir "$here" "$work"
ls "$here"/app_db-*.whl
