"""Every family the README claims, end to end, from checkpoint folders saved the way a user saves them.

For BERT, RoBERTa, XLM-R, CamemBERT, DistilBERT and ELECTRA, tiny random checkpoints (tests/families.py)
with every head the family has are loaded through `load_model(folder)` and checked against the model's
own forward pass: the run, every attention view and one head's arithmetic, fill-mask / logit lens / PLL /
NSP (MLM heads), every attribution method, layer attributions and head importance (classifiers).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explain import run_model
from explain.attention.bertviz_offline import bertviz_html
from explain.attention.head_math import head_arithmetic, head_weights
from explain.attention.head_stats import STATISTICS, head_stats
from explain.attention.maps import attention_flow, head_map, rollout
from explain.attention.viewer import _json_for_script, attention_viewer_html
from explain.attribution.core import hook_snapshot
from explain.attribution.faithfulness import completeness, faithfulness_curves
from explain.attribution.methods import METHODS, attribute, head_importance, layer_attributions, score_with_head_gates
from explain.embeddings import embedding_parts
from explain.mlm import fill_mask, layer_lens, next_sentence_probability, pseudo_log_likelihood
from explain.models.arch import embeddings_of
from explain.positions import learned_positions, token_type_table
from tests.families import (
    BPE_FAMILIES,
    FAMILY_HEADS,
    MAX_POSITIONS,
    SEQ_LABELS,
    TOK_LABELS,
    embedding_output_from_parts,
)

pytestmark = pytest.mark.filterwarnings("ignore:Setting forward, backward hooks:UserWarning")

TEXT = "The animal didn't cross the street because it was too tired."
PAIR = "It was late."
ALL = [f"{f}-{h}" for f, heads in FAMILY_HEADS.items() for h in heads]
MLM = [c for c in ALL if c.endswith("-mlm")] + ["bert-pretraining"]
CLASSIFIERS = [c for c in ALL if c.endswith(("-seq", "-tok"))]
# What `load_model` should make of each head: the task it reports.
EXPECTED_TASK = {"mlm": "masked-lm", "seq": "sequence-classification", "tok": "token-classification"}


def expected_task(ck_id: str) -> str:
    family, head = ck_id.rsplit("-", 1)
    if head == "pretraining":
        return "pretraining" if family == "bert" else "encoder"  # ELECTRA's discriminator: no MLM head
    return EXPECTED_TASK[head]


def own_forward(bundle, text=TEXT, pair=PAIR, **kw):
    """The checkpoint's own forward pass on the tokenizer's output: positions and types as the model makes them."""
    enc = bundle.tokenizer(text, pair, return_tensors="pt", truncation=True, max_length=bundle.max_tokens)
    enc.pop("token_type_ids", None) if not bundle.arch.has_token_types else None
    with torch.inference_mode():
        return enc, bundle.model(**enc, output_attentions=True, output_hidden_states=True, **kw)


def masked_text(bundle) -> str:
    return f"The capital of France is {bundle.mask_token}."


# ---- load and run ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ck_id", ALL)
def test_folder_loads_with_its_head_and_runs_like_the_model(family_bundle, ck_id):
    bundle = family_bundle(ck_id)
    family, head = ck_id.rsplit("-", 1)
    assert bundle.config.model_type == family and bundle.task == expected_task(ck_id)
    assert bundle.num_layers == 2 and bundle.num_heads == 4 and bundle.max_tokens == MAX_POSITIONS
    assert bundle.labels == {"seq": SEQ_LABELS, "tok": TOK_LABELS}.get(head, ())
    assert bundle.has_mlm == (head == "mlm" or ck_id == "bert-pretraining")
    assert bundle.has_nsp == (ck_id == "bert-pretraining")
    assert not bundle.model.training and not any(p.requires_grad for p in bundle.model.parameters())

    run = run_model(bundle, TEXT, PAIR)
    enc, out = own_forward(bundle)
    assert run.tokens[0] == bundle.tokenizer.cls_token and run.tokens[-1] == bundle.tokenizer.sep_token
    np.testing.assert_array_equal(run.input_ids, enc["input_ids"][0].numpy())
    assert run.segment[0] == 0 and run.segment[-1] == 1 and run.segment.sum() > 1  # text B found
    T = run.num_tokens
    assert run.attentions.shape == (2, 4, T, T)
    np.testing.assert_allclose(run.attentions.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(run.attentions, torch.stack(out.attentions)[:, 0].numpy(), atol=1e-6)
    np.testing.assert_allclose(run.hidden_states, torch.stack(out.hidden_states)[:, 0].numpy(), atol=1e-5)
    if run.head_logits is not None:
        np.testing.assert_allclose(run.head_logits, out.logits[0].numpy(), atol=1e-5)
    assert (run.head_logits is not None) == bundle.task.endswith("classification")


@pytest.mark.parametrize("family", list(FAMILY_HEADS))
def test_embedding_parts_add_up_to_the_models_embedding_output(family_bundle, family):
    """LayerNorm(word + position + segment) is the first hidden state: checks the position offset
    (RoBERTa-like models number positions from padding_idx + 1) and the absence of token types."""
    bundle = family_bundle(f"{family}-mlm")
    run = run_model(bundle, TEXT, PAIR)
    offset = 2 if family in BPE_FAMILIES else 0
    np.testing.assert_array_equal(run.position_ids, np.arange(run.num_tokens) + offset)
    np.testing.assert_allclose(embedding_output_from_parts(bundle, run), run.hidden_states[0], atol=1e-5)
    parts = embedding_parts(run)
    assert np.all(parts.word > 0) and np.all(parts.position > 0)
    assert (token_type_table(bundle) is None) == (family == "distilbert")
    assert np.all(parts.segment == 0) == (family == "distilbert")
    table = learned_positions(bundle)
    assert table.shape[0] == MAX_POSITIONS
    np.testing.assert_allclose(table[: run.num_tokens], run.position_part, atol=1e-6)


@pytest.mark.parametrize("family", list(FAMILY_HEADS))
def test_overlong_text_is_cut_to_the_position_table(family_bundle, family):
    bundle = family_bundle(f"{family}-mlm")
    run = run_model(bundle, "word " * 500, "and more " * 50)
    assert run.num_tokens == MAX_POSITIONS and run.truncated_from > MAX_POSITIONS
    assert run.position_ids.max() < bundle.config.max_position_embeddings


# ---- attention views ---------------------------------------------------------------------------


@pytest.mark.parametrize("ck_id", ALL)
def test_every_attention_view_and_the_math_of_every_head(family_bundle, ck_id):
    bundle = family_bundle(ck_id)
    run = run_model(bundle, TEXT, PAIR)
    T = run.num_tokens
    amap = head_map(run, 1, 3, hide_special=True, renormalize=True)
    assert len(amap.query_tokens) == T - run.special.sum() >= T - 4  # [CLS] A [SEP] B [SEP] or <s> A </s></s> B </s>
    np.testing.assert_allclose(amap.weights.sum(1), 1.0)
    stats = head_stats(run)
    for name in STATISTICS:
        assert stats[name].shape == (2, 4) and np.all(np.isfinite(stats[name]))
    np.testing.assert_allclose(stats["cls"], run.attentions[..., 0].mean(-1), atol=1e-6)
    roll = rollout(run.attentions)
    np.testing.assert_allclose(roll.sum(-1), 1.0, atol=1e-9)
    short = run_model(bundle, "The animal was tired.")  # flow is T^2 max-flow problems: a short text
    flow = attention_flow(short.attentions)
    assert flow.shape == (short.num_tokens,) * 2 and np.all(flow >= 0)
    assert flow.max() <= 1 + 1e-5  # no more than a token's whole attention can flow through one path
    viewer = attention_viewer_html(run, layer=1, head=2)
    assert viewer.bytes > 0 and _json_for_script(bundle.tokenizer.cls_token) in viewer.html
    for view in ("head", "model"):
        page = bertviz_html(run, view=view)
        assert "cdnjs" not in page.html and "attention" in page.html
    for layer in range(2):
        for head in range(4):
            calc = head_arithmetic(run, head_weights(bundle, layer, head))
            assert calc.max_abs_error < 1e-5, (layer, head, calc.max_abs_error)


# ---- masked-language-model heads ---------------------------------------------------------------


@pytest.mark.parametrize("ck_id", MLM)
def test_fill_mask_logit_lens_and_pll_match_the_models_own_head(family_bundle, ck_id):
    bundle = family_bundle(ck_id)
    text = masked_text(bundle)
    run = run_model(bundle, text)
    fm = fill_mask(bundle, run, top_k=5)
    enc = bundle.tokenizer(text, return_tensors="pt")
    enc.pop("token_type_ids", None) if not bundle.arch.has_token_types else None
    with torch.inference_mode():
        out = bundle.model(**enc)
    logits = out.prediction_logits if hasattr(out, "prediction_logits") else out.logits
    pos = int(np.flatnonzero(run.input_ids == bundle.tokenizer.mask_token_id)[0])
    probs = torch.softmax(logits[0, pos].double(), -1).numpy()
    assert list(fm.positions) == [pos]
    np.testing.assert_array_equal(fm.top_ids[0], np.argsort(-probs)[:5])
    np.testing.assert_allclose(fm.top_probs[0], np.sort(probs)[::-1][:5], atol=1e-6)
    lens = layer_lens(bundle, run, pos, top_k=5)
    np.testing.assert_allclose(lens.top_probs[-1], fm.top_probs[0], atol=1e-5)
    assert lens.top_probs.shape == (3, 5)

    pll = pseudo_log_likelihood(bundle, TEXT)
    ids = bundle.tokenizer(TEXT, return_tensors="pt")["input_ids"]
    special = np.array(bundle.tokenizer.get_special_tokens_mask(ids[0].tolist(), already_has_special_tokens=True), bool)
    expected = []
    for p in np.flatnonzero(~special):  # one masked copy at a time, through the whole MLM model
        masked = ids.clone()
        masked[0, p] = bundle.tokenizer.mask_token_id
        with torch.inference_mode():
            o = bundle.model(input_ids=masked)
        lg = o.prediction_logits if hasattr(o, "prediction_logits") else o.logits
        expected.append(torch.log_softmax(lg[0, p].double(), -1)[ids[0, p]].item())
    np.testing.assert_allclose(pll.log_probs, expected, atol=1e-5)


def test_next_sentence_prediction_of_bert_pretraining(family_bundle):
    bundle = family_bundle("bert-pretraining")
    run = run_model(bundle, TEXT, PAIR)
    _, out = own_forward(bundle)
    expected = torch.softmax(out.seq_relationship_logits[0].double(), -1)[0].item()
    assert next_sentence_probability(run) == pytest.approx(expected, abs=1e-6)
    assert next_sentence_probability(run_model(bundle, TEXT)) is None  # no text B


# ---- classifiers: attributions, layers, heads --------------------------------------------------


# Integration steps and completeness tolerance (share of f(x) - f(baseline)) for IG and layer IG / conductance.
# DistilBERT's sequence head puts a ReLU (pre_classifier) before the classifier: its gradient jumps along the
# path, so the quadrature converges slowly and unevenly (on this random model: 51 % at 50 steps, 6 % at 200).
STEPS = {"distilbert-seq": (200, 100, 200, 0.10)}
DEFAULT_STEPS = (50, 20, 100, 0.05)  # IG, layer IG, conductance, tolerance


def explained_token(bundle):
    return 3 if bundle.task == "token-classification" else None


def own_scores(bundle, ids: torch.Tensor, target: int, token_index, fixed_positions: bool = False) -> np.ndarray:
    """Target probabilities of id rows through the model's own forward.

    The model numbers positions itself unless `fixed_positions`: RoBERTa-like models skip pad tokens
    when they count, whereas BERT Lens keeps every token at its place when it replaces one by [PAD].
    """
    extra = {}
    if fixed_positions:
        offset = 2 if bundle.config.model_type in BPE_FAMILIES else 0
        extra["position_ids"] = (torch.arange(ids.shape[1]) + offset).expand(ids.shape[0], -1)
    with torch.inference_mode():
        logits = bundle.model(input_ids=ids, attention_mask=torch.ones_like(ids), **extra).logits
    if token_index is not None:
        logits = logits[:, token_index]
    return torch.softmax(logits.double(), -1)[:, target].numpy()


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("ck_id", CLASSIFIERS)
def test_every_attribution_method(family_bundle, ck_id, method):
    bundle = family_bundle(ck_id)
    before = hook_snapshot(bundle.model)
    ig_steps, _, _, tolerance = STEPS.get(ck_id, DEFAULT_STEPS)
    options = {"n_samples": 64} if METHODS[method].kind == "perturbation" and method != "occlusion" else {}
    options.update(n_steps=ig_steps) if method == "ig" else None
    a = attribute(bundle, TEXT, method=method, token_index=explained_token(bundle), **options)
    ids = bundle.tokenizer(TEXT, return_tensors="pt")["input_ids"]
    assert a.tokens == tuple(bundle.tokenizer.convert_ids_to_tokens(ids[0].tolist()))
    assert a.scores.shape == (ids.shape[1],) and np.all(np.isfinite(a.scores))
    f_x = own_scores(bundle, ids, a.target, a.token_index)[0]
    assert a.target_score == pytest.approx(f_x, abs=1e-5)
    if method == "ig":  # completeness: the scores add up to f(x) - f(baseline)
        gap = a.target_score - a.baseline_score
        assert abs(gap) > 1e-3 and abs(a.delta) < tolerance * abs(gap)
        assert completeness(a).relative < tolerance
    if method == "occlusion":  # f(x) - f(x with token i replaced by the pad token), by hand
        content = np.flatnonzero(~a.special)
        rows = ids.repeat(len(content), 1)
        rows[torch.arange(len(content)), torch.from_numpy(content)] = bundle.tokenizer.pad_token_id
        occluded = own_scores(bundle, rows, a.target, a.token_index, fixed_positions=True)
        np.testing.assert_allclose(a.scores[content], f_x - occluded, atol=1e-5)
    if method == "input_x_gradient":  # embedding . d score / d embedding, by hand
        embeds = embeddings_of(bundle.model).word_embeddings(ids).detach().requires_grad_()
        logits = bundle.model(inputs_embeds=embeds, attention_mask=torch.ones_like(ids)).logits
        logits = logits[:, a.token_index] if a.token_index is not None else logits
        (grad,) = torch.autograd.grad(torch.softmax(logits, -1)[0, a.target], embeds)
        np.testing.assert_allclose(a.scores, (embeds * grad).sum(-1)[0].detach().numpy(), atol=1e-5)
    assert hook_snapshot(bundle.model) == before


@pytest.mark.slow
@pytest.mark.parametrize("ck_id", CLASSIFIERS)
def test_layer_attributions_faithfulness_and_head_importance(family_bundle, ck_id):
    bundle = family_bundle(ck_id)
    token_index = explained_token(bundle)
    _, layer_steps, conductance_steps, tolerance = STEPS.get(ck_id, DEFAULT_STEPS)
    la = layer_attributions(bundle, TEXT, PAIR, token_index=token_index, n_steps=layer_steps)
    T = run_model(bundle, TEXT, PAIR).num_tokens
    assert la.scores.shape == (3, T)
    gap = la.target_score - la.baseline_score
    assert abs(gap) > 1e-3 and np.all(np.abs(la.deltas) < tolerance * abs(gap)), la.deltas
    cond = layer_attributions(bundle, TEXT, PAIR, method="conductance", token_index=token_index,
                              n_steps=conductance_steps)
    assert np.all(np.abs(cond.deltas) < tolerance * abs(gap)), cond.deltas

    importance = head_importance(bundle, TEXT, PAIR, token_index=token_index, signed=True)
    assert importance.shape == (2, 4)
    # d score / d gate by central differences through the gate hooks, a path independent of the gradient's
    eps = 1e-2
    gates = np.ones((16, 2, 4))
    for n, (layer, head) in enumerate(np.ndindex(2, 4)):
        gates[2 * n, layer, head] += eps
        gates[2 * n + 1, layer, head] -= eps
    f = score_with_head_gates(bundle, TEXT, gates, PAIR, token_index=token_index)
    numeric = ((f[0::2] - f[1::2]) / (2 * eps)).reshape(2, 4)
    np.testing.assert_allclose(importance, numeric, atol=2e-3 * max(1.0, np.abs(numeric).max()))
    ones = score_with_head_gates(bundle, TEXT, np.ones((2, 4)), PAIR, token_index=token_index)
    assert ones[0] == pytest.approx(la.target_score, abs=1e-5)
    ablation = head_importance(bundle, TEXT, PAIR, token_index=token_index, method="ablation")
    assert ablation.shape == (2, 4) and np.all(np.isfinite(ablation))

    a = attribute(bundle, TEXT, PAIR, method="ig", token_index=token_index, n_steps=20)
    curves = faithfulness_curves(bundle, a)
    assert curves.deletion[0] == pytest.approx(a.target_score, abs=1e-5)


@pytest.mark.parametrize("family", list(FAMILY_HEADS))
def test_a_typed_pad_token_keeps_its_place(family_bundle, family):
    """RoBERTa-like models count positions past pad tokens only when left to number them; BERT Lens passes
    the positions, so the run, the embedding parts and the attributions agree on a typed [PAD] / <pad>."""
    from explain.attribution.core import prepare

    bundle = family_bundle(f"{family}-seq")
    text = f"a {bundle.tokenizer.pad_token} b"
    run = run_model(bundle, text)
    assert bundle.tokenizer.pad_token in run.tokens
    np.testing.assert_allclose(run.head_logits, prepare(bundle, text).logits, atol=1e-5)
    np.testing.assert_allclose(embedding_output_from_parts(bundle, run), run.hidden_states[0], atol=1e-5)


def test_roberta_positions_follow_the_checkpoints_pad_id(tmp_path):
    """A home-made RoBERTa whose tokenizer gives <pad> the id 0 numbers positions from 1, not 2."""
    from transformers import RobertaForSequenceClassification

    from explain import load_model
    from tests.families import bpe_tokenizer, family_config

    tok = bpe_tokenizer(pad_first=True)
    assert tok.pad_token_id == 0
    tok.save_pretrained(tmp_path)
    torch.manual_seed(0)
    RobertaForSequenceClassification(family_config("roberta", len(tok), 0, num_labels=2)).save_pretrained(tmp_path)
    bundle = load_model(str(tmp_path))
    assert bundle.arch.position_offset == 1 and bundle.max_tokens == MAX_POSITIONS
    run = run_model(bundle, TEXT, PAIR)
    _, out = own_forward(bundle)
    np.testing.assert_array_equal(run.position_ids, np.arange(run.num_tokens) + 1)
    np.testing.assert_allclose(run.head_logits, out.logits[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(run.hidden_states, torch.stack(out.hidden_states)[:, 0].numpy(), atol=1e-5)
    long = run_model(bundle, "word " * 200)
    assert long.num_tokens == MAX_POSITIONS and long.position_ids.max() < bundle.config.max_position_embeddings


@pytest.mark.parametrize("family", ["xlm-roberta", "camembert"])
def test_sentencepiece_tokenizer_of_real_xlmr_and_camembert(tmp_path, family):
    """Real XLM-R and CamemBERT tokenize with SentencePiece ("▁" word starts), not byte-level BPE."""
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification

    from explain import load_model
    from explain.attribution.words import merge_words
    from tests.families import family_config, sentencepiece_tokenizer

    tok = sentencepiece_tokenizer()
    for head, cls, extra in (("mlm", AutoModelForMaskedLM, {}), ("seq", AutoModelForSequenceClassification,
                                                                {"num_labels": 2})):
        (tmp_path / head).mkdir()
        tok.save_pretrained(tmp_path / head)
        torch.manual_seed(0)
        cls.from_config(family_config(family, len(tok), tok.pad_token_id, **extra)).save_pretrained(tmp_path / head)
    clf, mlm = load_model(str(tmp_path / "seq")), load_model(str(tmp_path / "mlm"))
    run = run_model(clf, TEXT, PAIR)
    _, out = own_forward(clf)
    assert any(t.startswith("▁") for t in run.tokens) and run.segment[-1] == 1
    np.testing.assert_allclose(run.head_logits, out.logits[0].numpy(), atol=1e-5)
    a = attribute(clf, TEXT, method="ig")
    assert abs(a.delta) < 0.05 * abs(a.target_score - a.baseline_score)
    words = merge_words(a).words
    assert "animal" in words and "street" in words and "▁" not in "".join(words)
    fm = fill_mask(mlm, run_model(mlm, masked_text(mlm)))
    assert len(fm.positions) == 1 and fm.top_probs[0, 0] > 0
    assert len(pseudo_log_likelihood(mlm, TEXT).log_probs) == run_model(mlm, TEXT).num_tokens - 2
