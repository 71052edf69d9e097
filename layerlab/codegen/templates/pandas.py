"""Template: pandas, for the kinds that read a table (table, text, series)."""

# ---- the script starts here ----
import pandas as pd  # noqa: F401
