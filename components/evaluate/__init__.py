"""The Evaluate page's parts, one module per purpose; `sections` lays them out per task."""
