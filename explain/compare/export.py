"""A comparison as files: JSON, CSV tables (inert cells via `explain.report.csv_text`) and the offline HTML report.

Shared by `python -m explain compare` and the Compare page's downloads, so both give the same numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from explain.compare.corpus import DatasetComparison
from explain.compare.text import AttributionComparison, TextComparison
from explain.i18n import _
from explain.report import Section, Table, csv_text, report_html

SAME = 1e-6  # CKA or cosine within this of 1 counts as "no change" (float rounding)


def _num(x) -> float | None:
    """A JSON-safe float (None for nan)."""
    x = float(x)
    return None if math.isnan(x) else x


def unchanged_prefix(c: TextComparison | DatasetComparison) -> int:
    """How many layers at the bottom are untouched: attention identical (JS exactly 0) and hidden states
    equal (CKA and mean cosine within 1e-6 of 1) up to their output. 0 when the first layer changed."""
    L = c.compat.layers[0]
    cka = c.cka
    cosine = _cosine_mean(c)
    for k in range(L):
        attention_same = c.js is None or float(np.max(c.js[k])) == 0.0
        states = [v[k + 1] for v in (cka, cosine) if v is not None]
        if not attention_same or not states or any(not (1 - s <= SAME) for s in states):
            return k
    return L


def _cosine_mean(c) -> np.ndarray | None:
    if isinstance(c, TextComparison):
        return c.cosine_mean
    return c.cosine


def _span(first: int, last: int) -> str:
    return _("layer {k}").format(k=first) if first == last else _("layers {a}-{b}").format(a=first, b=last)


def _layer_numbers(c, layer: int) -> str:
    cka = float(c.cka[layer + 1])
    if c.js is None:
        return _("layer {l}: CKA {cka:.3f}").format(l=layer, cka=cka)
    return _("layer {l}: mean JS {js:.3f} bits, CKA {cka:.3f}").format(l=layer, js=float(np.mean(c.js[layer])), cka=cka)


def summary(c: TextComparison | DatasetComparison) -> str:
    """One sentence on where A and B differ, with the numbers (mean JS of the layer's heads, CKA of its output)."""
    L = c.compat.layers[0]
    if c.cka is None:
        return _("A and B have different depths; see the layer-by-layer CKA matrix.")
    k = unchanged_prefix(c)
    if k == L:
        return _("Every head's attention and every layer's output are equal in A and B: whatever differs, if "
                 "anything, sits in the heads on top of the encoder (pooler, classifier).")
    layers = list(range(k, L))
    if len(layers) > 4:  # the first changed layer and the last two tell the story
        layers = [layers[0], None, *layers[-2:]]
    changed = "; ".join("…" if layer is None else _layer_numbers(c, layer) for layer in layers)
    if k == 0:
        return _("A and B differ from the first layer on ({changed}).").format(changed=changed)
    evidence = _("attention JS 0, hidden states equal, CKA 1") if c.js is not None else _("hidden states equal, CKA 1")
    return _("{unchanged} unchanged ({evidence}); the change sits in {changed_span} ({changed}).").format(
        unchanged=_("Layer 0 is") if k == 1 else _("Layers 0-{last} are").format(last=k - 1), evidence=evidence,
        changed_span=_span(k, L - 1), changed=changed)


def heads_rows(js: np.ndarray | None) -> list[tuple[int, int, float]]:
    if js is None:
        return []
    return [(int(l), int(h), float(js[l, h])) for l in range(js.shape[0]) for h in range(js.shape[1])]


def layers_rows(c: TextComparison | DatasetComparison) -> list[tuple[Any, ...]]:
    cka, cosine = c.cka, _cosine_mean(c)
    n = c.cka_matrix.shape[0] if cka is None else len(cka)
    names = ["embeddings"] + [f"layer {k}" for k in range(n - 1)]
    return [(k, names[k], _num(cka[k]) if cka is not None else None, _num(cosine[k]) if cosine is not None else None)
            for k in range(n)]


HEADS_HEADER = ("layer", "head", "js_divergence_bits")
LAYERS_HEADER = ("hidden_state", "output_of", "linear_cka", "mean_cosine")


def heads_csv(c) -> str:
    return csv_text(HEADS_HEADER, heads_rows(c.js))


def layers_csv(c) -> str:
    return csv_text(LAYERS_HEADER, layers_rows(c))


def tokens_csv(c: TextComparison) -> str:
    """Per token: the cosine of its hidden state in A and B at every layer (the per-token curve)."""
    if c.cosine is None:
        return csv_text(("position", "token"), enumerate(c.tokens))
    n = c.cosine.shape[0]
    header = ("position", "token", *[f"cosine_{'embeddings' if k == 0 else f'layer_{k - 1}'}" for k in range(n)])
    return csv_text(header, [(i, t, *[float(c.cosine[k, i]) for k in range(n)]) for i, t in enumerate(c.tokens)])


def rows_csv(d: DatasetComparison) -> str:
    """Per row: the text, its largest head change (where), predictions of A and B, the gold label."""
    header = ["row", "text", "max_js_bits", "max_js_layer", "max_js_head", "prediction_a", "prediction_b", "label"]
    rows = []
    for i, text in enumerate(d.texts):
        if d.js_rows is not None:
            flat = int(np.argmax(d.js_rows[i]))
            l, h = divmod(flat, d.js_rows.shape[2])
            where = (float(d.js_rows[i, l, h]), l, h)
        else:
            where = (None, None, None)
        pa = d.labels_a[d.predicted_a[i]] if d.predicted_a is not None else ""
        pb = d.labels_b[d.predicted_b[i]] if d.predicted_b is not None else ""
        rows.append((i, text, *where, pa, pb, d.gold[i] if d.gold else ""))
    return csv_text(header, rows)


def _prediction_json(p) -> dict | None:
    if p is None:
        return None
    if p.probs.ndim == 1:
        return {"label": p.label, "probabilities": {l: float(v) for l, v in zip(p.labels, p.probs)}}
    return {"labels_per_token": [p.labels[k] for k in p.predicted]}


def _compat_json(c) -> dict:
    k = c.compat
    return {"layers": list(k.layers), "heads": list(k.heads), "hidden_sizes": list(k.widths), "notes": list(k.notes)}


def text_json(c: TextComparison, attribution: AttributionComparison | None = None) -> dict:
    out = {
        "model_a": c.run_a.model_name,
        "model_b": c.run_b.model_name,
        "text": c.run_a.text,
        "text_pair": c.run_a.text_pair,
        "tokens": list(c.tokens),
        "compatibility": _compat_json(c),
        "summary": summary(c),
        "unchanged_layers": unchanged_prefix(c),
        "js_divergence_bits": None if c.js is None else c.js.tolist(),
        "js_log_base": 2,
        "layers": [dict(zip(LAYERS_HEADER, r)) for r in layers_rows(c)],
        "cka_matrix": [[_num(v) for v in row] for row in c.cka_matrix],
        "top_heads": [{"layer": l, "head": h, "js": v} for l, h, v in c.top_heads(10)],
        "prediction_a": _prediction_json(c.prediction_a),
        "prediction_b": _prediction_json(c.prediction_b),
    }
    if attribution is not None:
        out["attribution"] = {
            "method": attribution.a.method,
            "target_a": attribution.a.target_label,
            "target_b": attribution.b.target_label,
            "spearman": _num(attribution.spearman),
            "scores_a": attribution.a.scores.tolist(),
            "scores_b": attribution.b.scores.tolist(),
        }
    return out


def dataset_json(d: DatasetComparison, source: str = "") -> dict:
    return {
        "model_a": d.name_a,
        "model_b": d.name_b,
        "data": source,
        "rows": d.n_rows,
        "tokens": d.n_tokens,
        "truncated_rows": d.truncated,
        "seconds": round(d.seconds, 3),
        "compatibility": _compat_json(d),
        "summary": summary(d),
        "unchanged_layers": unchanged_prefix(d),
        "mean_js_divergence_bits": None if d.js is None else d.js.tolist(),
        "js_log_base": 2,
        "layers": [dict(zip(LAYERS_HEADER, r)) for r in layers_rows(d)],
        "cka_matrix": [[_num(v) for v in row] for row in d.cka_matrix],
        "top_heads": [{"layer": l, "head": h, "mean_js": v} for l, h, v in d.top_heads(10)],
        "prediction_agreement": d.agreement,
        "accuracy_a": d.accuracy("a"),
        "accuracy_b": d.accuracy("b"),
    }


def text_sections(c: TextComparison, attribution: AttributionComparison | None = None,
                  head: tuple[int, int] | None = None) -> list[Section]:
    """Report sections for one text: summary, JS grid with the most changed head's maps, layers, predictions."""
    from explain.compare import figures

    name_a, name_b = c.run_a.model_name, c.run_b.model_name
    sections = [Section(_("One text"), text=_("Text: {text}").format(text=c.run_a.text) + "  " + summary(c))]
    if c.js is not None:
        layer, h = head or (c.top_heads(1)[0][:2])
        sections.append(Section(
            _("Attention per head"),
            text=_("Jensen-Shannon divergence (bits, 0 = same attention, 1 = disjoint) between A's and B's "
                   "attention rows, averaged over the query tokens. Below: layer {layer}, head {head}.").format(
                layer=layer, head=h),
            figures=(figures.js_grid(c.js, title=_("JS divergence per head"), selected=(layer, h)),
                     figures.attention_maps(c.run_a.attentions[layer, h], c.run_b.attentions[layer, h], c.tokens,
                                            name_a=name_a, name_b=name_b,
                                            title=_("Layer {layer}, head {head}").format(layer=layer, head=h)),
                     figures.difference_map(c.run_a.attentions[layer, h], c.run_b.attentions[layer, h], c.tokens,
                                            title=_("Layer {layer}, head {head}: A − B").format(layer=layer, head=h))),
            tables=(Table(_("Heads that changed most"), ("layer", "head", "JS (bits)"), tuple(c.top_heads(10)),
                          fmt="{:.4f}"),),
        ))
    figs = []
    if c.cka is not None:
        figs.append(figures.layer_curves(c.cka, c.cosine_mean, title=_("Similarity of A and B, layer by layer")))
    if c.cosine is not None:
        figs.append(figures.token_cosine(c.cosine, c.tokens, title=_("Cosine of each token's hidden state")))
    if c.cka is None:
        figs.append(figures.cka_heatmap(c.cka_matrix, name_a=name_a, name_b=name_b, title=_("CKA, every layer pair")))
    sections.append(Section(_("Representations per layer"), figures=tuple(figs),
                            tables=(Table(_("Per layer"), LAYERS_HEADER, tuple(_table_rows(layers_rows(c)))),)))
    if c.prediction_a is not None or c.prediction_b is not None:
        sections.append(Section(_("Predictions"), figures=(figures.prediction_bars(
            c.prediction_a, c.prediction_b, name_a=name_a, name_b=name_b),)))
    if attribution is not None:
        sections.append(Section(
            _("Attributions"),
            text=_("{method} on both models; Spearman rank correlation of the token scores (special tokens left "
                   "out): {rho:.3f}.").format(method=attribution.a.method, rho=attribution.spearman),
            figures=(figures.attribution_bars(attribution.a.tokens, attribution.a.scores, attribution.b.scores,
                                              name_a=name_a, name_b=name_b),),
        ))
    return sections


def dataset_sections(d: DatasetComparison, source: str = "") -> list[Section]:
    from explain.compare import figures

    lines = [_("{rows} rows, {tokens} tokens ({source}).").format(rows=d.n_rows, tokens=d.n_tokens, source=source),
             summary(d)]
    if d.agreement is not None:
        lines.append(_("A and B predict the same class on {share:.1%} of the rows.").format(share=d.agreement))
    for which, name in (("a", d.name_a), ("b", d.name_b)):
        acc = d.accuracy(which)
        if acc is not None:
            lines.append(_("Accuracy of {name}: {acc:.1%}.").format(name=name, acc=acc))
    figs = []
    if d.js is not None:
        figs.append(figures.js_grid(d.js, title=_("Mean JS divergence per head over the data set")))
    if d.cka is not None:
        figs.append(figures.layer_curves(d.cka, d.cosine,
                                         title=_("Similarity of A and B over all tokens, layer by layer")))
    else:
        figs.append(figures.cka_heatmap(d.cka_matrix, name_a=d.name_a, name_b=d.name_b))
    tables = [Table(_("Per layer"), LAYERS_HEADER, tuple(_table_rows(layers_rows(d))))]
    if d.js is not None:
        tables.insert(0, Table(_("Heads that changed most"), ("layer", "head", "mean JS (bits)"),
                               tuple(d.top_heads(10)), fmt="{:.4f}"))
    return [Section(_("Over a data set"), text=" ".join(lines), figures=tuple(figs), tables=tuple(tables))]


def _table_rows(rows):
    return [tuple("" if v is None else v for v in r) for r in rows]


def report(name_a: str, name_b: str, sections: list[Section]) -> str:
    """The standalone HTML report (plotly.js inlined: opens offline)."""
    return report_html(_("BERT Lens: what changed from B to A"), sections,
                       subtitle=_("A: {a} · B: {b}").format(a=name_a, b=name_b))
