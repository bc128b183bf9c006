"""Behavioural test suites as data files (YAML or JSON), read and checked whole before any model runs.

A suite (see assets/suites/sentiment.yaml):

    name: Movie reviews                  # required
    description: ...                     # optional
    task: sequence-classification        # or token-classification (default sequence-classification)
    seed: 0                              # perturbations and template samples (default 0)
    lexicons: {thing: [movie, film]}     # the suite's own word lists, next to the shipped ones
    tests:
      - name: Positive adjectives        # required, unique
        type: MFT                        # MFT, INV or DIR (CheckList's three test types)
        capability: Vocabulary           # required: what the test groups under
        template: "The {thing} is {pos_adj}."   # one source of texts: template(s), texts, or data
        expected: fresh                  # MFT: a label; a tagger: {placeholder: ENTITY_TYPE}
        max_cases: 200                   # at most this many cases (templates: a seeded sample)
      - name: Typos
        type: INV                        # the prediction must not change
        capability: Robustness
        data: {file: ../heads/minilm-sentiment/heldout.jsonl, max_words: 25}   # path relative to the suite
        perturbation: typo_swap          # or {name: typos, count: 2}; see explain.behaviour.perturb
      - name: Negation
        type: DIR                        # P(class) must move `direction` by at least `margin`
        capability: Negation
        texts: ["The acting is wonderful."]
        perturbation: add_negation
        expected: {class: fresh, direction: down, margin: 0.1}   # class may be `predicted`

Placeholders name a lexicon (the suite's own or a shipped one, explain.behaviour.lexicons); a trailing
number makes a second, independent slot ({first_name1} and {first_name2}); the same placeholder twice
gets the same value. Every problem is an InputError naming the file, the test and the field.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from explain.behaviour.lexicons import SUITES_DIR
from explain.behaviour.perturb import PERTURBATIONS, ParameterError
from explain.behaviour.sources import Slot, data_texts, fill_templates, listed_texts
from explain.errors import InputError
from explain.i18n import _

TEST_TYPES = ("MFT", "INV", "DIR")
TASKS = ("sequence-classification", "token-classification")
DEFAULT_MAX_CASES = 500
MAX_TEXTS = 20_000
MAX_SUITE_BYTES = 2_000_000  # an uploaded suite file
_SUITE_KEYS = ("name", "description", "task", "seed", "lexicons", "tests")
_TEST_KEYS = ("name", "type", "capability", "description", "template", "texts", "data", "max_cases",
              "perturbation", "expected")
_SOURCES = ("template", "texts", "data")


@dataclass(frozen=True)
class TestSpec:
    """One test as written, its source texts resolved (templates filled, data read).

    Attributes:
        name, type (MFT/INV/DIR), capability, description.
        texts: the source texts, (N,). slots: per text, where each placeholder's value sits (templates only).
        perturbation: its name (INV/DIR) or None; params: its parameters.
        expected: MFT a label (sequence) or {placeholder: entity type} (tagger); DIR {class, direction,
            margin}; INV None.
    """

    __test__ = False  # not a pytest test class

    name: str
    type: str
    capability: str
    description: str
    texts: tuple[str, ...]
    slots: tuple[tuple[Slot, ...], ...]
    perturbation: str | None
    params: Mapping[str, Any]
    expected: Any


@dataclass(frozen=True)
class Suite:
    """A checked suite: its tests and where it was read from."""

    name: str
    description: str
    path: str
    task: str
    seed: int
    lexicons: Mapping[str, tuple[str, ...]]
    tests: tuple[TestSpec, ...]

    @property
    def n_texts(self) -> int:
        return sum(len(t.texts) for t in self.tests)


class _Where:
    """Builds InputErrors that name the file, the test and the field."""

    def __init__(self, path: str, test: str | None = None):
        self.path, self.test = path, test

    def error(self, field_name: str, message: str) -> InputError:
        if self.test is None:
            return InputError(_("{file}: field '{field}': {message}").format(file=self.path, field=field_name,
                                                                             message=message))
        return InputError(_("{file}: test '{test}', field '{field}': {message}").format(
            file=self.path, test=self.test, field=field_name, message=message))


def shipped_suites() -> dict[str, Path]:
    """Short name (file stem) -> file, for every suite in assets/suites/."""
    return {p.stem: p for p in sorted(SUITES_DIR.glob("*")) if p.suffix in (".yaml", ".yml", ".json")}


def find_suite(spec: str) -> Path:
    """A suite file: a path, or a shipped suite's short name ('sentiment') or `name`."""
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    shipped = shipped_suites()
    if spec in shipped:
        return shipped[spec]
    for file in shipped.values():
        try:
            if _parse(file).get("name") == spec:
                return file
        except InputError:
            continue
    raise InputError(_("No suite file '{spec}'; the shipped suites are: {names}.").format(
        spec=spec, names=", ".join(shipped) or _("none")))


