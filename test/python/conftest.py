"""Shared by every folder of test/python: pytest puts this folder on sys.path (import mode
"prepend"), so tests import duckdb_offline.py from here."""
