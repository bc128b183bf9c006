"""Training a classification head on the offline encoder (trainer)."""
