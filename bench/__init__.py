"""Benchmark harness: app_db against the floors and peer migration tools.

Run it with ``python -m bench``; see ``python -m bench --help``. Every
measurement is a whole ``python`` process, because what a desktop app pays
is the time from exec to the first query, imports included.
"""
