"""Real English prose for training the MLM head, from registry packages only; whole-document splits.

Sources (each read from where its package installs it):
- gensim (PyPI) `gensim/test/test_data/enwiki-...-shortened.bz2`: 206 English Wikipedia pages, May 2016
  (text CC BY-SA 3.0); 107 articles after redirects are dropped. Markup removed with gensim's own
  `filter_wiki`; lists, tables, headings and the reference sections are dropped, prose sentences kept.
- Debian `wordnet-base` `/usr/share/wordnet/data.{noun,verb,adj,adv}`: the gloss of every synset
  (definitions and quoted example sentences; WordNet 3.0 licence).

Splits are decided per document (article title, synset id) by a seeded hash, never per sentence.
"""

from __future__ import annotations

import bz2
import hashlib
import random
import re
from dataclasses import dataclass
from pathlib import Path

WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
WORDNET_DIR = Path("/usr/share/wordnet")
WORDNET_POS = ("noun", "verb", "adj", "adv")
WIKI_LICENCE = "CC BY-SA 3.0 (Wikipedia text, dump of May 2016; authors: Wikipedia contributors)"
WORDNET_LICENCE = "WordNet 3.0 licence (Princeton University; permissive, notice kept)"

# Percent of documents per split, by source: the hash of "<seed>/<source>/<document key>" mod 100.
SPLITS = {"wikipedia": {"test": 15, "dev": 8}, "wordnet": {"test": 0, "dev": 3}}

_END_SECTIONS = re.compile(
    r"^=+\s*(references|see also|external links|notes|further reading|bibliography|sources|citations|"
    r"footnotes|works cited)\s*=+\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


@dataclass(frozen=True)
class Document:
    source: str  # "wikipedia" | "wordnet"
    key: str  # article title or "noun.00001740"
    sentences: tuple[str, ...]


def split_of(source: str, key: str, seed: int) -> str:
    """'test', 'dev' or 'train' for a whole document: sha256("<seed>/<source>/<key>") mod 100 vs SPLITS."""
    bucket = int(hashlib.sha256(f"{seed}/{source}/{key}".encode()).hexdigest()[:8], 16) % 100
    shares = SPLITS[source]
    if bucket < shares["test"]:
        return "test"
    if bucket < shares["test"] + shares["dev"]:
        return "dev"
    return "train"


def wiki_path() -> Path:
    import gensim

    return Path(gensim.__file__).resolve().parent / "test" / "test_data" / WIKI_FILE


def prose_sentences(wikitext: str) -> list[str]:
    """Sentences of the running text of one article (markup already stripped by filter_wiki)."""
    end = _END_SECTIONS.search(wikitext)
    text = wikitext[: end.start()] if end else wikitext
    sentences = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "*#:;|!{}=<" or "|" in line:
            continue
        line = line.replace("'''", "").replace("''", "")
        line = re.sub(r"\(\s*[,;]?\s*\)", "", line)  # parentheses emptied by removed templates
        line = re.sub(r"\s+([,.;:])", r"\1", line)
        line = re.sub(r"\s{2,}", " ", line)
        for sentence in _SENTENCE_END.split(line):
            sentence = sentence.strip()
            if len(sentence.split()) >= 5 and sentence[0].isalnum() and sentence[-1] in ".!?\"'":
                sentences.append(sentence)
    return sentences


def wikipedia_documents() -> list[Document]:
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    docs = []
    with bz2.open(wiki_path()) as f:
        for title, markup, _pageid in extract_pages(f, filter_namespaces=("0",)):
            text = filter_wiki(markup)
            if text.lstrip().lower().startswith("#redirect"):
                continue
            sentences = prose_sentences(text)
            if sentences:
                docs.append(Document("wikipedia", title, tuple(sentences)))
    return docs


def wordnet_documents() -> list[Document]:
    """One document per synset: its gloss, e.g. 'exercise in order to prepare...; "She is training..."'."""
    docs = []
    for pos in WORDNET_POS:
        path = WORDNET_DIR / f"data.{pos}"
        if not path.exists():
            raise SystemExit(f"{path} is missing: run `apt-get install -y wordnet-base`.")
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("  ") or " | " not in line:
                continue  # licence header
            gloss = line.split(" | ", 1)[1].strip()
            if len(gloss.split()) >= 3:
                docs.append(Document("wordnet", f"{pos}.{line[:8]}", (gloss,)))
    return docs


def load_corpus(seed: int) -> dict[str, list[Document]]:
    """{'train': [...], 'dev': [...], 'test': [...]}; a training sentence that also occurs in a dev or
    test document is dropped from training (some Wikipedia articles share paragraphs)."""
    splits: dict[str, list[Document]] = {"train": [], "dev": [], "test": []}
    for doc in wikipedia_documents() + wordnet_documents():
        splits[split_of(doc.source, doc.key, seed)].append(doc)
    held = {s for part in ("dev", "test") for d in splits[part] for s in d.sentences}
    splits["train"] = [
        Document(d.source, d.key, kept)
        for d in splits["train"]
        if (kept := tuple(s for s in d.sentences if s not in held))
    ]
    return splits


def sample_sentences(
    docs: list[Document], n: int, seed: int, min_words: int = 8, max_words: int = 40
) -> list[tuple[str, str]]:
    """(document key, sentence) pairs drawn with a seeded RNG, for the shipped held-out file."""
    pool = sorted(
        {(d.key, s) for d in docs for s in d.sentences if min_words <= len(s.split()) <= max_words}
    )
    return random.Random(seed).sample(pool, min(n, len(pool)))
