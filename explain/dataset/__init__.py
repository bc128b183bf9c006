"""Labelled data sets: read them, evaluate a classifier on them, and explain it in aggregate.

Modules (each docstring has the details; none imports Streamlit):
  reader       read_rows / scan_rows / stream_rows: CSV, TSV, JSONL (text, text_pair, label); Rows;
               read_labelled_csv for the Train page. parse: the line-level parsing behind them.
  labels       match_labels: data labels -> model classes (name, case, id, label_map); LabelMismatch.
  batching     encode_rows (tokenized like the single-sentence pages), length_batches, pad_batch.
  evaluate     evaluate -> Evaluation (predictions, probabilities, loss, head input, metrics);
               concat_evaluations for streamed chunks.
  metrics      classification_metrics: accuracy, macro-F1, per class, confusion, ECE + reliability bins.
  tagging      evaluate_tagging -> TaggingEvaluation for token classifiers (tags per word);
  entities     entity_metrics: seqeval-style entity precision/recall/F1.
  attributions dataset_attributions -> DatasetAttributions: any method of METHODS per row (adaptive IG
               by default), merged to words, with the steps used and the completeness deltas.
  words        tally_words / summarize_words / word_summary: per-class words and possible shortcuts
               (log-odds ratio with an informative Dirichlet prior, Monroe et al. 2008).
  heads        dataset_head_importance (Michel et al. 2019) and pruning_curve.
  projector    pca: 2-D / 3-D PCA of the head's input representation.
  progress     the progress(done, total) / cancel (threading.Event) contract of every long call.
  figures      plotly figures of the results (confusion matrix, reliability, words, heads, projector).
  export       predictions JSONL, inert CSV tables, metrics.json, the standalone HTML report.
  stream       evaluate_file / explain_file: a file of any size in chunks, flat memory (the CLI).
  chunk        explain_sample (the seeded rows to explain) and explain_chunk / prune_chunk: one chunk's
               explanations, the same function for both engines; parts: their mergeable sums
               (WordTally, HeadSums, PruneCounts, ChunkParts).
  cli          `python -m explain evaluate`; ray_engine: its `--engine ray` (Ray Data, optional), with
               rowfile (the data as Parquet shards keyed by row id) and ray_explain (the explanations
               in Ray actors).
"""
