"""What a behavioural suite run gives: per test its failure rate and cases, frozen and ready to export.

A case is scored (passed True/False) or skipped (passed None: the perturbation could not change its
text, and `note` says why); failure rates count scored cases only, as CheckList drops texts a
perturbation does not apply to.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from explain.i18n import _


@dataclass(frozen=True)
class Entity:
    """One entity a tagger found: type, characters [start, end) of the text, and those characters."""

    type: str
    start: int
    end: int
    text: str

    def __str__(self) -> str:
        return f"{self.type} '{self.text}' [{self.start}:{self.end}]"


@dataclass(frozen=True)
class Prediction:
    """A model's answer on one text.

    Attributes:
        label: the predicted class (a classifier), or '' for a tagger.
        probs: every class's probability, in the model's label order (classifiers), else ().
        entities: the entities found (taggers), else ().
    """

    label: str
    probs: tuple[float, ...] = ()
    entities: tuple[Entity, ...] = ()

    def describe(self, labels: tuple[str, ...] = ()) -> str:
        """'fresh (0.93)' for a classifier; the entities, or 'no entity', for a tagger."""
        if self.probs:
            i = labels.index(self.label) if self.label in labels else max(range(len(self.probs)), key=self.probs.__getitem__)
            return f"{self.label} ({self.probs[i]:.2f})"
        return "; ".join(str(e) for e in self.entities) or _("no entity")


@dataclass(frozen=True)
class CaseResult:
    """One case of a test.

    Attributes:
        text: the text (MFT) or the original (INV/DIR). before: the prediction on it.
        perturbed, after: the perturbed text and its prediction (INV/DIR; None for MFT and skipped cases).
        expected: what the test wanted for this case, in words ("fresh", "same prediction", "P(fresh) down by 0.10").
        passed: True / False, or None when skipped. change: DIR's change of the class probability, else None.
        note: what the perturbation did, why it could not, or why the case failed.
    """

    text: str
    before: Prediction
    expected: str
    passed: bool | None
    perturbed: str | None = None
    after: Prediction | None = None
    change: float | None = None
    note: str = ""


@dataclass(frozen=True)
class TestResult:
    """One test's cases and failure rate."""

    __test__ = False  # not a pytest test class

    name: str
    type: str
    capability: str
    description: str
    perturbation: str | None
    expected: str
    cases: tuple[CaseResult, ...]

    @property
    def n_cases(self) -> int:
        """Scored cases (skipped ones excluded)."""
        return sum(c.passed is not None for c in self.cases)

    @property
    def n_failed(self) -> int:
        return sum(c.passed is False for c in self.cases)

    @property
    def n_skipped(self) -> int:
        return sum(c.passed is None for c in self.cases)

    @property
    def failure_rate(self) -> float:
        """Failed / scored cases; NaN when no case could be scored."""
        return self.n_failed / self.n_cases if self.n_cases else math.nan

    @property
    def failed(self) -> tuple[CaseResult, ...]:
        return tuple(c for c in self.cases if c.passed is False)


@dataclass(frozen=True)
class SuiteResult:
    """A suite run on one model.

    Attributes:
        suite_name, suite_path, model_name, task, labels (the model's, in logit order), seed.
        tests: per test, in the suite's order. n_texts: distinct texts the model read.
        max_tokens: truncation limit. seconds: wall time. notices: remarks for the user.
    """

    suite_name: str
    suite_path: str
    model_name: str
    task: str
    labels: tuple[str, ...]
    seed: int
    tests: tuple[TestResult, ...]
    n_texts: int
    max_tokens: int
    seconds: float
    notices: tuple[str, ...] = ()

    @property
    def n_cases(self) -> int:
        return sum(t.n_cases for t in self.tests)

    def capabilities(self) -> dict[str, list[TestResult]]:
        """Capability -> its tests, in the order they first appear."""
        groups: dict[str, list[TestResult]] = {}
        for t in self.tests:
            groups.setdefault(t.capability, []).append(t)
        return groups

    def above(self, rate: float) -> list[TestResult]:
        """Tests whose failure rate is above `rate` (a CI gate: `--fail-above`)."""
        return [t for t in self.tests if not math.isnan(t.failure_rate) and t.failure_rate > rate]

    def __iter__(self) -> Iterator[TestResult]:
        return iter(self.tests)
