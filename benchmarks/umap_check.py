"""Is UMAP worth its dependency for the data-set projector? Time it against our PCA on the same features.

    pip install umap-learn==0.5.12      # in a separate environment: it pulls numba + llvmlite (~150 MB)
    python benchmarks/umap_check.py

Features: the sentiment head's input (pooled [CLS], 384-D) of the 897 shipped held-out texts of the
three heads; the 5,000-row set adds seeded jittered copies of them (Gaussian noise, 0.1 x each
dimension's spread), which keeps their neighbourhood structure. Times are wall seconds and process
CPU seconds (less sensitive to other jobs on a shared machine); the first UMAP call includes numba's
compilation, which every new app process pays once.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, round(time.perf_counter() - wall, 2), round(time.process_time() - cpu, 2)


def main() -> None:
    from explain import load_model
    from explain.dataset.evaluate import evaluate
    from explain.dataset.projector import pca
    from explain.dataset.reader import read_rows, rows_from_texts
    from explain.models.heads import HEADS_DIR

    bundle = load_model("MiniLM + movie-review sentiment head (rotten/fresh)")
    texts = []
    for name in ("minilm-sentiment/heldout.jsonl", "minilm-wordnet/heldout.jsonl", "minilm-mlm/heldout-mlm.jsonl"):
        path = HEADS_DIR / name
        texts += list(read_rows(path).texts) if "mlm" not in name else [
            json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()]
    feats = evaluate(bundle, rows_from_texts(texts, ["fresh"] * len(texts)), max_tokens=64).features
    rng = np.random.default_rng(0)
    extra = feats[rng.integers(0, len(feats), 5000 - len(feats))]
    big = np.vstack([feats, extra + rng.normal(size=extra.shape) * 0.1 * feats.std(0)])
    sets = {"300": feats[:300], "5000": big}
    out = {"load_average_1min": [round(os.getloadavg()[0], 2)], "numba_threads": None}
    import numba
    import umap

    out["numba_threads"] = numba.config.NUMBA_NUM_THREADS
    _, wall, cpu = timed(lambda: umap.UMAP(n_components=2, random_state=None).fit_transform(feats[:100]))
    out["umap_first_call_100_rows_with_compilation"] = {"wall": wall, "cpu": cpu}
    for name, x in sets.items():
        for k in (2, 3):
            _, wall, cpu = timed(lambda x=x, k=k: pca(x, k))
            out[f"pca_{k}d_{name}"] = {"wall": wall, "cpu": cpu}
            _, wall, cpu = timed(lambda x=x, k=k: umap.UMAP(n_components=k, random_state=None).fit_transform(x))
            out[f"umap_{k}d_{name}"] = {"wall": wall, "cpu": cpu}
    out["load_average_1min"].append(round(os.getloadavg()[0], 2))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
