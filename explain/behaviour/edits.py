"""What a perturbation returns: the new text, whether it changed, a note, and every replaced span.

Spans are character offsets, end excluded, in the original text (old_start, old_end) and in the
perturbed one (start, end), so a tagger's test can look for the swapped entity at its new place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Edit:
    """`old` at [old_start, old_end) of the original text became `new` at [start, end) of the perturbed one."""

    old_start: int
    old_end: int
    start: int
    end: int
    old: str
    new: str


@dataclass(frozen=True)
class Perturbed:
    """One perturbed text.

    Attributes:
        original: the text given. text: the perturbed text (equal to `original` when unchanged).
        changed: False when the perturbation found nothing to change (then `note` says why).
        note: what was done ("typo (swap): 'acting' -> 'actnig'") or why nothing was; translated with _().
        edits: the replaced spans, in text order.
    """

    original: str
    text: str
    changed: bool
    note: str
    edits: tuple[Edit, ...] = ()


def replace_spans(text: str, spans: Iterable[tuple[int, int, str]]) -> tuple[str, tuple[Edit, ...]]:
    """`text` with each (start, end, new) span replaced (spans must not overlap), and the edits made.

    >>> replace_spans("I met Anna in Paris.", [(6, 10, "Maria"), (14, 19, "Rome")])[0]
    'I met Maria in Rome.'
    """
    out: list[str] = []
    edits: list[Edit] = []
    pos = shift = 0
    for start, end, new in sorted(spans):
        if start < pos:
            raise ValueError(f"overlapping spans at {start}")
        out.append(text[pos:start])
        out.append(new)
        edits.append(Edit(start, end, start + shift, start + shift + len(new), text[start:end], new))
        shift += len(new) - (end - start)
        pos = end
    out.append(text[pos:])
    return "".join(out), tuple(edits)


def changed(original: str, spans: Iterable[tuple[int, int, str]], note: str) -> Perturbed:
    new, edits = replace_spans(original, spans)
    return Perturbed(original, new, new != original, note, edits)


def unchanged(original: str, note: str) -> Perturbed:
    return Perturbed(original, original, False, note)
