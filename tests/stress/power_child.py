"""The processes of the power-cut scenario: one traced operation, or a batch of normal launches.

    python power_child.py run '{"action": "launch"|"backup"|"cli-backup"|"restore", "path": ..., "migrations": ...,
                                "source": ..., "project": ..., "marker": ...}'
    python power_child.py launch '{"paths": [...], "migrations": ...}'

``run`` does one operation as an app (or `app-db`) would and, when it
returns, creates the ``marker`` file: the trace shows that open, so the
power-cut model knows from which syscall on the caller was told "done".
Then it closes the database as the app would at its end. ``launch`` makes a
normal production launch of each file in turn (one interpreter for many
states, so the check is not all Python start-up). Both print one JSON line.
"""

import json
import os
import sys


def database_for(path, migrations):
    from app_db import Database

    return Database("PowerCutApp", path=path, migrations=migrations, env="production")


def run(options) -> dict:
    database = database_for(options["path"], options["migrations"])
    action = options["action"]
    try:
        if action == "launch":
            report = database.register_models([])
            result = {"applied": report.applied, "backup": str(report.backup) if report.backup else None}
        elif action == "backup":
            result = {"backup": str(database.backup())}
        elif action == "cli-backup":  # `app-db --database power_cut_app:database --path FILE backup`
            from app_db.cli import main as app_db

            sys.path.insert(0, options["project"])
            code = app_db(["--database", "power_cut_app:database", "--path", options["path"], "backup"])
            if code != 0:
                return {"ok": False, "exit": code}
            result = {}
        elif action == "restore":
            saved = database.restore(options["source"])
            result = {"saved": str(saved) if saved else None}
        else:
            raise SystemExit(f"unknown action {action!r}")
        os.close(os.open(options["marker"], os.O_WRONLY | os.O_CREAT, 0o644))
    finally:
        database.close()
    return {"ok": True, **result}


def launch(options) -> dict:
    from app_db import AppDbError

    results = []
    for path in options["paths"]:
        database = database_for(path, options["migrations"])
        try:
            report = database.register_models([])
            results.append({"ok": True, "applied": report.applied})
        except AppDbError as exc:
            results.append({"ok": False, "error": type(exc).__name__, "message": str(exc)})
        except Exception as exc:  # not an AppDbError: a defect the scenario reports
            results.append({"ok": False, "error": type(exc).__name__, "message": str(exc), "unexpected": True})
        finally:
            database.close()
    return {"ok": True, "results": results}


def main() -> int:
    command, options = sys.argv[1], json.loads(sys.argv[2])
    result = run(options) if command == "run" else launch(options)
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
