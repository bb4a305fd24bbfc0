"""One app launch in a process of its own, as the stress scenarios start it.

    python child.py '{"path": ..., "migrations": ..., ...}'

Options (all but path and migrations optional): env, barrier (a folder: write
ready-<pid>, then wait for its "go" file), fsize (RLIMIT_FSIZE in bytes, with
SIGXFSZ ignored so a write fails with EFBIG instead of killing us), uid (drop
to this user first), phases (a file that gets one line per phase, O_APPEND).
Prints one JSON line: {"ok": true, "applied": [...]} or {"ok": false,
"error": class name, "message": ...}, and exits 0 or 1.
"""

import json
import os
import signal
import sys
import time


def note(phases, text):
    if phases:
        fd = os.open(phases, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, (text + "\n").encode())
        finally:
            os.close(fd)


def main() -> int:
    options = json.loads(sys.argv[1])
    if options.get("fsize") is not None:
        import resource  # POSIX only, as the disk-full scenario that passes fsize is

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (options["fsize"], options["fsize"]))
    if options.get("uid") is not None:
        # The interpreter lives under /root (mode 0700): import everything a
        # launch needs while still root, then become an ordinary user.
        import importlib

        for module in ("app_db", "app_db.runner", "app_db.backup", "app_db.tracking", "app_db.connection",
                       "peewee", "playhouse.migrate", "platformdirs", "sqlite3", "logging", "datetime",
                       "importlib.util", "importlib.resources", "hashlib", "inspect", "textwrap", "_strptime"):
            importlib.import_module(module)
        os.setgroups([])
        os.setgid(options["uid"])
        os.setuid(options["uid"])
    from app_db import AppDbError, Database

    phases = options.get("phases")

    def progress(index, total, migration):
        note(phases, f"migrating {index}/{total} {migration.id}")

    database = Database(
        "StressApp",
        path=options["path"],
        migrations=options["migrations"],
        env=options.get("env", "production"),
        on_progress=progress,
    )
    barrier = options.get("barrier")
    if barrier:
        open(os.path.join(barrier, f"ready-{os.getpid()}"), "w").close()
        go = os.path.join(barrier, "go")
        deadline = time.monotonic() + 600  # the starter died or hangs: do not spin for ever
        while not os.path.exists(go):
            if time.monotonic() > deadline:
                print(json.dumps({"ok": False, "error": "Timeout", "message": f"no {go} after 600 s", "path": None}), flush=True)
                return 1
            time.sleep(0.0005)
    print("ready", flush=True)
    note(phases, "start")
    started = time.perf_counter()
    try:
        report = database.register_models([])
    except AppDbError as exc:
        note(phases, "failed")
        print(json.dumps({"ok": False, "error": type(exc).__name__, "message": str(exc),
                          "path": str(exc.path) if exc.path else None}), flush=True)
        return 1
    except Exception as exc:  # not an AppDbError: a defect the scenario must report
        note(phases, "crashed")
        print(json.dumps({"ok": False, "error": type(exc).__name__, "message": str(exc), "path": None,
                          "unexpected": True}), flush=True)
        return 1
    finally:
        database.close()
    note(phases, "done")
    print(json.dumps({"ok": True, "applied": report.applied, "seconds": time.perf_counter() - started,
                      "backup": str(report.backup) if report.backup else None}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
