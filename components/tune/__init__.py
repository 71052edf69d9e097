"""The Tune page's parts: what to search and the budget (setup), and the live study (live)."""
