"""What the benchmark times for one model and length: every view from a cached run, fill-mask and PLL, the
attributions with Captum's LayerIntegratedGradients as the anchor, the bytes each attention view sends, and
each page's rerun after a text edit (AppTest)."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch

from benchmarks.measure import Cell, Recorder, extrapolate, measure, text_of_length
from benchmarks.pages import PageTimer, fresh_texts
from benchmarks.subjects import Subject
from bert_lens import charts
from explain import ModelBundle, attribute, run_model
from explain.attention.bertviz_offline import bertviz_html
from explain.attention.head_math import head_arithmetic, head_weights
from explain.attention.head_stats import head_stats
from explain.attention.maps import attention_flow, flow_seconds_estimate, head_map, rollout
from explain.attention.viewer import attention_viewer_html
from explain.embeddings import embedding_parts, mean_similarity_by_layer, token_similarity, token_trajectories
from explain.mlm import fill_mask, pseudo_log_likelihood

FLOW_MAX_SECONDS = 5.0  # attention flow is run only when its own estimate is at most this
FLOW_IN_SUM_UP_TO = 32  # the app computes flow at once for short texts only; beyond, on a button press
ATTRIBUTION_ONLY = (32,)  # lengths measured for the attribution rows only (the IG target is at 32 tokens)
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