def load_suite(spec: str | Path) -> Suite:
    """Read and check a suite file (see the module docstring); InputError names file, test and field."""
    path = find_suite(str(spec))
    return suite_from_data(_parse(path), _file_name(path), path.parent)


def read_suite(data: bytes, name: str, max_texts: int | None = None) -> Suite:
    """A suite sent as bytes (an upload): YAML, or JSON when `name` ends in .json; errors name `name`.

    An uploaded suite may not read files of the machine it runs on: a `data` source is refused (its
    texts go under `texts`). `max_texts` bounds the texts of all tests together (a server's limit).
    """
    if len(data) > MAX_SUITE_BYTES:
        raise InputError(_("{file}: {size:,} bytes; a suite file may have at most {limit:,}.").format(
            file=name, size=len(data), limit=MAX_SUITE_BYTES))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(_("{file}: cannot be read as UTF-8 text ({reason}).").format(file=name, reason=err)) from None
    return suite_from_data(_parse_text(text, name), name, None, max_texts)


def suite_from_data(raw: Any, label: str, folder: Path | None = None, max_texts: int | None = None) -> Suite:
    """Check a suite already parsed (a mapping as YAML or JSON gives it; a test built in the app).

    `label` names the suite in errors (its file); `folder` is where `data` files are found (None: a
    `data` source is refused); `max_texts` bounds the texts of all tests together.
    """
    where = _Where(label)
    if not isinstance(raw, dict):
        raise where.error("tests", _("the file must hold a mapping with 'name' and 'tests'."))
    _unknown(where, raw, _SUITE_KEYS)
    name = _text(where, raw, "name", required=True)
    task = raw.get("task", TASKS[0])
    if task not in TASKS:
        raise where.error("task", _("must be one of {allowed}; got {value}.").format(allowed=", ".join(TASKS),
                                                                                     value=repr(task)))
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise where.error("seed", _("must be a whole number, 0 or more; got {value}.").format(value=repr(seed)))
    lexicons = _lexicons(where, raw.get("lexicons", {}))
    tests = raw.get("tests")
    if not isinstance(tests, list) or not tests:
        raise where.error("tests", _("must be a list of tests, at least one."))
    specs, seen, total = [], set(), 0
    for i, test in enumerate(tests):
        name_i = test.get("name") if isinstance(test, dict) and isinstance(test.get("name"), str) else f"#{i + 1}"
        twhere = _Where(label, name_i)
        if not isinstance(test, dict):
            raise twhere.error("name", _("each test must be a mapping with name, type, capability, ..."))
        spec = _test(twhere, test, folder, lexicons, task, seed)
        if spec.name in seen:
            raise twhere.error("name", _("another test has this name; names must be unique."))
        total += len(spec.texts)
        if max_texts is not None and total > max_texts:
            raise twhere.error("max_cases", _("the tests so far have {n:,} texts; at most {limit:,} are run here "
                                              "(lower max_cases).").format(n=total, limit=max_texts))
        seen.add(spec.name)
        specs.append(spec)
    return Suite(name=name, description=str(raw.get("description", "") or ""), path=label, task=task, seed=seed,
                 lexicons=MappingProxyType(lexicons), tests=tuple(specs))


