"""Training a classification head on the offline encoder: trainer (train_head), features (frozen layers run once), heldout (split, metrics, held-out files), shipping (head files and bundle)."""
