"""The BERT Lens app (Streamlit): pages that only lay out what `explain` computes.

This folder is installed as the package `bert_lens` (pyproject.toml maps app/ to that name, so a wheel
puts no generic `app` package into site-packages): import it as `bert_lens`, never as `app`. Entry
points: main.py (the pages), serve.py (the server with a warm-up), launch.py (`bert-lens serve`).
"""
