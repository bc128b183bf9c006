"""Compare models A and B over a data set: which heads changed, from which layer on the representations part.

Rows are run in batches (several rows per forward pass, padded, with attention masks; rows of similar
length batched together), the same way `run_model` runs one row, so padding changes no result beyond
float rounding (padded keys get exactly zero attention; padded queries and tokens are left out).

Shape glossary: N rows, L layers, H heads; hidden state k is the embedding output (k = 0) or the
output of layer k - 1.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from explain.compare.compat import Compatibility, check_compatible
from explain.compare.metrics import CkaAccumulator, js_divergence_torch
from explain.compare.text import CLASSIFICATION_TASKS, top_heads
from explain.errors import InputError
from explain.i18n import _
from explain.models.arch import encoder_of
from explain.models.checkpoint import ModelBundle
from explain.run import MAX_TEXT_CHARS, _frozen

ATTENTION_BYTES = 64_000_000  # per model and batch: bounds rows x T^2 x L x H
MAX_BATCH_ROWS = 64
MAX_BATCH_TOKENS = 4096


@dataclass(frozen=True, eq=False)
class DatasetComparison:
    """A and B over N rows. Arrays are read-only; None where the shapes do not allow it (see compat).

    Attributes:
        texts, text_pairs: the rows compared, (N,).
        js_rows: per row and head, the Jensen-Shannon divergence (bits, in [0, 1]) between A's and B's
            attention rows, averaged over the row's query tokens, (N, L, H).
        js: js_rows averaged over the rows (each row counts once), (L, H).
        cka_matrix: linear CKA (Kornblith et al. 2019) between A's hidden state i and B's hidden state j
            over all tokens of all rows (special tokens included, padding not), (La + 1, Lb + 1);
            only the diagonal is computed when the depths are equal (others nan).
        cosine: mean cosine similarity of A's and B's hidden state of a token, over all tokens, (L + 1,).
        predicted_a, predicted_b: class index per row, (N,), for models with a sequence classifier.
        labels_a, labels_b: their class names.
        gold: the data's labels, when it has them, (N,).
        n_tokens: tokens compared in all (after truncation); truncated: rows cut to the models' maximum.
        seconds: wall time of the comparison.
    """

    name_a: str
    name_b: str
    compat: Compatibility
    texts: tuple[str, ...]
    text_pairs: tuple[str | None, ...]
    js_rows: np.ndarray | None
    js: np.ndarray | None
    cka_matrix: np.ndarray
    cosine: np.ndarray | None
    predicted_a: np.ndarray | None
    predicted_b: np.ndarray | None
    labels_a: tuple[str, ...]
    labels_b: tuple[str, ...]
    gold: tuple[str, ...] | None
    n_tokens: int
    truncated: int
    seconds: float

    @property
    def n_rows(self) -> int:
        return len(self.texts)

    @property
    def cka(self) -> np.ndarray | None:
        """CKA between hidden state k of A and of B, (L + 1,); None when depths differ."""
        return np.diagonal(self.cka_matrix).copy() if self.compat.same_layers else None

    def top_heads(self, k: int = 10) -> list[tuple[int, int, float]]:
        """The k heads whose attention changed most on average, as (layer, head, mean JS), largest first."""
        return top_heads(self.js, k)

    def rows_for_head(self, layer: int, head: int, k: int = 10) -> list[int]:
        """The k rows where this head's attention changed most, largest JS first."""
        if self.js_rows is None:
            return []
        return [int(i) for i in np.argsort(-self.js_rows[:, layer, head], kind="stable")[:k]]

    @property
    def agreement(self) -> float | None:
        """Share of rows where A and B predict the same class (same label set only)."""
        if self.predicted_a is None or self.predicted_b is None or self.labels_a != self.labels_b:
            return None
        return float(np.mean(self.predicted_a == self.predicted_b))

    def accuracy(self, which: str) -> float | None:
        """Accuracy of A ("a") or B ("b") against the data's labels, when every gold label is one of its classes."""
        predicted, labels = (self.predicted_a, self.labels_a) if which == "a" else (self.predicted_b, self.labels_b)
        if predicted is None or self.gold is None or not set(self.gold) <= set(labels):
            return None
        return float(np.mean([labels[p] == g for p, g in zip(predicted, self.gold)]))


