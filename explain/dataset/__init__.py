"""Labelled data sets: reading text/label files (reader)."""
