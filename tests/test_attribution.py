"""Attributions: exactness against manual autograd / forwards / Captum, completeness, determinism,
no hooks left on the shared model, thread safety, head gates, faithfulness curves."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
import torch
from captum.attr import LayerIntegratedGradients
from transformers import BertForSequenceClassification

from explain import InputError, ModelBundle, run_model
from explain.attribution.core import hook_snapshot, prepare, private_copy
from explain.attribution.faithfulness import compare_methods, completeness, faithfulness_curves, spearman
from explain.attribution.methods import (
    METHODS,
    attribute,
    head_importance,
    layer_attributions,
    score_with_head_gates,
)
from explain.attribution.words import merge_words
from explain.models.arch import embeddings_of
from explain.models.checkpoint import prepare_model
from explain.models.heads import HEADS_DIR, default_encoder_dir
from tests.helpers import tiny_bundle

pytestmark = pytest.mark.filterwarnings("ignore:Setting forward, backward hooks:UserWarning")

TEXT = "The movie was surprisingly good, although the ending felt rushed."
SECOND = "Someone is making music."  # text_pair for pair inputs


@pytest.fixture(scope="module")
def clf(tokenizer) -> ModelBundle:
    """Tiny random classifier with larger weights than the default init, so scores move visibly."""
    return tiny_bundle(tokenizer, "sequence-classification", labels=("neg", "pos"), initializer_range=0.3)


@pytest.fixture(scope="module")
def ner(tokenizer) -> ModelBundle:
    return tiny_bundle(tokenizer, "token-classification", labels=("O", "B-PER", "I-PER"), seed=1, initializer_range=0.3)


@pytest.fixture(scope="module")
def real_clf(tokenizer) -> ModelBundle:
    """The shipped default encoder's real weights under a seeded random 3-class head."""
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(
        default_encoder_dir(), num_labels=3, attn_implementation="eager", local_files_only=True
    )
    return ModelBundle(
        name="minilm-random-head",
        source="test",
        tokenizer=tokenizer,
        model=prepare_model(model),
        task="sequence-classification",
        labels=("a", "b", "c"),
    )


def manual_score(bundle: ModelBundle, embeds: torch.Tensor, target: int, text: str = TEXT) -> torch.Tensor:
    enc = bundle.tokenizer(text, return_tensors="pt")
    logits = bundle.model(
        inputs_embeds=embeds, attention_mask=enc["attention_mask"], token_type_ids=enc["token_type_ids"]
    ).logits
    return torch.softmax(logits, -1)[:, target]


def manual_id_scores(bundle: ModelBundle, ids: torch.Tensor, target: int) -> np.ndarray:
    with torch.no_grad():
        logits = bundle.model(
            input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids)
        ).logits
    return torch.softmax(logits, -1)[:, target].double().numpy()


# Exactness against hand-written computations.


def test_ig_is_complete_on_the_real_encoder(real_clf):
    a = attribute(real_clf, TEXT, method="ig", n_steps=50)
    gap = a.target_score - a.baseline_score
    assert abs(gap) > 1e-3  # a real difference to account for
    assert abs(a.delta) < 0.05 * abs(gap)
    c = completeness(a)
    assert c.relative < 0.05 and c.total == pytest.approx(a.scores.sum())
    assert np.all(a.scores[a.special] == 0.0)  # specials are kept in the baseline
    assert a.target == int(np.argmax(run_model(real_clf, TEXT).head_logits))


@pytest.mark.slow
def test_trained_sentiment_head_attributions_are_complete_and_faithful(sentiment):
    text = "The plot is thin but the performances are wonderful."
    a = attribute(sentiment, text, method="ig")
    assert a.target_label == "fresh" and a.target_score > 0.7
    assert abs(a.delta) < 0.05 * abs(a.target_score - a.baseline_score)
    words = dict(zip(merge_words(a).words, merge_words(a).scores))
    assert max(words, key=words.get) in ("wonderful", "performances") and words["thin"] < 0
    c = faithfulness_curves(sentiment, a)
    assert c.aopc_comprehensiveness > c.random_aopc_comprehensiveness + 0.1
    assert c.aopc_sufficiency < c.random_aopc_sufficiency - 0.1


