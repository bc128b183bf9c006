"""A data-set evaluation as files: predictions JSONL, CSV tables (inert cells), metrics.json, per-row
attributions JSONL and one standalone HTML report (plotly.js inlined; `explain.report`).

Shared by `python -m explain evaluate` and the "Data set" page's downloads, so both give the same
numbers. User text is data: CSV cells go through `explain.report.csv_text` (a cell starting with
=, +, -, @ gets a leading apostrophe) and the report escapes every string.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from explain.dataset import figures
from explain.dataset.heads import HeadImportance, PruningCurve
from explain.dataset.metrics import ClassificationMetrics
from explain.dataset.projector import Projection
from explain.dataset.words import WordSummary
from explain.i18n import _
from explain.report import Section, Table, csv_text, report_html

ROW_COLUMNS = ("row", "line", "text", "text_pair", "label", "gold", "prediction", "confidence", "loss", "correct")


def _num(x: Any) -> Any:
    """JSON-safe number: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return None if math.isnan(x) or math.isinf(x) else x
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def jsonl(records: Iterable[Mapping[str, Any]]) -> str:
    """JSON Lines (UTF-8 text kept as is), one object per record."""
    return "".join(json.dumps({k: _num(v) for k, v in r.items()}, ensure_ascii=False) + "\n" for r in records)


def predictions_jsonl(evaluation) -> str:
    """`Evaluation.records()` as JSON Lines, each with its row index in the file ("row")."""
    return jsonl({"row": evaluation.rows.start + i, **r} for i, r in enumerate(evaluation.records()))


def metrics_json(metrics: ClassificationMetrics, **extra: Any) -> str:
    """metrics.json: `ClassificationMetrics.as_dict()` plus `extra` (model, data, timings, ...)."""
    return json.dumps({**extra, **metrics.as_dict()}, indent=1, ensure_ascii=False, default=_num)


def per_class_csv(metrics: ClassificationMetrics) -> str:
    """label, precision, recall, f1, support, predicted per class."""
    table = metrics.table()
    header = ("label", "precision", "recall", "f1", "support", "predicted")
    return csv_text(header, ([r[h] for h in header] for r in table))


def confusion_csv(metrics: ClassificationMetrics) -> str:
    """Confusion matrix: one row per gold class, one column per predicted class."""
    return csv_text(("gold \\ predicted", *metrics.labels),
                    ((g, *map(int, row)) for g, row in zip(metrics.labels, metrics.confusion)))


def rows_csv(records: Iterable[Mapping[str, Any]]) -> str:
    """A row table (predictions records: row, line, text, pair, label, gold, prediction, confidence, loss, correct)."""
    return csv_text(ROW_COLUMNS, ([r.get(c) for c in ROW_COLUMNS] for r in records))


def words_csv(summary: WordSummary) -> str:
    """Per class its top words (class, word, mean, std, count, z, shortcut, rows of each class)."""
    table = summary.table()
    header = ("class", "word", "mean", "std", "count", "z", "shortcut", *(f"in {c}" for c in summary.labels))
    return csv_text(header, ([r[h] for h in header] for r in table))


def shortcuts_csv(summary: WordSummary) -> str:
    """The possible shortcuts (word, toward, mean, std, occurrences, z, rows per class)."""
    header = ("word", "toward", "mean", "std", "count", "z", *(f"in {c}" for c in summary.labels))
    return csv_text(header, figures.shortcut_rows(summary))


def heads_csv(importance: HeadImportance) -> str:
    """layer, head, importance (normalised per layer), raw mean |dL/dg|, rank (0 = least important)."""
    rank = np.empty(importance.normalized.size, dtype=np.int64)
    rank[np.argsort(importance.normalized.ravel(), kind="stable")] = np.arange(importance.normalized.size)
    L, H = importance.normalized.shape
    return csv_text(("layer", "head", "importance", "raw", "rank"),
                    ((l, h, float(importance.normalized[l, h]), float(importance.raw[l, h]), int(rank[l * H + h]))
                     for l in range(L) for h in range(H)))


def heads_json(importance: HeadImportance, curve: PruningCurve | None = None) -> str:
    """Head importance (L x H, normalised and raw) and the pruning curve, as JSON."""
    out: dict[str, Any] = {"normalized": importance.normalized.tolist(), "raw": importance.raw.tolist(),
                           "rows": importance.rows or len(importance.per_row), "order": importance.order().tolist()}
    if curve is not None:
        out["pruning"] = {"ks": curve.ks.tolist(), "accuracy": curve.accuracy.tolist(), "loss": curve.loss.tolist(),
                          "random_accuracy": [_num(v) for v in curve.random_accuracy],
                          "random_loss": [_num(v) for v in curve.random_loss], "rows": curve.n_rows}
    return json.dumps(out, indent=1)


