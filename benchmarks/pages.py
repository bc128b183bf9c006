"""Page rerun time after a text edit, per page, measured through the real app with AppTest.

    python benchmarks/pages.py                      # every page at 64/128/512 tokens
    python benchmarks/pages.py --tokens 128 --pages attention masked --repeats 5

What is timed: the sidebar's text is replaced by a new text of exactly T tokens ([CLS] and [SEP]
included; a different text each time and caches emptied per page, so no cache answers) and the app
reruns: `AppTest.run()`,
the same script run a browser's edit triggers (forward pass, the open view's work, figures), without
the browser's drawing. Each page is opened on its cheapest view (PAGES) after one warm-up edit.
The goal (issue 11): at most 0.3 s at 128 tokens on the default model's pages.

`page_rerun_times(...)` returns the numbers for benchmarks/run.py to put in its table.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TEXT_FILE = ROOT / "assets" / "heads" / "minilm-sentiment" / "heldout.jsonl"
DEFAULT_MODEL = "all-MiniLM-L6-v2 (offline default)"
MLM_HEAD = "all-MiniLM-L6-v2 + BERT Lens MLM head"
SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"


@dataclass(frozen=True)
class PageSetup:
    """A page on its cheapest view: the model it needs (None: the default) and widget values to set."""

    model: str | None = None
    state: dict = field(default_factory=dict)


# Cheapest view of each page. The default model has no MLM or classification head, so those pages
# would stop at their "choose a model that has one" message: they are measured with the shipped heads.
PAGES: dict[str, PageSetup] = {
    "tokens": PageSetup(),
    "embeddings": PageSetup(state={"emb.view": "This sentence"}),
    "attention": PageSetup(state={"attn.view": "One head"}),
    "masked": PageSetup(model=MLM_HEAD, state={"mlm.view": "fill"}),
    "attributions": PageSetup(model=SENTIMENT, state={"attr.view": "Explain", "attr.method": "saliency"}),
    "train": PageSetup(),
}


@dataclass(frozen=True)
class PageTiming:
    page: str
    tokens: int
    model: str
    seconds: tuple[float, ...]  # one per edit

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def corpus_texts() -> list[str]:
    """Real held-out review sentences (Pang & Lee, shipped with the sentiment head)."""
    return [json.loads(line)["text"] for line in TEXT_FILE.read_text().splitlines() if line.strip()]


def text_of_length(tokenizer, source: str, tokens: int) -> str:
    """A prefix of `source` that tokenizes to exactly `tokens` tokens, [CLS] and [SEP] included."""
    enc = tokenizer(source[: 20 * tokens], add_special_tokens=False, return_offsets_mapping=True)
    offsets = enc["offset_mapping"]
    for k in range(max(1, tokens - 2), min(len(offsets), tokens + 8) + 1):
        text = source[: offsets[k - 1][1]]
        if len(tokenizer(text)["input_ids"]) == tokens:
            return text
    raise RuntimeError(f"Could not cut the text to exactly {tokens} tokens.")


def edit_texts(tokenizer, tokens: int, count: int) -> list[str]:
    """`count` different texts of exactly `tokens` tokens, each starting at another sentence."""
    sentences = corpus_texts()
    step = max(1, len(sentences) // (count + 1))
    return [text_of_length(tokenizer, " ".join(sentences[i * step:]), tokens) for i in range(count)]


def page_rerun_times(page: str, tokens: int, repeats: int = 3, setup: PageSetup | None = None,
                     torch_threads: int | None = None) -> PageTiming:
    """Open `page` on its cheapest view, edit the text once to warm up, then time `repeats` more edits.

    `torch_threads` runs the app with that setting (explain.settings); None leaves torch's own.
    """
    from explain.settings import use_settings

    with use_settings(torch_threads=torch_threads):
        return _page_rerun_times(page, tokens, repeats, setup or PAGES[page])


def _page_rerun_times(page: str, tokens: int, repeats: int, setup: PageSetup) -> PageTiming:
    import streamlit as st
    from streamlit.testing.v1 import AppTest
    from transformers import AutoTokenizer

    from app import common
    from explain.models.heads import default_encoder_dir

    # Every page edits in the same texts: forget the forward passes another page cached.
    logging.getLogger("streamlit.runtime.caching").setLevel(logging.ERROR)  # "No runtime found" outside a run
    common.clear_caches()
    st.cache_data.clear()
    st.cache_resource.clear()

    model = setup.model or DEFAULT_MODEL
    tokenizer = AutoTokenizer.from_pretrained(default_encoder_dir(), local_files_only=True)
    texts = edit_texts(tokenizer, tokens, repeats + 1)
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=600)
    at.query_params["model"] = model
    at.run()
    at.switch_page(f"views/{page}.py").run()
    for key, value in setup.state.items():
        at.session_state[key] = value
    at.run()
    seconds = []
    for n, text in enumerate(texts):
        at.sidebar.text_area(key="text").input(text)
        start = time.perf_counter()
        at.run()
        if n:  # the first edit is the warm-up
            seconds.append(time.perf_counter() - start)
        if at.exception:
            raise RuntimeError(f"{page} at {tokens} tokens: {at.exception[0].message}")
    return PageTiming(page, tokens, model, tuple(seconds))


def page_table(timings: list[PageTiming]) -> str:
    lengths = sorted({t.tokens for t in timings})
    lines = ["page rerun after a text edit (median s)   " + "".join(f"{n:>9}" for n in lengths)]
    for page in dict.fromkeys(t.page for t in timings):
        cells = {t.tokens: t for t in timings if t.page == page}
        model = next(iter(cells.values())).model
        label = f"{page} ({'default' if model == DEFAULT_MODEL else model.split(' + ')[-1][:18]})"
        lines.append(f"{label:42s}" + "".join(f"{cells[n].median:9.3f}" if n in cells else f"{'':9}" for n in lengths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[64, 128, 512])
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=list(PAGES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--json", type=Path, help="also write the timings here")
    args = parser.parse_args(argv)
    timings = [page_rerun_times(p, n, args.repeats, torch_threads=args.threads) for p in args.pages for n in args.tokens]
    import os

    import torch

    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    print(page_table(timings))
    if args.json:
        args.json.write_text(json.dumps([{"page": t.page, "tokens": t.tokens, "model": t.model,
                                          "seconds": t.seconds, "median": t.median} for t in timings], indent=1))


if __name__ == "__main__":
    main()