@pytest.mark.parametrize("baseline", ["pad", "mask", "zero"])
def test_ig_baselines_are_complete(clf, baseline):
    a = attribute(clf, TEXT, SECOND, method="ig", baseline=baseline, n_steps=64)
    assert abs(a.delta) < 0.01 * abs(a.target_score - a.baseline_score)
    assert a.options["baseline"] == baseline


def test_ig_equals_captum_layer_ig_on_the_word_embeddings(clf):
    """The hook-free formulation gives what Captum's reference (hooked) way gives."""
    a = attribute(clf, TEXT, method="ig", n_steps=30, internal_batch_size=7)
    prep = prepare(clf, TEXT)
    with private_copy(clf.model) as twin:

        def forward(ids):
            return torch.softmax(twin(input_ids=ids, **prep.model_inputs(ids.shape[0])).logits, -1)[:, a.target]

        lig = LayerIntegratedGradients(forward, embeddings_of(twin).word_embeddings)
        ref = lig.attribute(prep.input_ids, prep.baseline_ids("pad"), n_steps=30)
    np.testing.assert_allclose(a.scores, ref[0].sum(-1).double().numpy(), atol=1e-5)


def test_ig_batching_does_not_change_the_result(clf):
    one = attribute(clf, TEXT, method="ig", n_steps=20, internal_batch_size=20).scores
    small = attribute(clf, TEXT, method="ig", n_steps=20, internal_batch_size=3).scores
    np.testing.assert_allclose(one, small, atol=1e-5)


def test_saliency_and_input_x_gradient_equal_manual_autograd(clf):
    sal = attribute(clf, TEXT, method="saliency")
    ixg = attribute(clf, TEXT, method="input_x_gradient")
    ids = clf.tokenizer(TEXT, return_tensors="pt")["input_ids"]
    embeds = embeddings_of(clf.model).word_embeddings(ids).detach().requires_grad_()
    (grad,) = torch.autograd.grad(manual_score(clf, embeds, sal.target).sum(), embeds)
    np.testing.assert_allclose(sal.scores, grad.abs().sum(-1)[0].double().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ixg.scores, (grad * embeds).sum(-1)[0].detach().double().numpy(), rtol=1e-5, atol=1e-7)
    assert np.all(sal.scores >= 0) and np.any(ixg.scores < 0)


@pytest.mark.parametrize("baseline", ["pad", "mask"])
def test_occlusion_equals_manual_masking_forwards(clf, baseline):
    a = attribute(clf, TEXT, method="occlusion", baseline=baseline)
    ids = clf.tokenizer(TEXT, return_tensors="pt")["input_ids"]
    filler = clf.tokenizer.pad_token_id if baseline == "pad" else clf.tokenizer.mask_token_id
    rows = ids.repeat(ids.shape[1], 1)
    rows[torch.arange(ids.shape[1]), torch.arange(ids.shape[1])] = filler
    f = manual_id_scores(clf, torch.cat([ids, rows]), a.target)
    expected = f[0] - f[1:]
    expected[a.special] = 0.0
    np.testing.assert_allclose(a.scores, expected, atol=1e-5)
    assert a.target_score == pytest.approx(f[0], abs=1e-5)


def test_kernel_shap_is_efficient_and_near_exact_shapley(clf):
    text = "good bad film"  # 3 features: exact Shapley values by enumeration
    a = attribute(clf, text, method="kernel_shap", n_samples=3000)
    assert a.scores.sum() == pytest.approx(a.target_score - a.baseline_score, abs=1e-4)  # efficiency
    prep = prepare(clf, text)
    content = np.flatnonzero(~prep.special)
    x, xb = prep.embeddings, prep.baseline_embeddings("pad")
    coalitions = np.array(np.meshgrid(*[[0, 1]] * 3, indexing="ij")).reshape(3, -1).T
    gate = torch.ones(len(coalitions), prep.num_tokens, 1)
    gate[:, content, 0] = torch.tensor(coalitions, dtype=torch.float32)
    value = dict(zip(map(tuple, coalitions), prep.score_rows(xb + gate * (x - xb))))
    exact = np.zeros(3)
    weights = {0: 1 / 3, 1: 1 / 6, 2: 1 / 3}  # |S|! (n - |S| - 1)! / n! for n = 3
    for i in range(3):
        for s in coalitions:
            if s[i] == 0:
                with_i = s.copy()
                with_i[i] = 1
                exact[i] += weights[s.sum()] * (value[tuple(with_i)] - value[tuple(s)])
    np.testing.assert_allclose(a.scores[content], exact, atol=0.03 * np.abs(exact).max())