def pruning_csv(curve: PruningCurve) -> str:
    """heads masked, accuracy and loss (importance order), the same for the random order."""
    return csv_text(("heads_masked", "accuracy", "loss", "random_accuracy", "random_loss"),
                    zip(curve.ks.tolist(), curve.accuracy.tolist(), curve.loss.tolist(),
                        [_num(v) for v in curve.random_accuracy], [_num(v) for v in curve.random_loss]))


def attribution_records(attributions, start: int = 0, ids=None) -> Iterable[dict]:
    """Per row of a DatasetAttributions: row (start + i, or ids[i]), line, target, words and their scores,
    f(x), delta, steps."""
    da = attributions
    for i in range(len(da)):
        ws = da.words[i]
        keep = [k for k, s in enumerate(ws.special) if not s]
        yield {"row": start + i if ids is None else int(ids[i]), "line": da.rows.lines[i], "method": da.method_key,
               "target": da.labels[int(da.targets[i])], "words": [ws.words[k] for k in keep],
               "scores": [float(ws.scores[k]) for k in keep], "f_x": _num(da.f_x[i]), "f_baseline": _num(da.f_base[i]),
               "delta": _num(da.delta[i]), "steps": int(da.steps[i]), "converged": bool(da.converged[i])}


@dataclass(frozen=True)
class ProjectorData:
    """What the projector needs per projected row: PCA (N, 3), gold and predicted ids, confidence, texts, row index."""

    projection: Projection
    y_true: np.ndarray
    y_pred: np.ndarray
    confidence: np.ndarray
    texts: tuple[str, ...]
    index: np.ndarray


def dataset_sections(
    metrics: ClassificationMetrics,
    *,
    hardest: Sequence[Mapping[str, Any]] = (),
    summary: WordSummary | None = None,
    attribution_note: str = "",
    importance: HeadImportance | None = None,
    curve: PruningCurve | None = None,
    projector: ProjectorData | None = None,
    notices: Sequence[str] = (),
) -> list[Section]:
    """The report's sections: metrics and per-class table, confusion matrix, calibration, the rows with the
    highest loss (`hardest`: prediction records), words per class and possible shortcuts, heads and pruning,
    projector (2-D and 3-D, by gold label, prediction and correctness). Missing parts are left out."""
    m = metrics
    cards = Table(_("Summary"), (_("rows"), _("accuracy"), _("macro-F1"), _("weighted F1"), _("ECE"),
                                 _("mean loss (nats)")),
                  ((m.n, m.accuracy, m.macro_f1, m.weighted_f1, m.ece, m.mean_loss),), fmt="{:.4f}")
    per_class = Table(_("Per class"), (_("label"), _("precision"), _("recall"), _("F1"), _("support"), _("predicted")),
                      tuple((r["label"], r["precision"], r["recall"], r["f1"], r["support"], r["predicted"])
                            for r in m.table()), fmt="{:.4f}")
    sections = [
        Section(_("Metrics"), text=" ".join(notices), tables=(cards, per_class)),
        Section(_("Errors and calibration"),
                text=_("Rows are gold classes, columns predictions. The expected calibration error compares "
                       "confidence with accuracy in {n} equal-width bins (Guo et al. 2017).").format(
                    n=len(m.reliability.count)),
                figures=(figures.confusion_matrix(m), figures.reliability_diagram(m.reliability, m.ece))),
    ]
    if hardest:
        rows = tuple((r.get("line"), r.get("text"), r.get("text_pair") or "", r.get("gold"), r.get("prediction"),
                      float(r.get("confidence")), float(r.get("loss"))) for r in hardest)
        sections.append(Section(
            _("Rows with the highest loss"),
            tables=(Table(_("{n} rows, highest loss first").format(n=len(rows)),
                          (_("line"), _("text"), _("pair"), _("gold"), _("prediction"), _("confidence"),
                           _("loss")), rows),)))
    if summary is not None:
        header = figures.shortcut_header(summary)
        sections.append(Section(
            _("Words per class and possible shortcuts"),
            text=_("Mean word attribution toward each class over the rows explained toward it. A possible shortcut "
                   "pushes toward a class and occurs mostly in its rows (log-odds ratio with an informative Dirichlet "
                   "prior, Monroe et al. 2008): judge whether it is a genuine cue.") + (" " + attribution_note
                                                                                        if attribution_note else ""),
            figures=(*figures.class_word_figures(summary),
                     *((figures.shortcut_figure(summary),) if summary.shortcuts else ())),
            tables=(Table(_("Possible shortcuts"), header, tuple(figures.shortcut_rows(summary)), fmt="{:.4f}"),)
            if summary.shortcuts else ()))
        if not summary.shortcuts:
            sections.append(Section(_("Possible shortcuts"), text=_("None: no word in the top quarter of a class's "
                                                                   "attributions has a frequency skewed to that class "
                                                                   "(z >= {z}).").format(z=summary.z_threshold)))
    if importance is not None:
        figs = (figures.head_importance_grid(importance),) + ((figures.pruning_figure(curve),) if curve else ())
        order = importance.order()[::-1][:10]
        top = Table(_("Most important heads"), (_("layer"), _("head"), _("importance")),
                    tuple((int(l), int(h), float(importance.normalized[l, h])) for l, h in order))
        sections.append(Section(_("Heads that matter for this data set"),
                                text=_("Head importance over {n:,} rows (Michel et al. 2019, \"Are Sixteen Heads Really "
                                       "Better than One?\").").format(n=importance.rows or len(importance.per_row)),
                                figures=figs, tables=(top,)))
    if projector is not None:
        p = projector
        common = {"texts": p.texts, "index": p.index, "explained": p.projection.explained_variance_ratio.tolist()}
        args = (p.projection.coordinates, m.labels, p.y_true, p.y_pred, p.confidence)
        figs = tuple(figures.projector(*args, colour_by=c, **common) for c in ("gold", "predicted", "correct"))
        figs += (figures.projector(*args, colour_by="gold", dims=3, **common),)
        sections.append(Section(_("Projector"), text=_("PCA of the representation the head reads, {n:,} rows.").format(
            n=len(p.index)), figures=figs))
    return sections


