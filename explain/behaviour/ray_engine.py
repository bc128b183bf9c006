"""`python -m explain stress --engine ray`: the suite's texts predicted on Ray Data (optional dependency).

    ray.data.from_items(texts with their index) -> map_batches(TextPredictor, concurrency=actors)

`TextPredictor` is a callable class: each actor loads the model once in `__init__` and runs
`explain.behaviour.predict.predict_texts` on every batch (the same tokenization, batching and
padding as the local engine, so the failure rates are the same). The driver builds the cases,
collects the predictions by index and scores them. Ray is started as for `evaluate --engine ray`
(`explain.dataset.ray_engine.start_ray`: a local Ray, or `--ray-address` to join a cluster).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from explain.behaviour.predict import Predictions, cut_notice
from explain.behaviour.results import Entity
from explain.dataset.batching import token_limit
from explain.dataset.ray_engine import require_ray, start_ray
from explain.run import _frozen

__all__ = ["TextPredictor", "ray_predictor", "require_ray"]


class TextPredictor:
    """Ray Data callable class: the model loaded once per actor; a pandas batch of texts -> predictions."""

    def __init__(self, spec: str, max_tokens: int | None, threads: int = 1):
        import torch

        from explain.models.catalog import load_model

        torch.set_num_threads(max(1, threads))
        self.bundle = load_model(spec)
        self.max_tokens = max_tokens

    def __call__(self, batch):
        import pandas as pd

        from explain.behaviour.predict import predict_texts

        preds = predict_texts(self.bundle, [str(t) for t in batch["text"]], self.max_tokens)
        out = pd.DataFrame({"id": batch["id"].to_numpy(), "n_tokens": preds.n_tokens,
                            "truncated": preds.truncated})
        if preds.probs is not None:
            out["probs"] = list(preds.probs)
        else:
            out["entities"] = [json.dumps([[e.type, e.start, e.end, e.text] for e in row]) for row in preds.entities]
        return out


def ray_predictor(bundle, args):
    """texts -> Predictions computed by `args.ray_actors` Ray actors (each loads `args.model` once)."""

    def predict(texts: Sequence[str]) -> Predictions:
        ray = start_ray(args.ray_address, args.ray_actors + 1)
        texts = tuple(texts)
        ds = ray.data.from_items([{"id": i, "text": t} for i, t in enumerate(texts)])
        done = ds.map_batches(TextPredictor, fn_constructor_args=(args.model, args.max_tokens, 1),
                              batch_size=args.ray_batch_rows, batch_format="pandas", num_cpus=1,
                              compute=ray.data.ActorPoolStrategy(size=args.ray_actors))
        N = len(texts)
        tagger = bundle.task == "token-classification"
        probs = None if tagger else np.zeros((N, len(bundle.labels)))
        found: list = [()] * N
        n_tokens, truncated = np.zeros(N, dtype=np.int64), np.zeros(N, dtype=bool)
        for batch in done.iter_batches(batch_format="pandas", batch_size=4096):
            ids = batch["id"].to_numpy()
            n_tokens[ids], truncated[ids] = batch["n_tokens"].to_numpy(), batch["truncated"].to_numpy()
            if tagger:
                for i, row in zip(ids, batch["entities"]):
                    found[i] = tuple(Entity(k, int(a), int(b), s) for k, a, b, s in json.loads(row))
            else:
                probs[ids] = np.stack(batch["probs"].to_numpy())
        limit = token_limit(bundle, args.max_tokens)
        return Predictions(texts=texts, probs=None if probs is None else _frozen(probs),
                           entities=tuple(found) if tagger else None, n_tokens=_frozen(n_tokens),
                           truncated=_frozen(truncated), max_tokens=limit, notices=cut_notice(truncated, limit))

    return predict
