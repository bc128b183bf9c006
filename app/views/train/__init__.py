"""The Train a head page: page.py lays out; jobs.py runs training in a queue of background jobs."""
