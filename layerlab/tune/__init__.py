"""Tuning: Optuna studies whose trials are ordinary runs (space, study, driver, results)."""