def test_layer_ig_equals_captum_layer_integrated_gradients(clf):
    la = layer_attributions(clf, TEXT, method="layer_ig", n_steps=16, internal_batch_size=10)
    prep = prepare(clf, TEXT)
    x, xb = prep.embeddings, prep.baseline_embeddings("pad")
    with private_copy(clf.model) as twin:
        forward = lambda e: prep.score_embeddings(e, model=twin)
        for site, layer in ((0, twin.bert.embeddings), (2, twin.bert.encoder.layer[1])):
            ref = LayerIntegratedGradients(forward, layer).attribute(x, xb, n_steps=16)
            np.testing.assert_allclose(la.scores[site], ref[0].sum(-1).double().numpy(), atol=1e-6)
    assert la.scores.shape == (clf.num_layers + 1, prep.num_tokens)
    assert np.all(np.abs(la.deltas) < 0.01 * abs(la.target_score - la.baseline_score))


def test_conductance_is_complete_per_layer_and_layer0_is_ig(clf):
    la = layer_attributions(clf, TEXT, method="conductance", n_steps=60, internal_batch_size=16)
    gap = la.target_score - la.baseline_score
    assert np.all(np.abs(la.deltas) < 0.02 * abs(gap))
    ig = attribute(clf, TEXT, method="ig", n_steps=60)
    np.testing.assert_allclose(la.scores[0], ig.scores, atol=0.01 * np.abs(ig.scores).max())


@pytest.mark.parametrize("method", ["layer_ig", "conductance"])
def test_layer_methods_explain_a_token_label(ner, method):
    la = layer_attributions(ner, "Maria Garcia lives in London", method=method, token_index=2, target=1, n_steps=32)
    assert la.scores.shape == (ner.num_layers + 1, 7) and (la.token_index, la.target_label) == (2, "B-PER")
    assert np.all(np.abs(la.deltas) < 0.02 * abs(la.target_score - la.baseline_score))
    assert np.all(la.scores[:, ~la.special].any(axis=1))


# Every method, one contract.


@pytest.mark.parametrize("method", [pytest.param(m, marks=pytest.mark.slow) if m == "ig" else m for m in METHODS])
def test_every_method_gives_T_deterministic_scores(clf, ner, method):
    for bundle, kwargs in ((clf, {}), (ner, {"token_index": 2})):
        first = attribute(bundle, TEXT, method=method, **kwargs)
        second = attribute(bundle, TEXT, method=method, **kwargs)
        assert first.scores.shape == (first.num_tokens,) == (len(first.tokens),)
        np.testing.assert_array_equal(first.scores, second.scores)
        assert first.method == METHODS[method].name and np.all(np.isfinite(first.scores))
        assert (first.delta is not None) == METHODS[method].has_delta
        assert (first.baseline_score is not None) == METHODS[method].needs_baseline
        assert not first.scores.flags.writeable


def test_seed_changes_sampled_methods_only_through_the_seed(clf):
    a = attribute(clf, TEXT, method="lime", seed=1).scores
    b = attribute(clf, TEXT, method="lime", seed=2).scores
    assert not np.array_equal(a, b)
    torch.manual_seed(123)  # the global RNG plays no part
    np.testing.assert_array_equal(a, attribute(clf, TEXT, method="lime", seed=1).scores)


def test_word_features_give_one_score_per_word(clf):
    text = "Unbelievably unremarkable storytelling."
    a = attribute(clf, text, method="kernel_shap", features="word", n_samples=200)
    words = merge_words(a)
    assert words.words == ("[CLS]", "unbelievably", "unremarkable", "storytelling", ".", "[SEP]")
    for w in range(len(words.words)):
        pieces = a.scores[words.token_to_word == w]
        assert np.allclose(pieces, pieces[0])  # split evenly over the pieces
    assert a.scores.sum() == pytest.approx(words.scores.sum())
    assert words.scores.sum() == pytest.approx(a.target_score - a.baseline_score, abs=1e-4)


