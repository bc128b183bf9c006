"""BERT Lens benchmark: how long each view, attribution and page takes, with anchors measured alongside.

    python benchmarks/run.py                # full run (both models, 16-256 tokens, browser)
    python benchmarks/run.py --quick        # default model, 16/32/64 tokens, pages at 64/128, one cold start
    python benchmarks/run.py --no-browser --threads 2 --repeats 5

Prints aligned plain-text tables and writes them, with machine information, to benchmarks/latest.json.
Times are medians of `--repeats` calls after one warm-up call (calls over a second are repeated
less, see `measure`). A cell marked "~" was not run: it was extrapolated from the shorter inputs
because running it would take longer than `--max-seconds` (attention flow: the app's own estimate).

Pages: each page's rerun after a text edit, with its cheapest view open, timed through AppTest
(benchmarks/pages.py) at 64/128 tokens (--quick) or 64/128/512; target 300 ms at 128 tokens. Cold
start: process start -> /_stcore/health -> first chart visible in Chromium; target 4 s.

Models: the offline default (all-MiniLM-L6-v2, 6 layers x 12 heads x 384) with its shipped heads,
and a random BERT of bert-base shape (12 layers x 12 heads x 768, seed 0) for the cost at full size.
Inputs: held-out movie-review sentences joined and cut to exactly T tokens ([CLS] and [SEP] included).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np
import torch
from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification

from benchmarks.browser import CHROMIUM, bench_browser
from benchmarks.measure import Cell, Recorder, extrapolate, measure, text_of_length
from benchmarks.pages import PageTimer, fresh_texts
from bert_lens import charts
from explain import DEFAULT_MODEL, ModelBundle, attribute, builtin_models, load_model, run_model
from explain.attention.bertviz_offline import bertviz_html
from explain.attention.head_math import head_arithmetic, head_weights
from explain.attention.head_stats import head_stats
from explain.attention.maps import attention_flow, flow_seconds_estimate, head_map, rollout
from explain.attention.viewer import attention_viewer_html
from explain.embeddings import embedding_parts, mean_similarity_by_layer, token_similarity, token_trajectories
from explain.mlm import fill_mask, pseudo_log_likelihood
from explain.models.catalog import SPLADE_MODEL
from explain.models.checkpoint import prepare_model

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
MLM_HEAD = "all-MiniLM-L6-v2 + BERT Lens MLM head"
TEXT_FILE = ROOT / "assets" / "heads" / "minilm-sentiment" / "heldout.jsonl"
OUT = Path(__file__).resolve().parent / "latest.json"
FLOW_MAX_SECONDS = 5.0  # attention flow is run only when its own estimate is at most this
FLOW_IN_SUM_UP_TO = 32  # the app computes flow at once for short texts only; beyond, on a button press
ATTRIBUTION_ONLY = (32,)  # lengths measured for the attribution rows only (the IG target is at 32 tokens)
TARGETS = (  # (row, model, tokens, limit in ms)
    ("all_views", "minilm", 64, 300.0),
    ("ig", "minilm", 32, 300.0),
)
VIEWER_TARGET_MS = 2000.0
COLD_START_TARGET_MS = 4000.0  # process start -> first chart visible in Chromium
PAGE_TARGET_MS = 300.0  # a page's rerun after a text edit, its cheapest view open
PAGE_TARGET_TOKENS = 128
# page -> (its cheapest view, which of the subject's models it shows, session state that opens that view).
# The Masked page needs an MLM head and Attributions a classifier: the default encoder's shipped heads.
PAGES = {
    "tokens": ("its only view", "encoder", {}),
    "embeddings": ("This sentence", "encoder", {"emb.view": "This sentence"}),
    "attention": ("One head", "encoder", {"attn.view": "One head"}),
    "masked": ("as it opens", "mlm", {}),
    "attributions": ("Explain, Saliency", "classifier", {"attr.view": "Explain", "attr.method": "saliency"}),
    "train": ("as it opens; it reads no text", "encoder", {}),
}


# ---- models and inputs ---------------------------------------------------------------------------


@dataclass
class Subject:
    """A model family under test: an encoder for the views, an MLM and a classifier for the heads."""

    key: str
    title: str
    encoder: ModelBundle
    mlm: ModelBundle
    classifier: ModelBundle
    notes: list[str] = field(default_factory=list)
    specs: dict[str, str] = field(default_factory=dict)  # "encoder"/"mlm"/"classifier" -> name the app loads


def default_subject() -> Subject:
    names = builtin_models()
    mlm_name = MLM_HEAD if MLM_HEAD in names else SPLADE_MODEL
    return Subject(
        key="minilm",
        title="all-MiniLM-L6-v2 (6 layers x 12 heads x 384), shipped heads",
        encoder=load_model(DEFAULT_MODEL),
        mlm=load_model(mlm_name),
        classifier=load_model(SENTIMENT),
        notes=[f"fill-mask / PLL: {mlm_name}", f"IG / KernelSHAP: {SENTIMENT}"],
        specs={"encoder": DEFAULT_MODEL, "mlm": mlm_name, "classifier": SENTIMENT},
    )


def bert_base_subject(tokenizer) -> Subject:
    """Random BERT of bert-base shape (BertConfig() defaults), seed 0, as MLM and as 2-class classifier."""

    def bundle(cls, task: str, labels: tuple[str, ...] = ()) -> ModelBundle:
        torch.manual_seed(0)
        extra = {"num_labels": len(labels), "id2label": dict(enumerate(labels))} if labels else {}
        model = cls(BertConfig(attn_implementation="eager", **extra))
        return ModelBundle(name=f"random bert-base {task}", source="random", tokenizer=tokenizer,
                           model=prepare_model(model), task=task, labels=labels)

    mlm = bundle(BertForMaskedLM, "masked-lm")
    return Subject(
        key="bert-base",
        title="random BERT of bert-base shape (12 layers x 12 heads x 768), seed 0",
        encoder=mlm,
        mlm=mlm,
        classifier=bundle(BertForSequenceClassification, "sequence-classification", ("neg", "pos")),
        notes=["random weights: timings only"],
    )


def corpus() -> str:
    return " ".join(json.loads(line)["text"] for line in TEXT_FILE.read_text().splitlines() if line.strip())


# ---- what is timed -------------------------------------------------------------------------------

def view_ops(bundle: ModelBundle, run) -> dict[str, Callable[[], object]]:
    """Each Attention / Embeddings view's computation from a cached ModelRun, as the pages call it."""
    layer, head = min(2, run.num_layers - 1), 0
    last = run.num_layers
    return {
        "head_map": lambda: head_map(run, layer, head),
        "head_stats": lambda: head_stats(run),
        "rollout": lambda: rollout(run.attentions),
        "head_math": lambda: head_arithmetic(run, head_weights(bundle, layer, head)),
        "embeddings": lambda: (embedding_parts(run), token_similarity(run, last), mean_similarity_by_layer(run),
                               token_trajectories(run)),
        "viewer": lambda: attention_viewer_html(run, layer=layer, head=head),
    }


