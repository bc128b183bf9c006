"""The Data set page: page.py lays out; parts.py (data, labels, jobs, rows, one row explained), heavy.py (words, heads, projector, exports), jobs.py (background jobs and their cache)."""