def compare_dataset(
    a: ModelBundle,
    b: ModelBundle,
    texts: Sequence[str],
    text_pairs: Sequence[str | None] | None = None,
    gold: Sequence[str] | None = None,
    *,
    compat: Compatibility | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_batch_rows: int = MAX_BATCH_ROWS,
) -> DatasetComparison:
    """Compare A and B over many rows: mean JS per head, CKA and cosine per layer, predictions.

    Rows are sorted by length and run in padded batches; `progress(rows_done, rows_total)` is called
    after each batch. Texts longer than the models read are truncated like `run_model` does.

    Raises:
        InputError: no rows, an empty text, or A and B do not share a tokenizer.
    """
    started = time.perf_counter()
    compat = compat or check_compatible(a, b)
    texts = tuple(texts)
    pairs = tuple(text_pairs) if text_pairs is not None else (None,) * len(texts)
    if not texts:
        raise InputError(_("The data set has no rows."))
    if len(pairs) != len(texts) or (gold is not None and len(gold) != len(texts)):
        raise InputError(_("Texts, second texts and labels must have one entry per row."))
    encoded, truncated = _encode_all(a, b, texts, pairs)
    order = np.argsort([len(e["input_ids"]) for e in encoded], kind="stable")
    L, H = compat.layers[0], compat.heads[0]
    js_rows = np.zeros((len(texts), L, H)) if compat.same_heads else None
    La, Lb = compat.layers
    pairs_cka = [(k, k) for k in range(La + 1)] if compat.same_layers else [
        (i, j) for i in range(La + 1) for j in range(Lb + 1)]
    cka = CkaAccumulator(pairs_cka)
    cos_sum = np.zeros(La + 1) if compat.same_width else None
    n_tokens = 0
    predicted = {"a": np.full(len(texts), -1), "b": np.full(len(texts), -1)}
    done = 0
    for rows in _batches(order, encoded, compat, max_batch_rows):
        batch = _pad([encoded[i] for i in rows], a.tokenizer.pad_token_id or 0)
        mask = batch["attention_mask"].bool()
        out_a = _forward(a, batch)
        out_b = _forward(b, batch)
        if js_rows is not None:
            q = mask.double()  # (B, T): real query tokens
            for layer in range(L):
                js = js_divergence_torch(out_a.attentions[layer], out_b.attentions[layer])  # (B, H, T)
                js_rows[rows, layer] = ((js * q[:, None]).sum(-1) / q.sum(-1, keepdim=True)).numpy()
        hs_a = torch.stack(out_a.hidden_states)[:, mask]  # (La + 1, n, D): real tokens only
        hs_b = torch.stack(out_b.hidden_states)[:, mask]
        cka.add(hs_a, hs_b)
        if cos_sum is not None:
            cos_sum += _cosine_sums(hs_a, hs_b)
        n_tokens += int(mask.sum())
        for side, bundle, out in (("a", a, out_a), ("b", b, out_b)):
            if bundle.task == "sequence-classification":
                predicted[side][rows] = out.logits.argmax(-1).numpy()
        done += len(rows)
        if progress is not None:
            progress(done, len(texts))
    result = cka.result()
    matrix = np.full((La + 1, Lb + 1), np.nan)
    for (i, j), value in result.items():
        matrix[i, j] = value
    has = {s: bundle.task == "sequence-classification" for s, bundle in (("a", a), ("b", b))}
    return DatasetComparison(
        name_a=a.name,
        name_b=b.name,
        compat=compat,
        texts=texts,
        text_pairs=pairs,
        js_rows=None if js_rows is None else _frozen(js_rows),
        js=None if js_rows is None else _frozen(js_rows.mean(0)),
        cka_matrix=_frozen(matrix),
        cosine=None if cos_sum is None else _frozen(cos_sum / max(n_tokens, 1)),
        predicted_a=_frozen(predicted["a"]) if has["a"] else None,
        predicted_b=_frozen(predicted["b"]) if has["b"] else None,
        labels_a=tuple(a.labels),
        labels_b=tuple(b.labels),
        gold=None if gold is None else tuple(str(g) for g in gold),
        n_tokens=n_tokens,
        truncated=truncated,
        seconds=time.perf_counter() - started,
    )