def suite_digest(suite: Suite) -> str:
    """A digest of everything that decides a run's cases and scores (a cache key): seed, task, lexicons,
    and per test its name, type, capability, texts, slots, perturbation and expectation."""
    def plain(value):
        return dict(value) if isinstance(value, Mapping) else value

    parts = [suite.task, suite.seed, sorted((k, list(v)) for k, v in suite.lexicons.items())]
    for t in suite.tests:
        parts.append([t.name, t.type, t.capability, t.description, list(t.texts),
                      [[(s.placeholder, s.start, s.end, s.value) for s in row] for row in t.slots],
                      t.perturbation, sorted(dict(t.params).items()), plain(t.expected)])
    blob = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def _parse(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(_("{file}: cannot be read as UTF-8 text ({reason}).").format(
            file=_file_name(path), reason=err)) from None
    return _parse_text(text, _file_name(path))


def _file_name(path: Path) -> str:
    """How messages name a suite file: a shipped one by its short name (not the server's install path)."""
    return path.name if path.parent.resolve() == SUITES_DIR.resolve() else str(path)


def _parse_text(text: str, file: str) -> Any:
    if file.lower().endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(_("{file}: not valid JSON ({error} at line {line}, column {column}).").format(
                file=file, error=err.msg, line=err.lineno, column=err.colno)) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = _(" at line {line}, column {column}").format(line=mark.line + 1, column=mark.column + 1) if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InputError(_("{file}: not valid YAML ({problem}{at}).").format(file=file, problem=problem, at=at)) from None


def _unknown(where: _Where, raw: Mapping, allowed: tuple[str, ...]) -> None:
    extra = [k for k in raw if k not in allowed]
    if extra:
        raise where.error(str(extra[0]), _("unknown field; the fields are: {allowed}.").format(allowed=", ".join(allowed)))


def _text(where: _Where, raw: Mapping, key: str, required: bool = False) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise where.error(key, _("must be a non-empty text; got {value}.").format(value=repr(value)))
    return value.strip()


def _lexicons(where: _Where, raw: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise where.error("lexicons", _("must map lexicon names to lists of words."))
    out = {}
    for key, words in raw.items():
        ok = isinstance(words, list) and words and all(isinstance(w, (str, int, float)) and str(w).strip() for w in words)
        if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) or not ok:
            raise where.error(f"lexicons.{key}", _("a lexicon is a name (letters, digits, _) with a non-empty list of "
                                                   "words."))
        out[key] = tuple(str(w).strip() for w in words)
    return out


def _test(where: _Where, raw: Mapping, folder: Path | None, lexicons: dict, task: str, seed: int) -> TestSpec:
    _unknown(where, raw, _TEST_KEYS)
    name = _text(where, raw, "name", required=True)
    kind = raw.get("type")
    if not isinstance(kind, str) or kind.upper() not in TEST_TYPES:
        raise where.error("type", _("must be one of {allowed}; got {value}.").format(allowed=", ".join(TEST_TYPES),
                                                                                     value=repr(kind)))
    kind = kind.upper()
    if kind == "DIR" and task == "token-classification":
        raise where.error("type", _("DIR tests move a class probability; a token-classification suite has MFT and "
                                    "INV tests."))
    capability = _text(where, raw, "capability", required=True)
    max_cases = raw.get("max_cases", DEFAULT_MAX_CASES)
    if isinstance(max_cases, bool) or not isinstance(max_cases, int) or not 1 <= max_cases <= MAX_TEXTS:
        raise where.error("max_cases", _("must be a whole number from 1 to {high}; got {value}.").format(
            high=f"{MAX_TEXTS:,}", value=repr(max_cases)))
    given = [k for k in _SOURCES if k in raw]
    if len(given) != 1:
        raise where.error("template", _("give exactly one source of texts: template, texts or data (got {given}).").format(
            given=", ".join(given) or _("none")))
    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    slots: tuple = ()
    if given[0] == "template":
        texts, slots = fill_templates(where, raw["template"], lexicons, max_cases, rng)
    elif given[0] == "texts":
        texts = listed_texts(where, raw["texts"], max_cases)
    elif folder is None:
        raise where.error("data", _("an uploaded suite cannot read files on the server; list its texts under "
                                    "'texts' instead."))
    else:
        texts = data_texts(where, raw["data"], folder, max_cases)
    perturbation, params = _perturbation(where, raw.get("perturbation"), kind, lexicons)
    expected = _expected(where, raw.get("expected"), kind, task, slots)
    return TestSpec(name=name, type=kind, capability=capability, description=_text(where, raw, "description"),
                    texts=texts, slots=slots, perturbation=perturbation, params=MappingProxyType(params),
                    expected=expected)


def _perturbation(where: _Where, raw: Any, kind: str, lexicons: dict) -> tuple[str | None, dict]:
    if kind == "MFT":
        if raw is not None:
            raise where.error("perturbation", _("an MFT test has fixed expected labels and no perturbation; use INV or "
                                                "DIR."))
        return None, {}
    if raw is None:
        raise where.error("perturbation", _("{kind} tests need a perturbation; known: {known}.").format(
            kind=kind, known=", ".join(PERTURBATIONS)))
    params = {}
    if isinstance(raw, dict):
        params = {k: v for k, v in raw.items() if k != "name"}
        raw = raw.get("name")
    if raw not in PERTURBATIONS:
        raise where.error("perturbation", _("unknown perturbation {name}; known: {known}.").format(
            name=repr(raw), known=", ".join(PERTURBATIONS)))
    try:
        params = PERTURBATIONS[raw].resolve(params, lexicons)
    except ParameterError as err:
        raise where.error(f"perturbation.{err.param}", str(err)) from None
    return raw, params


def _expected(where: _Where, raw: Any, kind: str, task: str, slots: tuple) -> Any:
    if kind == "INV":
        if raw not in (None, "same"):
            raise where.error("expected", _("an INV test expects the same prediction: leave 'expected' out."))
        return None
    if kind == "DIR":
        return _direction(where, raw)
    if task == "token-classification":
        if not slots:
            raise where.error("template", _("an MFT test of a tagger needs a template, whose placeholders are the "
                                            "entities expected."))
        placeholders = {s.placeholder for row in slots for s in row}
        if not isinstance(raw, dict) or not raw or not all(isinstance(v, str) and v for v in raw.values()):
            raise where.error("expected", _("must map placeholders to entity types, e.g. {first_name: GIVEN_NAME}."))
        missing = [k for k in raw if k not in placeholders]
        if missing:
            raise where.error("expected", _("{name} is not a placeholder of the template.").format(name=missing[0]))
        return MappingProxyType({str(k): str(v) for k, v in raw.items()})
    if not isinstance(raw, (str, int)) or isinstance(raw, bool) or not str(raw).strip():
        raise where.error("expected", _("an MFT test needs the expected label (a class name or id)."))
    return str(raw).strip()


def _direction(where: _Where, raw: Any) -> Mapping[str, Any]:
    if not isinstance(raw, dict) or "class" not in raw or "direction" not in raw:
        raise where.error("expected", _("a DIR test needs {class: LABEL or predicted, direction: up or down, margin: "
                                        "0.1}."))
    extra = [k for k in raw if k not in ("class", "direction", "margin")]
    if extra:
        raise where.error(f"expected.{extra[0]}", _("unknown field; expected takes class, direction and margin."))
    if raw["direction"] not in ("up", "down"):
        raise where.error("expected.direction", _("must be up or down; got {value}.").format(value=repr(raw["direction"])))
    margin = raw.get("margin", 0.0)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not -1 <= margin <= 1:
        raise where.error("expected.margin", _("must be a number from -1 to 1 (a change of probability); got "
                                               "{value}.").format(value=repr(margin)))
    if not isinstance(raw["class"], (str, int)) or isinstance(raw["class"], bool):
        raise where.error("expected.class", _("must be a label, a class id or 'predicted'."))
    return MappingProxyType({"class": str(raw["class"]), "direction": raw["direction"], "margin": float(margin)})


def check_labels(suite: Suite, labels: tuple[str, ...], task: str) -> None:
    """InputError (file, test, field) when the suite's task or expected labels do not fit the model's."""
    if task != suite.task:
        raise _Where(suite.path).error("task", _("the suite is for {suite_task}, the model does {task}.").format(
            suite_task=suite.task, task=task))
    known = {l.lower() for l in labels} | {str(i) for i in range(len(labels))}
    types = {l.split("-", 1)[1] for l in labels if "-" in l}
    for test in suite.tests:
        where = _Where(suite.path, test.name)
        if test.type == "MFT" and isinstance(test.expected, str) and test.expected.lower() not in known:
            raise where.error("expected", _("'{label}' is not a label of the model; its labels are {labels}.").format(
                label=test.expected, labels=", ".join(labels)))
        if test.type == "MFT" and isinstance(test.expected, Mapping):
            bad = [v for v in test.expected.values() if v not in types]
            if bad:
                raise where.error("expected", _("'{label}' is not an entity type of the model; its types are "
                                                "{labels}.").format(label=bad[0], labels=", ".join(sorted(types))))
        if test.type == "DIR" and test.expected["class"] != "predicted" and test.expected["class"].lower() not in known:
            raise where.error("expected.class", _("'{label}' is not a label of the model; its labels are "
                                                  "{labels}.").format(label=test.expected["class"], labels=", ".join(labels)))


def label_index(value: str, labels: tuple[str, ...]) -> int:
    """A label name (any case) or class id -> its index (check_labels has checked it)."""
    lower = [l.lower() for l in labels]
    return lower.index(value.lower()) if value.lower() in lower else int(value)

