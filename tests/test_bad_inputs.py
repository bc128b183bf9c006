"""The bad-input catalogue: odd or hostile inputs, each with the message the user sees, never a traceback.

Each case drives the real app (AppTest) or, for uploads AppTest cannot make, the very library call
whose message the page shows. `python tests/test_bad_inputs.py` prints the README's table.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bert_lens.common import MAX_INPUT_CHARS
from bert_lens.views import page_file, page_names
from explain import BertLensError, i18n
from explain.dataset.reader import read_labelled_csv
from explain.models.catalog import SPLADE_MODEL
from tests.helpers import MAIN, open_app

CUSTOM = "Other: hub id or local folder…"
SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
TRAIN_PAGE_MAX_ROWS = 2000  # app/views/train/page.py MAX_ROWS


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[[], str]  # returns every message the user sees, joined
    expect: str  # a regular expression that must match it


def _messages(at: AppTest) -> str:
    assert not at.exception, at.exception
    parts = [e.value for e in (*at.error, *at.warning, *at.info, *at.success)]
    parts += [t.value for t in at.toast]
    return " | ".join(parts)


QUERY: dict[str, str] = {}  # link parameters added to every case (tests/test_i18n_app.py sets lang=zh)


def _page(page: str | None = None, text: str | None = None, pair: str = "", **query) -> AppTest:
    return open_app(page, text, pair, **{**QUERY, **query})


def text_case(text: str, page: str | None = None, pair: str = "", model: str | None = None) -> Callable[[], str]:
    def run() -> str:
        at = _page(page, text, pair, **({"model": model} if model else {}))
        msgs = _messages(at)
        assert at.session_state["text"] == text, "the user's text must be kept"
        return msgs

    return run


def model_case(spec_or_setup) -> Callable[[], str]:
    def run() -> str:
        spec = spec_or_setup() if callable(spec_or_setup) else spec_or_setup
        at = _page(text="Keep my sentence.")
        at.sidebar.selectbox(key="model.choice").select(CUSTOM).run()
        at.sidebar.text_input(key="model.custom").input(spec).run()
        msgs = _messages(at)
        assert at.session_state["text"] == "Keep my sentence."
        return msgs

    return run


def link_case(page: str | None = None, **query) -> Callable[[], str]:
    """A shared link with exactly these parameters (text and pair too), opened on `page` (default: the first)."""

    def run() -> str:
        at = AppTest.from_file(MAIN, default_timeout=120)
        for key, value in {**QUERY, **query}.items():
            at.query_params[key] = value
        at.run()
        if page:
            at.switch_page(page_file(page)).run()
        for key in ("text", "pair"):
            if key in query:
                assert at.session_state[key] == query[key][:MAX_INPUT_CHARS], "the link's text must be kept"
        return _messages(at)

    return run


OWN_MODEL_PAGES = {"train"}  # trains a head on the offline encoder: the sidebar's model plays no part


def every_page_case(**query) -> Callable[[], str]:
    """The link opened, then every page in turn: none shows a traceback, and each page that reads the
    sidebar's model shows the first page's message."""

    def run() -> str:
        at = _page(**query)
        first = _messages(at)
        for page in page_names():
            at.switch_page(page_file(page)).run()
            shown = _messages(at)
            assert page in OWN_MODEL_PAGES or (first and first in shown), (page, shown)
        return first

    return run


def csv_case(raw: bytes, **limits) -> Callable[[], str]:
    """The train page shows read_labelled_csv's error (st.error) or notices (st.warning) as they are."""

    def library_run() -> str:
        try:
            data = read_labelled_csv(raw, **limits)
        except BertLensError as err:
            return str(err)
        return " | ".join(i18n._(n) for n in data.notices) or f"accepted: {len(data.texts)} rows, classes {', '.join(data.classes)}"

    return library_run


def html_case() -> str:
    at = _page("attributions", "<script>alert('x')</script><img src=x onerror=alert(1)> a fine film", model=SENTIMENT)
    body = " ".join(h.proto.body for h in at.get("html"))
    assert "<script>" not in body and "<img" not in body
    assert "&lt;" in body
    chips = re.findall(r">([^<>]+)</span>", body)
    return "shown as text, token by token: " + " ".join(chips[1:9])


def mask_chart_title(text: str, pair: str = "") -> Callable[[], str]:
    def run() -> str:
        at = _page("masked", text, pair, model=SPLADE_MODEL)
        titles = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]
        at.session_state["mlm.view"] = "surprisal"  # pseudo-log-likelihood runs only in its own view
        at.run()
        return " | ".join([_messages(at), *titles])

    return run


def _tmp_checkpoint(write: Callable[[Path], None]) -> Callable[[], str]:
    def make() -> str:
        folder = Path(tempfile.mkdtemp(prefix="bad-ckpt-"))
        write(folder)
        return str(folder)

    return make