def one_head_figure(run) -> str:
    amap = head_map(run, min(2, run.num_layers - 1), 0)
    n = len(amap.query_tokens)
    fig = charts.matrix_heatmap(amap.weights, amap.query_tokens, amap.key_tokens, square=True,
                                height=int(min(950, max(520, 30 * n + 190))), title="one head")
    return fig.to_json()


def bertviz_model_view(run) -> str:
    """bertviz's own model_view HTML, as it returns it (CDN scripts and all)."""
    import bertviz

    attn = tuple(torch.from_numpy(np.array(run.attentions[layer][None])) for layer in range(run.num_layers))
    return bertviz.model_view(attention=attn, tokens=list(run.tokens), html_action="return").data


def captum_lig(bundle: ModelBundle, text: str, layer_path: str) -> Callable[[], np.ndarray]:
    """Captum LayerIntegratedGradients as its tutorial uses it, on a private deepcopy (it hooks the layer).

    Same target score as ours (softmax probability of the predicted class), same baseline ([PAD] at
    every non-special token), 50 Gauss-Legendre steps, all in one batch (internal_batch_size=None).
    The deepcopy is made here, outside the timed call.
    """
    from captum.attr import LayerIntegratedGradients

    model = copy.deepcopy(bundle.model)
    enc = bundle.tokenizer(text, return_tensors="pt", return_special_tokens_mask=True)
    ids = enc["input_ids"]
    ref = torch.where(enc["special_tokens_mask"].bool(), ids, torch.full_like(ids, bundle.tokenizer.pad_token_id))
    with torch.no_grad():
        target = int(model(input_ids=ids, attention_mask=enc["attention_mask"]).logits[0].argmax())

    def forward(input_ids, attention_mask, token_type_ids):
        logits = model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits
        return torch.softmax(logits, dim=-1)[:, target]

    layer = model
    for part in layer_path.split("."):
        layer = getattr(layer, part)
    lig = LayerIntegratedGradients(forward, layer)

    def run() -> np.ndarray:
        attr = lig.attribute(ids, baselines=ref, additional_forward_args=(enc["attention_mask"], enc["token_type_ids"]),
                             target=None, n_steps=50, internal_batch_size=None)
        return attr[0].sum(-1).detach().numpy()

    return run


