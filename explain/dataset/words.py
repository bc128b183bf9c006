"""A global view from local attributions: which words push the model toward each class, and possible shortcuts.

Words are the `merge_words` words of each row (special tokens left out), compared case-folded
("Good" and "good" are one word). Two counts per word, both mergeable across streamed chunks
(`WordTally` adds up):
  - attribution toward class c: over the rows explained toward c (their target), the word's
    occurrences, the sum and the sum of squares of its word scores -> mean and standard deviation;
  - frequency: the word's occurrences in the rows of each gold class.
Skew of a word's frequency toward class c (against all other classes): the log-odds ratio with an
informative Dirichlet prior of Monroe, Colaresi & Quinn 2008 ("Fightin' Words", eqs. 16-22):
    delta_w = log((y_wc + a_w) / (n_c + a_0 - y_wc - a_w)) - log((y_wr + a_w) / (n_r + a_0 - y_wr - a_w))
    var_w ~ 1 / (y_wc + a_w) + 1 / (y_wr + a_w),   z_w = delta_w / sqrt(var_w)
with y_wc, y_wr the word's counts in class c and in the rest, n_c, n_r all word counts there, and the
prior a_w = a_0 * y_w / n (the word's share of the whole data), a_0 = prior_strength * n.
A "possible shortcut" toward c is a word seen at least `min_count` times in rows explained toward c
whose mean attribution toward c is positive and in the top `top_share` of that class's words, and
whose frequency is skewed to c (z >= z_threshold). It is a candidate for a person to judge:
"wonderful" toward a positive class is a genuine cue; a film title, a name or a punctuation habit
that only one class has is a shortcut.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from explain.dataset.attributions import DatasetAttributions
from explain.errors import InputError
from explain.i18n import _


@dataclass(frozen=True, eq=False)
class WordTally:
    """Per word (case-folded): attribution counts toward each class, (C, 3) = (occurrences, sum, sum of
    squares), and occurrences per gold class, (C,). Add two tallies to merge streamed chunks."""

    labels: tuple[str, ...]
    attribution: Mapping[str, np.ndarray]
    frequency: Mapping[str, np.ndarray]

    def __reduce__(self):  # mapping proxies do not pickle (a Ray actor sends its tally to the driver)
        return _tally, (self.labels, dict(self.attribution), dict(self.frequency))

    def __add__(self, other: WordTally) -> WordTally:
        if self.labels != other.labels:
            raise InputError(_("Word tallies of models with different labels cannot be added."))
        return WordTally(self.labels, _add(self.attribution, other.attribution), _add(self.frequency, other.frequency))


@dataclass(frozen=True)
class WordStat:
    """One word toward one class: mean and standard deviation of its word scores over `count`
    occurrences in rows explained toward the class; its occurrences per gold class, (C,); z of the
    log-odds ratio of its frequency in that class against the rest."""

    word: str
    target: int
    label: str
    mean: float
    std: float
    count: int
    frequency: tuple[int, ...]
    z: float


@dataclass(frozen=True)
class WordSummary:
    """Per class, its top words by mean attribution (count >= min_count), and the possible shortcuts."""

    labels: tuple[str, ...]
    per_class: tuple[tuple[WordStat, ...], ...]
    shortcuts: tuple[WordStat, ...]
    min_count: int
    z_threshold: float
    prior_strength: float

    def table(self) -> list[dict]:
        """Rows for a CSV/HTML table: class, word, mean, std, count, z, shortcut, frequency by class."""
        flagged = {(s.word, s.target) for s in self.shortcuts}
        return [
            {"class": s.label, "word": s.word, "mean": s.mean, "std": s.std, "count": s.count, "z": s.z,
             "shortcut": (s.word, s.target) in flagged, **{f"in {c}": f for c, f in zip(self.labels, s.frequency)}}
            for group in self.per_class
            for s in group
        ]


def tally_words(attributions: DatasetAttributions, gold: Sequence[int] | np.ndarray) -> WordTally:
    """Count words' attributions (toward each row's target) and frequencies (by gold class)."""
    C = len(attributions.labels)
    gold = np.asarray(gold)
    if len(gold) != len(attributions):
        raise InputError(_("Give one gold class per attributed row."))
    attr: dict[str, np.ndarray] = {}
    freq: dict[str, np.ndarray] = {}
    for ws, target, g in zip(attributions.words, attributions.targets, gold):
        for word, score, special in zip(ws.words, ws.scores, ws.special):
            if special:
                continue
            key = word.casefold()
            a = attr.setdefault(key, np.zeros((C, 3)))
            a[target] += (1.0, score, score * score)
            freq.setdefault(key, np.zeros(C, dtype=np.int64))[g] += 1
    return WordTally(attributions.labels, MappingProxyType(attr), MappingProxyType(freq))


def log_odds_z(frequency: Mapping[str, np.ndarray], target: int, prior_strength: float = 0.1) -> dict[str, float]:
    """z of the log-odds ratio with an informative Dirichlet prior (Monroe et al. 2008) of each word,
    class `target` against all other classes (see the module docstring)."""
    words = list(frequency)
    if not words:
        return {}
    counts = np.array([frequency[w] for w in words], dtype=np.float64)  # (V, C)
    in_c = counts[:, target]
    rest = counts.sum(1) - in_c
    y = counts.sum(1)
    n = y.sum()
    a0 = prior_strength * n
    a = a0 * y / n
    n_c, n_r = in_c.sum(), rest.sum()
    delta = np.log((in_c + a) / (n_c + a0 - in_c - a)) - np.log((rest + a) / (n_r + a0 - rest - a))
    z = delta / np.sqrt(1.0 / (in_c + a) + 1.0 / (rest + a))
    return dict(zip(words, z.tolist()))


def summarize_words(
    tally: WordTally,
    min_count: int = 3,
    top: int = 20,
    top_share: float = 0.25,
    z_threshold: float = 1.96,
    prior_strength: float = 0.1,
) -> WordSummary:
    """Top `top` words per class by mean attribution (seen >= min_count times toward it) and the
    possible shortcuts (see the module docstring), each list sorted by mean attribution, highest first."""
    per_class, shortcuts = [], []
    for c, label in enumerate(tally.labels):
        z = log_odds_z(tally.frequency, c, prior_strength)
        stats = []
        for word, a in tally.attribution.items():
            count, total, squares = a[c]
            if count < min_count:
                continue
            mean = total / count
            std = float(np.sqrt(max(squares / count - mean * mean, 0.0)))
            stats.append(WordStat(word, c, label, float(mean), std, int(count),
                                  tuple(int(f) for f in tally.frequency[word]), float(z[word])))
        stats.sort(key=lambda s: -s.mean)
        per_class.append(tuple(stats[:top]))
        if stats:
            cut = np.quantile([s.mean for s in stats], 1.0 - top_share)
            shortcuts += [s for s in stats if s.mean > 0 and s.mean >= cut and s.z >= z_threshold]
    shortcuts.sort(key=lambda s: -s.mean)
    return WordSummary(tuple(tally.labels), tuple(per_class), tuple(shortcuts), min_count, z_threshold, prior_strength)


def word_summary(attributions: DatasetAttributions, gold: Sequence[int] | np.ndarray, **options) -> WordSummary:
    """`summarize_words(tally_words(attributions, gold), **options)` for results held in memory."""
    return summarize_words(tally_words(attributions, gold), **options)


def _tally(labels, attribution: dict, frequency: dict) -> WordTally:
    return WordTally(labels, MappingProxyType(attribution), MappingProxyType(frequency))


def _add(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    out = {k: v.copy() for k, v in a.items()}
    for k, v in b.items():
        out[k] = out[k] + v if k in out else v.copy()
    return MappingProxyType(out)
