"""Match a data set's labels to a model's classes (`bundle.labels`, i.e. config.id2label in logit order).

Each distinct data label is resolved, in this order:
  1. `label_map` (data label -> model label name, or class id), when the user gave one;
  2. the model label of exactly that name;
  3. the model label of that name ignoring case (when only one matches);
  4. a whole number 0 .. C-1 read as a class id ("1" -> bundle.labels[1]).
Labels that none of these resolve raise `LabelMismatch` (an InputError) naming them, the model's
labels and how to map them; the page can read `.unknown` and `.model_labels` to offer a mapping
table, the CLI takes `--label-map data=model,...` (`parse_label_map`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from explain.errors import InputError
from explain.i18n import N_, _

if TYPE_CHECKING:
    from explain.models.checkpoint import ModelBundle

HOW = MappingProxyType({"map": N_("label map"), "name": N_("name"), "case": N_("name, ignoring case"), "id": N_("class id")})


class LabelMismatch(InputError):
    """Some data labels match no model label. `unknown`: those labels; `model_labels`: the model's."""

    def __init__(self, message: str, unknown: tuple[str, ...], model_labels: tuple[str, ...]):
        super().__init__(message)
        self.unknown = unknown
        self.model_labels = model_labels


@dataclass(frozen=True)
class LabelMatch:
    """How each data label maps to a model class.

    Attributes:
        model_labels: the model's labels in logit order, (C,).
        index: data label -> model class index.
        how: data label -> "map" | "name" | "case" | "id" (see HOW for display names).
    """

    model_labels: tuple[str, ...]
    index: Mapping[str, int]
    how: Mapping[str, str]

    def indices(self, labels: Sequence[str]) -> np.ndarray:
        """Model class index of each data label, (N,) int64."""
        return np.fromiter((self.index[label] for label in labels), dtype=np.int64, count=len(labels))

    def describe(self) -> tuple[str, ...]:
        """One line per data label not matched by its exact name, e.g. "1 -> fresh (class id)"."""
        return tuple(
            _("{data} -> {model} ({how})").format(data=d, model=self.model_labels[i], how=_(HOW[self.how[d]]))
            for d, i in self.index.items()
            if self.how[d] != "name"
        )


def match_labels(
    data_labels: Iterable[str],
    model_labels: Sequence[str],
    label_map: Mapping[str, str | int] | None = None,
) -> LabelMatch:
    """Resolve every distinct data label to a model class (see the module docstring for the order).

    Args:
        data_labels: the data's labels (repeats are fine), e.g. `rows.labels` or `summary.classes`.
        model_labels: `bundle.labels`.
        label_map: {data label: model label name or class id}; entries for labels absent from the
            data are ignored.

    Raises:
        InputError: the model has no labels, or label_map names a model label that does not exist.
        LabelMismatch: some labels stay unknown.
    """
    model_labels = tuple(str(m) for m in model_labels)
    if not model_labels:
        raise InputError(_("This model has no class labels to compare the data's labels with."))
    label_map = dict(label_map or {})
    index: dict[str, int] = {}
    how: dict[str, str] = {}
    unknown: list[str] = []
    for label in dict.fromkeys(str(l) for l in data_labels):
        if label in label_map:
            index[label], how[label] = _model_class(label_map[label], model_labels, label), "map"
            continue
        found = _resolve(label, model_labels)
        if found is None:
            unknown.append(label)
        else:
            index[label], how[label] = found
    if unknown:
        raise LabelMismatch(_mismatch_message(unknown, model_labels), tuple(unknown), model_labels)
    return LabelMatch(model_labels, MappingProxyType(index), MappingProxyType(how))


def parse_label_map(text: str) -> dict[str, str]:
    """'positive=fresh, negative=rotten' -> {'positive': 'fresh', 'negative': 'rotten'} (for the CLI)."""
    mapping: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if part.count("=") != 1 or not all(side.strip() for side in part.split("=")):
            raise InputError(
                _("Could not read {part!r} of the label map: write data=model pairs separated by commas, "
                  "e.g. positive=fresh,negative=rotten.").format(part=part.strip())
            )
        data, model = (side.strip() for side in part.split("="))
        mapping[data] = model
    return mapping


def _resolve(label: str, model_labels: tuple[str, ...]) -> tuple[int, str] | None:
    if label in model_labels:
        return model_labels.index(label), "name"
    folded = [i for i, m in enumerate(model_labels) if m.casefold() == label.casefold()]
    if len(folded) == 1:
        return folded[0], "case"
    if label.isascii() and label.isdigit() and int(label) < len(model_labels):
        return int(label), "id"
    return None


def _model_class(target: str | int, model_labels: tuple[str, ...], data_label: str) -> int:
    found = _resolve(str(target), model_labels)
    if found is None:
        raise InputError(
            _("The label map sends '{data}' to '{target}', which is not one of the model's labels ({labels}) "
              "or a class id from 0 to {last}.").format(
                data=data_label, target=target, labels=", ".join(model_labels), last=len(model_labels) - 1
            )
        )
    return found[0]


def _mismatch_message(unknown: list[str], model_labels: tuple[str, ...]) -> str:
    shown = ", ".join(f"'{u}'" for u in unknown[:10]) + (", ..." if len(unknown) > 10 else "")
    example = ",".join(f"{u}={model_labels[min(i, len(model_labels) - 1)]}" for i, u in enumerate(unknown[:2]))
    return _(
        "The data has labels the model does not know: {unknown}. The model's labels are {labels} "
        "(or their class ids 0 to {last}). Map each data label to one of them with a label map "
        "(data label -> model label), e.g. {example}."
    ).format(unknown=shown, labels=", ".join(model_labels[:20]), last=len(model_labels) - 1, example=example)


def resolve_match(
    labels: Sequence[str], bundle: ModelBundle, label_map: Mapping | None, match: LabelMatch | None
) -> LabelMatch:
    """`match` checked against these labels, or a new match of `labels` to the bundle's classes."""
    if match is None:
        return match_labels(labels, bundle.labels, label_map)
    if tuple(match.model_labels) != tuple(bundle.labels):
        raise InputError(_("This label match was made for another model's labels."))
    missing = [l for l in dict.fromkeys(labels) if l not in match.index]
    if missing:
        known = {k: bundle.labels[v] for k, v in match.index.items()}
        return match_labels(labels, bundle.labels, {**known, **(label_map or {})})
    return match