def test_token_classification_explains_the_chosen_tokens_label(ner):
    run = run_model(ner, "Maria Garcia lives in London")
    a = attribute(ner, "Maria Garcia lives in London", method="ig", token_index=2, target="I-PER", n_steps=64)
    assert (a.target, a.target_label, a.token_index) == (2, "I-PER", 2)
    probs = torch.softmax(torch.tensor(run.head_logits[2]), -1).numpy()
    assert a.target_score == pytest.approx(float(probs[2]), abs=1e-5)
    assert abs(a.delta) < 0.01 * abs(a.target_score - a.baseline_score)
    default = attribute(ner, "Maria Garcia lives in London", method="saliency")
    assert default.token_index == 1 and default.target == int(np.argmax(run.head_logits[1]))


def test_logit_score_and_any_target(clf):
    a = attribute(clf, TEXT, method="ig", target=0, score="logit")
    logits = run_model(clf, TEXT).head_logits
    assert a.score_kind == "logit" and a.target_label == "neg"
    assert a.target_score == pytest.approx(float(logits[0]), abs=1e-5)


# Shared model: no hooks left, and concurrent use matches serial use.


def test_no_hooks_are_left_on_the_shared_model(tokenizer):
    bundle = tiny_bundle(tokenizer, "sequence-classification", labels=("neg", "pos"), seed=3)  # never run before
    assert all(hooks == ((), (), ()) for hooks in hook_snapshot(bundle.model).values())
    everything = [lambda m=m: attribute(bundle, TEXT, method=m) for m in METHODS] + [
        lambda: layer_attributions(bundle, TEXT, method="layer_ig", n_steps=4),
        lambda: layer_attributions(bundle, TEXT, method="conductance", n_steps=4),
        lambda: head_importance(bundle, TEXT),
        lambda: head_importance(bundle, TEXT, method="ablation"),
        lambda: score_with_head_gates(bundle, TEXT, np.ones((2, 4))),
        lambda: faithfulness_curves(bundle, attribute(bundle, TEXT, method="saliency")),
    ]
    everything[3]()  # DeepLift first: its private copy must not leave anything either
    first = hook_snapshot(bundle.model)
    hf_only = {"install_output_capuring_hook.<locals>.output_capturing_hook"}
    for name, (fwd, pre, bwd) in first.items():
        assert set(fwd) <= hf_only and pre == () and bwd == (), name  # only Hugging Face's own capture
    for run in everything:
        run()
        assert hook_snapshot(bundle.model) == first
    assert not any(p.requires_grad for p in bundle.model.parameters()) and not bundle.model.training


def run_together(jobs: dict, keys: tuple[str, str], repeats: int = 3) -> dict[str, list]:
    """Start the two jobs at the same moment in two threads, each `repeats` times; return their results."""
    results: dict[str, list] = {key: [] for key in keys}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(keys))

    def run(key):
        try:
            barrier.wait()
            for _ in range(repeats):
                results[key].append(jobs[key]())
        except Exception as err:  # noqa: BLE001 - re-raised in the main thread below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(key,)) for key in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def test_two_threads_on_one_model_match_serial_results(clf):
    jobs = {
        "ig": lambda: attribute(clf, TEXT, method="ig", n_steps=40).scores,
        "deeplift": lambda: attribute(clf, TEXT, method="deeplift").scores,
        "layer_ig": lambda: layer_attributions(clf, TEXT, method="layer_ig", n_steps=8).scores,
        "heads": lambda: head_importance(clf, TEXT, method="ablation"),
        "kernel_shap": lambda: attribute(clf, TEXT, method="kernel_shap", n_samples=100).scores,
        "saliency": lambda: attribute(clf, TEXT, SECOND, method="saliency").scores,
        "conductance": lambda: layer_attributions(clf, TEXT, method="conductance", n_steps=8).scores,
        "head_gradient": lambda: head_importance(clf, TEXT, signed=True),
    }
    serial = {key: job() for key, job in jobs.items()}
    pairs = [
        ("ig", "deeplift"),
        ("layer_ig", "heads"),
        ("kernel_shap", "saliency"),
        ("deeplift", "layer_ig"),
        ("conductance", "heads"),
        ("head_gradient", "deeplift"),
    ]
    for pair in pairs:
        for key, runs in run_together(jobs, pair).items():
            for got in runs:  # two threads may share torch's intra-op pool: float32 sums in another order
                np.testing.assert_allclose(got, serial[key], rtol=1e-5, atol=1e-5)