def dataset_report_html(model_name: str, data_name: str, sections: Sequence[Section]) -> str:
    """The standalone report: every figure and table of `dataset_sections`, plotly.js inlined."""
    return report_html(_("Data set: {data}").format(data=data_name), sections,
                       subtitle=_("Model: {model}").format(model=model_name))


def evaluation_report_html(evaluation, *, data_name: str, attributions=None, summary: WordSummary | None = None,
                           importance: HeadImportance | None = None, curve: PruningCurve | None = None,
                           projection: Projection | None = None, hardest: int = 50) -> str:
    """`dataset_report_html` from results held in memory (the page): an Evaluation and optional extras."""
    ev = evaluation
    worst = np.argsort(-ev.loss, kind="stable")[:hardest]
    top = [{"row": ev.rows.start + int(i), **r} for i, r in zip(worst, ev.records(worst))]
    proj = None
    if projection is not None:
        shown = ev.projected_rows  # every row, or the stratified sample whose features were kept
        proj = ProjectorData(projection, ev.y_true[shown], ev.y_pred[shown], ev.confidence[shown],
                             tuple(ev.rows.texts[i] for i in shown), shown + ev.rows.start)
    note = attribution_summary(attributions) if attributions is not None else ""
    sections = dataset_sections(ev.metrics, hardest=top, summary=summary, attribution_note=note,
                                importance=importance, curve=curve, projector=proj, notices=ev.notices)
    return dataset_report_html(ev.model_name, data_name, sections)


def attribution_summary(attributions) -> str:
    """One sentence on how the attributions were made: method, rows, and for IG the steps and deltas."""
    da = attributions
    return attribution_note(da.method, da.target_kind, da.steps, da.relative_delta, da.converged)


def attribution_note(method: str, target_kind: str, steps: np.ndarray, relative_delta: np.ndarray,
                     converged: np.ndarray) -> str:
    """`attribution_summary` from per-row arrays (N,) each (merged chunks in the CLI)."""
    steps, rel = np.asarray(steps), np.asarray(relative_delta, dtype=np.float64)
    text = _("{method} over {n:,} rows, toward each row's {target} class.").format(
        method=method, n=len(steps), target=_("predicted") if target_kind == "predicted" else _("gold"))
    rel = rel[~np.isnan(rel)]
    if len(rel) and steps.max() > 0:
        text += " " + _("Integration steps per row: mean {steps:.1f}; |completeness delta| / |f(x) - f(x')|: median "
                        "{median:.2%}, max {max:.2%}; {share:.0%} of rows under 1 %.").format(
            steps=float(steps.mean()), median=float(np.median(rel)), max=float(rel.max()),
            share=float(np.mean(converged)))
    return text
