"""The Chinese catalogue: complete, placeholders intact, compiled, and in step with the code.

These tests read explain/locale/zh_CN/LC_MESSAGES/bertlens.po (no model, no app); they take about a
second. When one fails after a merge, `make translations` and fill in the msgstrs it lists.
The pages in Chinese are checked in tests/test_i18n_app.py.
"""

from __future__ import annotations

import gettext
import io
import os
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from explain.i18n import DOMAIN, LOCALE_DIR, N_, Deferred, _, deferred, language, ngettext

ROOT = Path(__file__).resolve().parents[1]
PO = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / f"{DOMAIN}.po"
MO = PO.with_suffix(".mo")
# The same keywords as `make translations` (Makefile).
EXTRACT = ["-q", "extract", "-F", "babel.cfg", "-k", "_", "-k", "N_", "-k", "ngettext:1,2", "--no-location"]
_PLOTLY = re.compile(r"%\{[^}]*\}")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _catalog():
    with open(PO, "rb") as f:
        return read_po(f)


def _messages():
    return [m for m in _catalog() if m.id]


def _ids(m) -> tuple[str, ...]:
    return m.id if isinstance(m.id, tuple) else (m.id,)


def _strs(m) -> tuple[str, ...]:
    return tuple(m.string) if isinstance(m.string, (tuple, list)) else (m.string,)


def _show(msgid) -> str:
    return " | ".join(msgid) if isinstance(msgid, tuple) else msgid


def placeholders(text: str) -> list[str]:
    """The str.format fields ({n}, {n:,}, {name!r}) and plotly hover fields (%{x}) of `text`, sorted."""
    fields = sorted(_PLOTLY.findall(text))
    rest = _PLOTLY.sub("", text)
    try:
        parsed = list(string.Formatter().parse(rest))
    except ValueError:  # not a format string: compare the braces as written
        return fields + sorted(re.findall(r"\{[^{}]*\}", rest))
    for _literal, name, spec, conversion in parsed:
        if name is not None:
            fields.append("{" + name + ("!" + conversion if conversion else "") + (":" + spec if spec else "") + "}")
    return sorted(fields)


def test_every_msgid_has_a_chinese_translation():
    missing = [m for m in _messages() if m.fuzzy or not all(s.strip() for s in _strs(m))]
    assert not missing, (
        f"{len(missing)} message id(s) have no Chinese translation in {PO.relative_to(ROOT)} "
        "(fill in their msgstr, then `make translations`):\n" + "\n".join(f"  {_show(m.id)!r}" for m in missing)
    )


def test_translations_keep_every_placeholder():
    wrong = []
    for m in _messages():
        ids, strs = _ids(m), [s for s in _strs(m) if s]
        for s in strs:  # Chinese has one plural form: it must fit the plural message id
            if set(placeholders(s)) != set(placeholders(ids[-1])):  # a field may be repeated
                wrong.append(f"  {_show(m.id)!r}\n    -> {s!r}\n    {placeholders(ids[-1])} != {placeholders(s)}")
    assert not wrong, "translations whose placeholders differ from their message id:\n" + "\n".join(wrong)


def test_translations_are_chinese():
    """A msgstr copied from its msgid (or left in English) is not a translation."""
    english = [m.id for m in _messages() if any(s and not _CJK.search(s) and not _is_language_neutral(s) for s in _strs(m))]
    assert not english, "msgstrs without a Chinese character:\n" + "\n".join(f"  {_show(i)!r}" for i in english)


def _is_language_neutral(text: str) -> bool:
    """Only placeholders, markup, symbols, formulas and names that read the same in Chinese."""
    words = re.findall(r"[A-Za-z]{2,}", _PLOTLY.sub("", re.sub(r"\{[^{}]*\}|`[^`]*`|<[^>]*>", "", text)))
    return all(w in {"softmax", "exp", "max", "cos", "sin", "PCA", "CSV", "JSON", "JSONL", "HTML", "PNG", "SVG",
                     "MLM", "NSP", "BERT", "IG", "PLL", "CKA", "AOPC", "SHAP", "LIME", "PII", "NER", "ID", "id",
                     "PC", "QK", "tanh", "GELU", "LayerNorm", "bertviz", "ERASER", "JS", "Spearman", "DeepLift"} for w in words)


def test_compiled_catalogue_is_up_to_date():
    """The committed .mo holds exactly what compiling the .po gives now (`make translations` compiles it)."""
    compiled = io.BytesIO()
    write_mo(compiled, _catalog())
    compiled.seek(0)
    fresh = gettext.GNUTranslations(compiled)._catalog
    with open(MO, "rb") as f:
        committed = gettext.GNUTranslations(f)._catalog
    stale = sorted(set(fresh.items()) ^ set(committed.items()), key=str)
    assert not stale, f"{MO.name} is older than {PO.name}: run `make translations` ({len(stale)} entries differ)"


def test_extraction_finds_nothing_missing_from_the_catalogue(tmp_path):
    """Every _()/N_()/ngettext() string of app/ and explain/ (and the JSON assets) is in the .po, and no stale one."""
    pot = tmp_path / "bertlens.pot"
    subprocess.run([str(Path(sys.executable).with_name("pybabel")), *EXTRACT, "-o", str(pot), "."], cwd=ROOT, check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    with open(pot, "rb") as f:
        in_code = {m.id for m in read_po(f) if m.id}
    in_po = {m.id for m in _messages()}
    new, stale = sorted(in_code - in_po, key=str), sorted(in_po - in_code, key=str)
    assert not new and not stale, (
        "run `make translations` and translate the new ids:\n"
        + "".join(f"  new: {_show(i)!r}\n" for i in new) + "".join(f"  stale: {_show(i)!r}\n" for i in stale)
    )


@pytest.mark.parametrize("value", ["zh", "zh-CN", "zh_Hans", "ZH-TW", "简体中文"])
def test_chinese_is_recognised(value):
    from explain.i18n import normalize_language

    assert normalize_language(value) == "zh"
    assert normalize_language("en-GB") == normalize_language(None) == normalize_language("fr") == "en"


def test_translation_follows_the_language():
    with language("zh"):
        assert _("Attention") == "注意力"
        assert ngettext("{n} row has no label (lines {lines}): fill them in or remove them.",
                        "{n} rows have no label (lines {lines}): fill them in or remove them.", 3).format(
            n=3, lines="2, 3, 4").startswith("3 ")
    assert _("Attention") == "Attention"


def test_deferred_text_is_shown_in_each_readers_language():
    """A notice made once (in a cache) shows in the language of whoever reads it, also after pickling."""
    import pickle

    note = deferred(N_("The file has {n:,} rows; a random sample of {k:,} is used."), n=100000, k=2000)
    assert note == "The file has 100,000 rows; a random sample of 2,000 is used."
    copy = pickle.loads(pickle.dumps(note))
    assert isinstance(copy, Deferred) and copy == note
    with language("zh"):
        zh = _(copy)
    assert _CJK.search(zh) and "100,000" in zh and "2,000" in zh
    assert _(copy) == note