# Heads.


def test_head_importance_is_the_gate_gradient(tokenizer):
    bundle = tiny_bundle(tokenizer, "sequence-classification", labels=("neg", "pos"), seed=5, initializer_range=0.3)
    bundle.model.double()  # a private model: float64 for a sharp finite difference
    signed = head_importance(bundle, TEXT, signed=True)
    assert signed.shape == (bundle.num_layers, bundle.num_heads)
    np.testing.assert_array_equal(head_importance(bundle, TEXT), np.abs(signed))
    eps = 1e-5
    for layer, head in ((0, 2), (1, 3)):
        gates = np.ones((2, bundle.num_layers, bundle.num_heads))
        gates[0, layer, head] += eps
        gates[1, layer, head] -= eps
        up, down = score_with_head_gates(bundle, TEXT, gates)
        assert (up - down) / (2 * eps) == pytest.approx(signed[layer, head], rel=1e-6, abs=1e-10)
    assert abs(signed).max() > 1e-3


def test_head_ablation_matches_gates(clf):
    ablation = head_importance(clf, TEXT, method="ablation", signed=True)
    full = score_with_head_gates(clf, TEXT, np.ones((2, 4)))[0]
    assert full == pytest.approx(attribute(clf, TEXT, method="saliency").target_score, abs=1e-6)
    gates = np.ones((2, 4))
    gates[1, 3] = 0.0
    assert ablation[1, 3] == pytest.approx(full - score_with_head_gates(clf, TEXT, gates)[0], abs=1e-5)


# Words, faithfulness, comparison.


def test_merge_words_sums_pieces_and_handles_pairs(clf):
    a = attribute(clf, "Playing guitars", "playing again", method="occlusion")
    words = merge_words(a)
    assert words.words == ("[CLS]", "playing", "guitars", "[SEP]", "playing", "again", "[SEP]")
    assert list(words.special) == [True, False, False, True, False, False, True]
    assert words.scores.sum() == pytest.approx(a.scores.sum())
    plain = merge_words([1.0, 2.0, 3.0, 4.0], [None, 0, 0, None], ["[CLS]", "un", "##real", "[SEP]"])
    assert plain.words == ("[CLS]", "unreal", "[SEP]") and list(plain.scores) == [1.0, 5.0, 4.0]
    with pytest.raises(InputError, match="one entry per token"):
        merge_words([1.0, 2.0], [None], ["[CLS]", "x"])


def test_faithfulness_rows_are_the_right_forwards(clf):
    a = attribute(clf, TEXT, method="occlusion")
    c = faithfulness_curves(clf, a, fractions=(0.0, 0.1, 1.0), removal="mask", n_random=3)
    ids = clf.tokenizer(TEXT, return_tensors="pt")["input_ids"]
    content = np.flatnonzero(~a.special)
    top = content[np.argsort(-a.scores[content], kind="stable")][: c.counts[1]]
    deleted, kept_only = ids.clone(), ids.clone()
    deleted[0, top] = clf.tokenizer.mask_token_id
    kept_only[0, np.setdiff1d(content, top)] = clf.tokenizer.mask_token_id
    f = manual_id_scores(clf, torch.cat([ids, deleted, kept_only]), a.target)
    assert c.full_score == pytest.approx(f[0], abs=1e-5)
    assert c.deletion[1] == pytest.approx(f[1], abs=1e-5) and c.insertion[1] == pytest.approx(f[2], abs=1e-5)
    assert c.deletion[0] == pytest.approx(f[0], abs=1e-5) and c.insertion[2] == pytest.approx(f[0], abs=1e-5)
    assert c.deletion[2] == pytest.approx(c.insertion[0], abs=1e-5)  # everything removed, both ways
    assert list(c.counts) == [0, 2, len(content)]


