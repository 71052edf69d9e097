"""Training: the run store, the worker process, and launching/stopping runs."""