def _cosine_sums(hs_a: torch.Tensor, hs_b: torch.Tensor) -> np.ndarray:
    """Per layer, the sum over tokens of cos(a_token, b_token); hs (L + 1, n, D). Equal layers count n exactly."""
    sums = np.zeros(hs_a.shape[0])
    for k in range(hs_a.shape[0]):
        if torch.equal(hs_a[k], hs_b[k]):
            sums[k] = float(hs_a.shape[1])
        else:
            cos = torch.nn.functional.cosine_similarity(hs_a[k], hs_b[k], dim=-1)
            sums[k] = float(cos.double().sum())
    return sums


def _encode_all(a: ModelBundle, b: ModelBundle, texts, pairs) -> tuple[list[dict], int]:
    """Token ids of every row, as `explain.run.encode` makes them (stripped, truncated), unpadded."""
    max_length = min(a.max_tokens, b.max_tokens)
    clean, clean_pairs = [], []
    for n, (text, pair) in enumerate(zip(texts, pairs), start=1):
        if text is None or not str(text).strip():
            raise InputError(_("Row {n} has an empty text: fill it in or remove it.").format(n=n))
        clean.append(str(text).strip()[:MAX_TEXT_CHARS])
        clean_pairs.append(str(pair).strip()[:MAX_TEXT_CHARS] if pair and str(pair).strip() else None)
    tok = a.tokenizer
    encoded, truncated = [], 0
    for text, pair in zip(clean, clean_pairs):
        enc = tok(text, pair, truncation=False, verbose=False)
        if len(enc["input_ids"]) > max_length:
            truncated += 1
            enc = tok(text, pair, truncation=True, max_length=max_length)
        encoded.append({"input_ids": enc["input_ids"], "token_type_ids": enc.get("token_type_ids")})
    return encoded, truncated


def _pad(rows: list[dict], pad_id: int) -> dict:
    """Right-padded (B, T) tensors: input ids, attention mask (1 = real token) and token types."""
    T = max(len(r["input_ids"]) for r in rows)
    ids = torch.full((len(rows), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), T), dtype=torch.long)
    types = torch.zeros((len(rows), T), dtype=torch.long)
    for k, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[k, :n] = torch.tensor(r["input_ids"])
        mask[k, :n] = 1
        if r["token_type_ids"] is not None:
            types[k, :n] = torch.tensor(r["token_type_ids"])
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def _batches(order: np.ndarray, encoded: list[dict], compat: Compatibility, max_rows: int):
    """Rows in length order, grouped so a batch's padded tokens and attention weights stay bounded."""
    L, H = max(compat.layers), max(compat.heads)
    rows: list[int] = []
    for i in order:
        t = len(encoded[i]["input_ids"])  # the longest so far (sorted), so the batch pads to t
        cap = max(1, min(max_rows, MAX_BATCH_TOKENS // t, ATTENTION_BYTES // (4 * L * H * t * t)))
        if rows and len(rows) + 1 > cap:
            yield np.array(rows)
            rows = []
        rows.append(int(i))
    if rows:
        yield np.array(rows)


def _forward(bundle: ModelBundle, batch: dict):
    """One batched pass with attentions and hidden states, through the same module `run_model` uses."""
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    if bundle.arch.has_token_types:
        inputs["token_type_ids"] = batch["token_type_ids"]
    with torch.inference_mode():
        if bundle.task in CLASSIFICATION_TASKS:
            return bundle.model(**inputs, output_attentions=True, output_hidden_states=True)
        return encoder_of(bundle.model)(**inputs, output_attentions=True, output_hidden_states=True)
