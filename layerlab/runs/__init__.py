"""Runs: the SQLite run store, the launcher of worker processes, the worker itself and the files of a run folder."""