def _tiny_checkpoint(folder: Path, **config) -> None:
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    from explain.models.heads import default_encoder_dir

    cfg = BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    BertForMaskedLM(cfg).save_pretrained(folder)
    AutoTokenizer.from_pretrained(default_encoder_dir()).save_pretrained(folder)
    if config:
        data = json.loads((folder / "config.json").read_text())
        data.update(config)
        (folder / "config.json").write_text(json.dumps(data))


def _foreign_checkpoint(folder: Path, kind: str) -> None:
    """A tiny real GPT-2 or T5 checkpoint, saved the way transformers saves them."""
    from transformers import GPT2Config, GPT2LMHeadModel, T5Config, T5ForConditionalGeneration

    if kind == "gpt2":
        GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=16, vocab_size=100)).save_pretrained(folder)
    else:
        T5ForConditionalGeneration(T5Config(num_layers=1, num_heads=2, d_model=16, d_ff=32, d_kv=8,
                                            vocab_size=100)).save_pretrained(folder)


def _corrupt(folder: Path) -> None:
    _tiny_checkpoint(folder)
    (folder / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")


def _pickle_only(folder: Path) -> None:
    _tiny_checkpoint(folder)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")


def _no_weights(folder: Path) -> None:
    _tiny_checkpoint(folder)
    (folder / "model.safetensors").unlink()


def _csv(rows: list[tuple[str, str]], header: str = "text,label") -> bytes:
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(header.split(","))
    w.writerows(rows)
    return out.getvalue().encode()


GOOD_ROWS = [(f"a wonderful film {i}", "good") for i in range(12)] + [(f"a dull film {i}", "bad") for i in range(12)]

CASES = [
    Case("Empty text", text_case(""), r"The text is empty"),
    Case("Whitespace only", text_case("   \n\t  "), r"The text is empty"),
    Case("Only a second sentence, no first", text_case("", pair="Only B."), r"The text is empty"),
    Case("10,000-character text", text_case("word " * 2000), r"reads at most 512"),
    Case("Control characters only", text_case("\x00\x01\x02\x7f"), r"Nothing is left of this text"),
    Case("Emoji and CJK", text_case("I love 🍕 and 東京 ramen 🍜"), r"^$"),
    Case("Right-to-left text (Arabic, Hebrew)", text_case("مرحبا بالعالم שלום עולם"), r"^$"),
    Case("HTML / script text", html_case, r"shown as text"),
    Case("No [MASK] on the MLM page", text_case("Nothing is masked here.", "masked", model=SPLADE_MODEL),
         r"There is no \[MASK\] yet"),
    Case("Only [MASK]s", mask_chart_title("[MASK] [MASK] [MASK]"), r"Nothing to score.*\[MASK\] at position 1"),
    Case("[MASK] in the second sentence", mask_chart_title("The cat sat.", "It ate the [MASK]."),
         r"\[MASK\] at position 9"),
    Case("Encoder without MLM head on the MLM page", text_case("The [MASK] is here.", "masked"),
         r"has no masked-language-model head"),
    Case("Encoder without classifier on the Attributions page", text_case("Fine film.", "attributions"),
         r"has no classification head"),
    Case("Unknown hub id, offline", model_case("no-such-org/no-such-model-xyz"),
         r"not in the local Hugging Face cache and the hub cannot be reached"),
    Case("Hub id with illegal characters", model_case("bert base uncased!"), r"neither a folder nor a Hugging Face"),
    Case("Path to nowhere", model_case("/no/such/checkpoint"), r"No folder at"),
    Case("Folder that is not a checkpoint", model_case(lambda: tempfile.mkdtemp()), r"has no config.json"),
    Case("Folder with config but no weights", model_case(_tmp_checkpoint(_no_weights)), r"no model.safetensors"),
    Case("GPT-2 checkpoint", model_case(_tmp_checkpoint(lambda f: _foreign_checkpoint(f, "gpt2"))),
         r"this checkpoint is a 'gpt2' model"),
    Case("T5 checkpoint", model_case(_tmp_checkpoint(lambda f: _foreign_checkpoint(f, "t5"))),
         r"this checkpoint is a 't5' model"),
    Case("config.json that is not JSON", model_case(_tmp_checkpoint(lambda f: (f / "config.json").write_text("{oops"))),
         r"not readable JSON"),
    Case("Corrupt safetensors file", model_case(_tmp_checkpoint(_corrupt)), r"damaged or truncated"),
    Case("Pickle-only checkpoint (pytorch_model.bin)", model_case(_tmp_checkpoint(_pickle_only)),
         r"holds only pickle weights"),
    Case("Unknown model name in the link", text_case("Hi.", model="no-such-model-name"), r"cannot be reached"),
    Case("Layer and head out of range in the link",
         lambda: _messages(_page("attention", layer="99", head="-4")), r"asked for layer 99.*showing 5"),
    Case("Layer not a number in the link", lambda: _messages(_page("attention", layer="two")), r"Ignored layer='two'"),
    # every parameter of a link: over-long, empty, control characters, wrong type
    Case("5,000-character model name in the link, on every page", every_page_case(model="a" * 5000),
         r"'a+…a+ \(5,000 characters\)' is neither a folder nor a Hugging Face model id"),
    Case("5,000-character folder path in the link", link_case(model="/" + "d/" * 2500),
         r"is neither a folder nor a Hugging Face model id"),
    Case("300-character hub id in the link", link_case(model="org/" + "m" * 300),
         r"is neither a folder nor a Hugging Face model id"),
    Case("Empty model in the link", link_case(model=""), r"Type a Hugging Face hub id or the path"),
    Case("Control character in the model name in the link", link_case(model="bert\x00base\nuncased"),
         r"'bert\\x00base\\nuncased' is neither a folder"),
    Case("Hub id with a trailing newline in the link", link_case(model="bert-base-uncased\n"),
         r"'bert-base-uncased' is not in the local Hugging Face cache"),
    Case("25,000-character text in the link", link_case(text="word " * 5000), r"keeps the first 20,000"),
    Case("Empty text in the link", link_case(text=""), r"The text is empty"),
    Case("Control characters as the link's text", link_case(text="\x00\x01\x02\x7f"), r"Nothing is left of this text"),
    Case("Layer of 5,000 digits in the link", link_case("attention", layer="9" * 5000),
         r"Ignored layer='9+…9+ \(5,000 characters\)' from the link: not a number"),
    Case("Empty head in the link", link_case("attention", head=""), r"Ignored head='' from the link"),
    Case("Head as a fraction in the link", link_case("attention", head="1.5"), r"Ignored head='1.5'"),
    Case("Control character as the layer in the link", link_case("attention", layer="2\x00"),
         r"Ignored layer='2\\x00'"),
    Case("Lesson step not a number in the link", link_case("lessons", step="three"), r"Ignored step='three'"),
    Case("Lesson step out of range in the link", link_case("lessons", step="99"), r"asked for step 99.*showing 10"),
    Case("5,000-character target class in the link", link_case("attributions", model=SENTIMENT, target="x" * 5000),
         r"Ignored target='x+…x+ \(5,000 characters\)'"),
    Case("5,000-character model B in the link", link_case("compare", model_b="b" * 5000),
         r"'b+…b+ \(5,000 characters\)' is neither a folder"),
    Case("5,000-character language in the link", link_case(lang="zh" + "x" * 5000, text="Hi."), r"^$"),
    Case("Presenter mode with a wrong value in the link", link_case(present="maybe", text="Hi."), r"^$"),
    Case("CSV with one class", csv_case(_csv([(f"t{i}", "same") for i in range(30)])), r"at least 2 different labels"),
    Case("CSV with 100,000 rows", csv_case(_csv([(f"text {i}", "ab"[i % 2]) for i in range(100_000)]),
                                            max_rows=TRAIN_PAGE_MAX_ROWS), r"random sample of 2,000"),
    Case("CSV not in UTF-8 (Latin-1)", csv_case("text,label\ncaf\xe9 cr\xe8me,good\n".encode("latin-1")), r"UTF-8"),
    Case("CSV missing the label column", csv_case(_csv([(t, "x") for t, _ in GOOD_ROWS], header="review,stars")),
         r"needs a 'text' and a 'label' column"),
    Case("CSV label names with commas and quotes",
         csv_case(_csv([(t, 'good, "really"' if l == "good" else "bad") for t, l in GOOD_ROWS])),
         r'accepted: 24 rows, classes good, "really", bad'),
    Case("CSV with empty texts", csv_case(_csv(GOOD_ROWS + [("", "good")])), r"(row has|rows have) an empty text"),
    Case("CSV with a tiny class", csv_case(_csv(GOOD_ROWS + [("odd one", "rare")])), r"rare"),
    Case("Empty CSV file", csv_case(b""), r"The CSV file is empty"),
    Case("Upload over the size limit", csv_case(_csv(GOOD_ROWS) * 30_000), r"larger than 5 MB"),
]


def params(cases: list[Case]) -> list:
    """The cases as pytest parameters; those that run the app (AppTest) are marked `app`."""
    return [pytest.param(c, id=c.name, marks=() if c.run.__name__ == "library_run" else pytest.mark.app) for c in cases]


@pytest.mark.parametrize("case", params(CASES))
def test_bad_input_gets_a_clear_message(case: Case, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    message = case.run()
    assert re.search(case.expect, message, re.DOTALL), message
    assert "Traceback" not in message


def test_catalogue_is_long_enough():
    assert len(CASES) >= 54


if __name__ == "__main__":  # print the README table
    os.environ["HF_HUB_OFFLINE"] = "1"
    print("| Input | What the user sees |\n|---|---|")
    for case in CASES:
        shown = case.run() or "works normally: tokens, attention and predictions are shown"
        print(f"| {case.name} | {shown.replace('|', '/').replace(chr(10), ' ')[:220]} |")