def bench_lengths(rec: Recorder, s: Subject, lengths: list[int], source: str) -> dict[int, object]:
    """Every row of the per-model table at every length; returns the runs (for the browser step)."""
    runs = {}
    for T in lengths:
        text = text_of_length(s.encoder.tokenizer, source, T)
        print(f"  {s.key}: {T} tokens", flush=True)
        if T not in ATTRIBUTION_ONLY:
            runs[T] = bench_views(rec, s, T, text)
            bench_mlm(rec, s, T, text)
            bench_pages(rec, s, T, runs[T])
        bench_attribution(rec, s, T, text)
    return runs


def bench_views(rec: Recorder, s: Subject, T: int, text: str):
    run = run_model(s.encoder, text)
    assert run.num_tokens == T, (run.num_tokens, T)
    total = rec.time(s.key, "forward", T, lambda: run_model(s.encoder, text)).value
    for row, fn in view_ops(s.encoder, run).items():
        total += rec.time(s.key, row, T, fn).value
    estimate = flow_seconds_estimate(T, run.num_layers)
    if estimate <= FLOW_MAX_SECONDS:
        flow = rec.put(s.key, "flow", T, measure(lambda: attention_flow(run.attentions), 1, budget_s=0))
    else:
        flow = rec.put(s.key, "flow", T, Cell(estimate * 1e3, estimated=True, note="the app's own estimate"))
    if T <= FLOW_IN_SUM_UP_TO:
        total += flow.value
    rec.put(s.key, "all_views", T, Cell(total))
    rec.time(s.key, "figure", T, lambda: one_head_figure(run))
    return run


