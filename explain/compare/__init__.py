"""Compare two models that share a tokenizer: what fine-tuning changed, per text and over a data set.

compat (can they be compared, which comparisons their shapes allow), metrics (JS divergence, linear
CKA, cosine, rank correlation), text (one text), corpus (a data set, batched), data (reading rows),
figures (plotly, shared by the page and the report), export (JSON, CSV, HTML report), cli.
"""
