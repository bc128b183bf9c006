"""`python -m explain prefetch MODEL [MODEL ...]`: store real BERT models in the local Hugging Face cache.

Run where there is a network; afterwards the sidebar offers the models as cached and they load with
none. Only safetensors weights, config and tokenizer files are fetched (see hub_cache.PREFETCH_PATTERNS).
"""

from __future__ import annotations

import argparse

from explain.i18n import _


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="+", metavar="MODEL",
                        help=_("Hugging Face hub ids, e.g. bert-base-uncased bert-base-chinese"))
    parser.add_argument("--cache-dir", default=None,
                        help=_("cache folder (default: the Hugging Face cache, $HF_HUB_CACHE or ~/.cache/huggingface/hub)"))


def run(args: argparse.Namespace) -> int:
    """Fetch each model in turn; stop at the first error (a BertLensError: one line, exit code 2)."""
    from explain.models.hub_cache import prefetch

    for repo_id in args.models:
        model = prefetch(repo_id, cache_dir=args.cache_dir)
        print(_("{id}: cached ({type}, {size:.0f} MB) in {folder}").format(
            id=model.repo_id, type=model.model_type, size=model.size_bytes / 1e6, folder=model.snapshot))
    return 0