def test_oracle_deletion_order_dominates_random(clf):
    """A greedy oracle (each step removes the token whose removal drops the target most) beats random."""
    a = attribute(clf, TEXT, method="saliency")
    prep = prepare(clf, TEXT)
    remaining, order = list(np.flatnonzero(~prep.special)), []
    current = prep.input_ids.clone()
    while remaining:
        rows = current.repeat(len(remaining), 1)
        rows[torch.arange(len(remaining)), torch.tensor(remaining)] = clf.tokenizer.pad_token_id
        masks = (rows != clf.tokenizer.pad_token_id).long()
        best = int(np.argmin(prep.score_ids(rows, masks)))
        order.append(remaining.pop(best))
        current = rows[best : best + 1]
    oracle_scores = np.zeros(prep.num_tokens)
    oracle_scores[order] = np.arange(len(order), 0, -1)
    oracle = dataclasses.replace(a, scores=oracle_scores)
    c = faithfulness_curves(clf, oracle, removal="pad", n_random=20)
    inner = (c.fractions > 0) & (c.fractions < 1)
    assert np.all(c.comprehensiveness[inner] > c.random_comprehensiveness[inner])
    assert c.aopc_comprehensiveness > c.random_aopc_comprehensiveness + 0.05
    assert c.comprehensiveness[-1] == pytest.approx(c.random_comprehensiveness[-1], abs=1e-5)


def test_compare_methods_table_and_rank_correlation(clf):
    cmp = compare_methods(clf, TEXT, methods=("ig", "occlusion", "saliency"), options={"ig": {"n_steps": 20}})
    assert cmp.scores.shape == (3, len(cmp.tokens)) and cmp.rank_correlation.shape == (3, 3)
    np.testing.assert_allclose(np.diag(cmp.rank_correlation), 1.0)
    np.testing.assert_allclose(cmp.rank_correlation, cmp.rank_correlation.T)
    assert cmp.attributions[0].options["n_steps"] == 20
    assert len({a.target for a in cmp.attributions}) == 1
    assert list(cmp.table().columns) == ["Integrated Gradients", "Occlusion", "Saliency"]
    assert spearman(np.array([[1.0, 2, 3], [3.0, 2, 1]]))[0, 1] == pytest.approx(-1.0)


# Boundaries.


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "gradcam"}, "Unknown attribution method"),
        ({"method": "ig", "n_samples": 10}, "does not take n_samples"),
        ({"method": "ig", "n_steps": 0}, "n_steps must be"),
        ({"method": "ig", "baseline": "unk"}, "baseline must be one of"),
        ({"method": "lime", "kernel_width": 0}, "kernel_width must be a positive number"),
        ({"method": "kernel_shap", "features": "sentence"}, "features must be one of"),
        ({"target": 5}, "target must be a class index"),
        ({"target": "maybe"}, "not a label"),
        ({"token_index": 3}, "token-classification models only"),
        ({"score": "odds"}, "score must be one of"),
    ],
)
def test_bad_requests_say_what_to_do(clf, kwargs, message):
    with pytest.raises(InputError, match=message):
        attribute(clf, TEXT, **kwargs)


def test_models_and_texts_that_cannot_be_explained(tiny_mlm, ner, clf):
    with pytest.raises(InputError, match="no classification head"):
        attribute(tiny_mlm, TEXT)
    with pytest.raises(InputError, match="token_index must be"):
        attribute(ner, TEXT, token_index=99)
    with pytest.raises(InputError, match="empty"):
        attribute(clf, "   ")
    with pytest.raises(InputError, match="no baseline"):
        completeness(attribute(clf, TEXT, method="saliency"))
    with pytest.raises(InputError, match="Unknown layer method"):
        layer_attributions(clf, TEXT, method="gradcam")


@pytest.mark.slow
def test_deleting_top_attributed_tokens_beats_random_on_heldout_reviews(sentiment):
    """ERASER comprehensiveness on the shipped sentiment head's held-out reviews (never trained on).

    For each review: remove (mask) the top 20 % of tokens ranked by IG and compare the fall in the
    predicted class's probability with the mean fall over 10 random orders of the same size.
    """
    from explain.training.heldout import read_heldout

    texts, _ = read_heldout(HEADS_DIR / "minilm-sentiment")
    wins = []
    for text in texts[:30]:
        a = attribute(sentiment, text, method="ig", n_steps=24)
        c = faithfulness_curves(sentiment, a, fractions=(0.2,), n_random=10)
        wins.append(c.full_score - c.deletion[0] > c.full_score - c.random_deletion[0])
    rate = float(np.mean(wins))
    print(f"IG deletion beats random on {rate:.0%} of {len(wins)} held-out reviews")
    assert rate >= 0.75