def bench_mlm(rec: Recorder, s: Subject, T: int, text: str) -> None:
    middle = (T // 2,)
    rec.time(s.key, "fill_mask", T, lambda: fill_mask(s.mlm, run_model(s.mlm, text, mask_positions=middle)))
    rec.time(s.key, "pll", T, lambda: pseudo_log_likelihood(s.mlm, text))


def bench_attribution(rec: Recorder, s: Subject, T: int, text: str) -> None:
    """Our IG and KernelSHAP, and Captum's LayerIntegratedGradients as the anchor."""
    ours = rec.time(s.key, "ig", T, lambda: attribute(s.classifier, text, method="ig", n_steps=50), keep=True)
    rec.time(s.key, "kernel_shap", T, lambda: attribute(s.classifier, text, method="kernel_shap", n_samples=256))
    for row, path in (("lig_word", "bert.embeddings.word_embeddings"), ("lig_emb", "bert.embeddings")):
        cell = rec.time(s.key, row, T, setup=lambda path=path: captum_lig(s.classifier, text, path), keep=True)
        rec.put(s.key, row + "_ratio", T, Cell(cell.value / ours.value, "ratio", cell.estimated or ours.estimated))
    captum = rec.get(s.key, "lig_word", T)
    if ours.result is not None and captum.result is not None:  # same method, same baseline: should agree
        rec.put(s.key, "ig_agree", T, Cell(float(np.corrcoef(ours.result.scores, captum.result)[0, 1]), "number"))
    ours.result = captum.result = rec.get(s.key, "lig_emb", T).result = None


def bench_pages(rec: Recorder, s: Subject, T: int, run) -> None:
    """Bytes each attention view sends to the browser, and bertviz's own page as the anchor."""
    weights = run.num_layers * run.num_heads * T * T
    page = attention_viewer_html(run)
    rec.put(s.key, "viewer_bytes", T, Cell(page.bytes, "bytes"))
    rec.put(s.key, "viewer_bpw", T, Cell(page.bytes / page.num_weights, "number"))
    rec.put(s.key, "figure_bytes", T, Cell(len(one_head_figure(run).encode()), "bytes"))
    last: dict[str, str] = {}

    def build() -> None:
        last.pop("html", None)  # at most one page of up to ~400 MB alive at a time
        last["html"] = bertviz_model_view(run)

    built = rec.time(s.key, "bertviz_build", T, build)
    if "html" in last:
        size = Cell(len(last.pop("html").encode()), "bytes")
    else:
        size = Cell(extrapolate(rec.cells[(s.key, "bertviz_bytes")], T), "bytes", estimated=True)
    rec.put(s.key, "bertviz_bytes", T, size)
    rec.put(s.key, "bertviz_bpw", T, Cell(size.value / weights, "number", size.estimated))
    offline = bertviz_html(run, "model")
    shown = (f"{len(offline.layers)} of {run.num_layers} layers x {len(offline.heads)} of {run.num_heads} heads"
             if offline.notice else "every head")
    rec.put(s.key, "offline_bertviz_bytes", T, Cell(offline.bytes, "bytes", note=shown))
    rec.put(s.key, "bertviz_build_ratio", T,
            Cell(built.value / rec.get(s.key, "viewer", T).value, "ratio", built.estimated))
    rec.put(s.key, "bertviz_bytes_ratio", T, Cell(size.value / page.bytes, "ratio", size.estimated))


def bench_page_reruns(rec: Recorder, s: Subject, lengths: list[int], source: str) -> None:
    """Each page's rerun after a text edit (AppTest), cheapest view open, at each length.

    Every timed edit types a text of exactly T tokens that the session has not seen (consecutive
    stretches of the held-out reviews). Too slow to run (extrapolated beyond --max-seconds): estimated.
    """
    tokenizer = s.encoder.tokenizer
    stride = max(len(source) // 64, 1)
    for page, (_, model, state) in PAGES.items():
        print(f"  page {page}", flush=True)
        timer = PageTimer(page, s.specs[model], state)
        for T in lengths:
            texts = fresh_texts(lambda k, T=T: text_of_length(tokenizer, source[(k + 1) * stride:], T),
                                count=rec.repeats + 1)  # measure's warm-up edit, then the timed ones
            rec.time("pages", page, T, lambda texts=texts, timer=timer: timer.edit(next(texts)))


# ---- tables --------------------------------------------------------------------------------------

ROWS = (  # (key, label); None key = section heading
    (None, "compute"),
    ("forward", "forward with attentions (run_model)"),
    ("head_map", "  head map (one head)"),
    ("head_stats", "  head statistics (7 per head)"),
    ("rollout", "  rollout"),
    ("head_math", "  one head's arithmetic"),
    ("embeddings", "  embeddings: parts, similarity, trajectories"),
    ("viewer", "  light viewer HTML build (all heads)"),
    ("flow", f"  attention flow (run if its estimate <= {FLOW_MAX_SECONDS:.0f} s)"),
    ("all_views", f"= all views after a text edit (flow up to {FLOW_IN_SUM_UP_TO} tok)"),
    ("figure", "one-head plotly figure + to_json (not in sum)"),
    ("fill_mask", "fill-mask (forward + MLM head, 1 mask)"),
    ("pll", "pseudo-log-likelihood (T-2 masked copies)"),
    ("ig", "Integrated Gradients, 50 steps"),
    ("kernel_shap", "KernelSHAP, 256 samples"),
    (None, "bytes sent to the browser"),
    ("viewer_bytes", "light viewer page (all heads)"),
    ("viewer_bpw", "  bytes per weight"),
    ("figure_bytes", "one-head plotly figure JSON"),
    ("bertviz_bytes", "bertviz model_view HTML, as bertviz returns it"),
    ("bertviz_bpw", "  bytes per weight"),
    ("offline_bertviz_bytes", "our offline bertviz model view (<= 100k weights)"),
    (None, "anchors, same run"),
    ("bertviz_build", "bertviz model_view build"),
    ("bertviz_build_ratio", "  / our light viewer build"),
    ("bertviz_bytes_ratio", "  / our light viewer bytes"),
    ("lig_word", "Captum LayerIG on word_embeddings (1 batch)"),
    ("lig_word_ratio", "  / our IG"),
    ("lig_emb", "Captum LayerIG on bert.embeddings (1 batch)"),
    ("lig_emb_ratio", "  / our IG"),
    ("ig_agree", "corr(our IG, Captum LayerIG word_embeddings)"),
)


def fmt(cell: Cell | None) -> str:
    if cell is None:
        return "."
    v = cell.value
    if cell.kind == "ms":
        text = (f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms" if v < 100 else f"{v:.0f} ms" if v < 1000
                else f"{v / 1e3:.2f} s" if v < 60_000 else f"{v / 1e3:.0f} s")
    elif cell.kind == "bytes":
        text = f"{v / 1e3:.1f} kB" if v < 1e6 else f"{v / 1e6:.1f} MB"
    elif cell.kind == "ratio":
        text = f"{v:.1f}x" if v < 100 else f"{v:.0f}x"
    else:
        text = f"{v:.3f}"
    return ("~" + text if cell.estimated else text) + (" +" if cell.note and cell.kind == "bytes" else "")


def table(title: str, header: list[str], rows: list[list[str]]) -> str:
    """Plain-text table: first column left-aligned, the others right-aligned; a row of one cell is a heading."""
    width = [max(len(r[i]) for r in [header, *rows] if len(r) > i) for i in range(len(header))]
    def line(r: list[str]) -> str:
        if len(r) == 1:
            return r[0]
        return "  ".join([r[0].ljust(width[0])] + [c.rjust(w) for c, w in zip(r[1:], width[1:])])
    rule = "-" * (sum(width) + 2 * (len(width) - 1))
    return "\n".join([title, rule, line(header), rule, *(line(r) for r in rows), rule])


def model_table(rec: Recorder, s: Subject, lengths: list[int]) -> str:
    rows = []
    for key, label in ROWS:
        if key is None:
            rows.append([f"[{label}]"])
        elif any(rec.get(s.key, key, T) for T in lengths):
            rows.append([label] + [fmt(rec.get(s.key, key, T)) for T in lengths])
    foot = ["~ = estimated, not run (longer than --max-seconds; flow: the app's own estimate); . = not measured"]
    offline = rec.cells.get((s.key, "offline_bertviz_bytes"), {})
    if offline:
        foot.append("+ offline bertviz page shows: " + ", ".join(f"{T} tok {c.note}" for T, c in sorted(offline.items())))
    return table(s.title + "  (" + "; ".join(s.notes) + ")", ["tokens"] + [str(T) for T in lengths], rows) + "\n" + "\n".join(foot)


def pages_table(rec: Recorder, s: Subject, lengths: list[int]) -> str:
    rows = [[f"{page} ({view}; {s.specs[model]})"] + [fmt(rec.get("pages", page, T)) for T in lengths]
            for page, (view, model, _) in PAGES.items()]
    title = (f"Page rerun after a text edit (AppTest: the page script as the server reruns it, no browser); "
             f"target {PAGE_TARGET_MS:.0f} ms at {PAGE_TARGET_TOKENS} tokens")
    return table(title, ["page (view open; model)"] + [str(T) for T in lengths], rows)


def browser_table(b: dict) -> str:
    cold, v = b.get("cold_start", {}), b.get("viewer_12x12x256", {})
    starts = ", ".join(f"{x:.2f}" for x in cold.get("first_chart_runs_s", []))
    rows = [
        [f"[cold start of the app, Debian Chromium; target {COLD_START_TARGET_MS / 1e3:.0f} s to the first chart]"],
        ["process start -> /_stcore/health ok", f"{cold.get('health_s', float('nan')):.2f} s"],
        [f"process start -> first chart visible (/attention), median of {cold.get('runs', 0)}",
         f"{cold.get('first_chart_s', float('nan')):.2f} s"],
        ["  each start", f"{starts} s"],
        ["same server, new tab -> first chart visible", f"{cold.get('warm_first_chart_s', float('nan')):.2f} s"],
        ["[12 x 12 heads at 256 tokens (random bert-base run), light viewer]"],
        ["page size", f"{v.get('bytes', 0) / 1e6:.1f} MB"],
        ["in page: decode", f"{v.get('decode_ms', float('nan')):.0f} ms"],
        ["in page: 144 thumbnails", f"{v.get('thumbs_ms', float('nan')):.0f} ms"],
        ["in page: first draw (after decode)", f"{v.get('first_draw_ms', float('nan')):.0f} ms"],
        ["in page: total (script start -> drawn)", f"{v.get('total_ms', float('nan')):.0f} ms"],
        ["set_content -> ready (incl. Playwright transfer + HTML parse)", f"{v.get('set_content_to_ready_ms', float('nan')):.0f} ms"],
        ["redraw everything", f"{v.get('redraw_all_ms', float('nan')):.0f} ms"],
    ]
    return table("Browser", ["", "value"], rows)


def targets(rec: Recorder, b: dict) -> list[dict]:
    """Every target with its limit, the measured value and PASS / FAIL (n/a: not measured in this run;
    an estimated value, marked "~", is judged like a measured one)."""
    labels = {"all_views": "all views after a text edit", "ig": "Integrated Gradients, 50 steps"}
    out = []
    cold = b.get("cold_start")
    out.append({"target": "cold start: server process start -> first chart visible in Chromium",
                "limit_ms": COLD_START_TARGET_MS, "measured_ms": None if not cold else cold["first_chart_s"] * 1e3})
    for page, (view, _, _) in PAGES.items():
        cell = rec.get("pages", page, PAGE_TARGET_TOKENS)
        out.append({"target": f"{page} page rerun after a text edit ({view}), {PAGE_TARGET_TOKENS} tokens",
                    "limit_ms": PAGE_TARGET_MS, "measured_ms": None if cell is None else cell.value,
                    "estimated": bool(cell and cell.estimated)})
    for row, model, T, limit in TARGETS:
        cell = rec.get(model, row, T)
        out.append({"target": f"{labels[row]}, default model, {T} tokens", "limit_ms": limit,
                    "measured_ms": None if cell is None else cell.value, "estimated": bool(cell and cell.estimated)})
    v = b.get("viewer_12x12x256")
    out.append({"target": "12 x 12 heads at 256 tokens drawn in Chromium (page's own total)", "limit_ms": VIEWER_TARGET_MS,
                "measured_ms": None if not v else v["total_ms"]})
    for t in out:
        t.setdefault("estimated", False)
        t["result"] = "n/a" if t["measured_ms"] is None else "PASS" if t["measured_ms"] <= t["limit_ms"] else "FAIL"
    return out


def targets_table(ts: list[dict]) -> str:
    def ms(t: dict) -> str:
        if t["measured_ms"] is None:
            return "-"
        return fmt(Cell(t["measured_ms"], estimated=t["estimated"]))

    def limit(t: dict) -> str:
        return f"{t['limit_ms']:g} rows/s" if t.get("unit") == "rows/s" else fmt(Cell(t["limit_ms"]))

    def measured(t: dict) -> str:
        if t.get("unit") == "rows/s" and t["measured_ms"] is not None:
            return f"{t['measured_ms']:.0f} rows/s"
        return ms(t)

    rows = [[t["target"], limit(t), measured(t), t["result"]] for t in ts]
    return table("Targets", ["target", "limit", "measured", "result"], rows)


# ---- data set and model comparison (their own modules; anchors inside each) -------------------------


def bench_data(quick: bool) -> dict:
    """benchmarks/dataset.py (evaluation rows/s, aggregated IG vs a Captum per-row loop) and benchmarks/compare.py."""
    from benchmarks import compare, dataset

    print("  data set", flush=True)
    out = {"dataset": dataset.measure(quick)}
    print("  compare", flush=True)
    out["compare"] = compare.measure(quick)
    return out


def data_targets(data: dict) -> list[dict]:
    """The data-set and comparison targets in the shape of `targets` (limits in ms; rows/s as its own unit)."""
    out = []
    for name, t in data.get("dataset", {}).get("targets", {}).items():
        rate = name.endswith("per_second")
        out.append({"target": name.replace("_", " "), "limit_ms": t["limit"] if rate else t["limit"] * 1e3,
                    "measured_ms": t["measured"] if rate else t["measured"] * 1e3, "estimated": bool(t.get("estimated")),
                    "unit": "rows/s" if rate else "ms", "result": "PASS" if t["pass"] else "FAIL"})
    for t in data.get("compare", {}).get("targets", []):
        out.append({"target": f"compare: {t['target']}", "limit_ms": t["limit_ms"], "measured_ms": t["measured_ms"],
                    "estimated": False, "result": "PASS" if t["pass"] else "FAIL"})
    return out


def data_table(data: dict) -> str:
    rows = []
    ds = data.get("dataset", {})
    if ds:
        ev, ig = ds["evaluation"], ds["aggregated_ig"]
        rows += [[f"{k}", json.dumps(v)] for k, v in ev.items()]
        rows += [[f"Ray Data, local actors: {k}", json.dumps(v)] for k, v in ds.get("ray", {}).items()]
        rows += [[f"aggregated IG: {k}", json.dumps(v)] for k, v in ig.items()]
        rows += [[f"heads: {k}", json.dumps(v)] for k, v in ds.get("heads", {}).items()]
    for name, cell in data.get("compare", {}).get("cells", {}).items():
        rows.append([f"compare: {name}", json.dumps(cell)])
    return table("Data set and comparison (sentiment head, 300 held-out reviews)", ["", "value"], rows)


# ---- machine, output, main -----------------------------------------------------------------------


def machine_info() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    versions = {"python": platform.python_version()}
    for dist in ("torch", "transformers", "captum", "streamlit", "plotly", "bertviz", "numpy", "scipy", "playwright"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    try:
        versions["chromium"] = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True,
                                              timeout=20, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        versions["chromium"] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(), "versions": versions,
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


def to_json(rec: Recorder, info: dict, browser: dict, ts: list[dict], args, seconds: float, loads: list) -> dict:
    rows = []
    for (model, row), cells in rec.cells.items():
        for T, c in sorted(cells.items()):
            rows.append({"model": model, "row": row, "tokens": T, "value": c.value, "unit": c.kind,
                         "estimated": c.estimated, "runs": c.runs, "note": c.note})
    return {"machine": info, "mode": "quick" if args.quick else "full", "args": vars(args),
            "load_average_1min": loads, "rows": rows, "browser": browser, "targets": ts,
            "total_seconds": seconds, "command": "python benchmarks/run.py " + " ".join(sys.argv[1:])}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="default model only, 16/32/64 tokens, pages at 64/128 tokens, one cold start")
    p.add_argument("--no-browser", action="store_true", help="skip the Chromium measurements")
    p.add_argument("--no-pages", action="store_true", help="skip the per-page rerun times (AppTest)")
    p.add_argument("--no-data", action="store_true",
                   help="skip the data-set and model-comparison parts (benchmarks/dataset.py, benchmarks/compare.py)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    p.add_argument("--repeats", type=int, default=None, help="timed calls per cell after a warm-up (default 5; quick 3)")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="estimate instead of running a call expected to take longer (default 60; quick 5)")
    p.add_argument("--out", type=Path, default=OUT, help="JSON output (default benchmarks/latest.json)")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = args.repeats or (3 if args.quick else 5)
    max_seconds = args.max_seconds or (5.0 if args.quick else 60.0)
    lengths = [16, 32, 64] if args.quick else [16, 32, 64, 128, 256]
    info = machine_info()
    loads = [os.getloadavg()[0]]
    print(f"{info['cpu']}, {info['cores']} cores, torch threads {info['torch_threads']}, load {loads[0]:.2f}", flush=True)
    rec = Recorder(repeats, max_seconds)
    source = corpus()
    default = default_subject()
    subjects = [default] if args.quick else [default, bert_base_subject(default.encoder.tokenizer)]
    runs = {}
    for s in subjects:
        runs[s.key] = bench_lengths(rec, s, lengths, source)
        loads.append(os.getloadavg()[0])
    page_lengths = [64, PAGE_TARGET_TOKENS] if args.quick else [64, PAGE_TARGET_TOKENS, 512]
    if not args.no_pages:
        bench_page_reruns(rec, default, page_lengths, source)
        loads.append(os.getloadavg()[0])
    browser = {}
    if not args.no_browser:
        print("  browser", flush=True)
        big = runs.get("bert-base", {}).get(256) or run_model(
            bert_base_subject(default.encoder.tokenizer).encoder, text_of_length(default.encoder.tokenizer, source, 256))
        browser = bench_browser(big, repeats, cold_starts=1 if args.quick else 3)
        loads.append(os.getloadavg()[0])
    data = {} if args.no_data else bench_data(args.quick)
    if data:
        loads.append(os.getloadavg()[0])
    ts = targets(rec, browser) + data_targets(data)
    seconds = time.perf_counter() - started
    report = [model_table(rec, s, lengths) for s in subjects]
    if not args.no_pages:
        report.append(pages_table(rec, default, page_lengths))
    if browser:
        report.append(browser_table(browser))
    if data:
        report.append(data_table(data))
    report.append(targets_table(ts))
    print()
    print("\n\n".join(report))
    print(f"\nMachine: {info['cpu']}, {info['cores']} cores, torch threads {info['torch_threads']}; "
          f"1-min load average during the run: {', '.join(f'{x:.2f}' for x in loads)}.")
    print(f"Whole run: {seconds:.0f} s. JSON: {args.out}")
    result = to_json(rec, info, browser, ts, args, seconds, loads) | {"data": data}
    args.out.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
