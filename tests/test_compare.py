"""Model comparison: JS divergence, linear CKA and their properties, batching, tokenizer checks, shipped heads.

Independent references: scipy's jensenshannon, the HSIC form of CKA with an explicit centring matrix
(Kornblith et al. 2019, eqs. 1-3), per-text runs against the batched data-set pass, the head's card.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.stats import ortho_group

from explain import DEFAULT_MODEL, InputError, load_model, run_model
from explain.compare import export
from explain.compare.compat import check_compatible
from explain.compare.corpus import compare_dataset
from explain.compare.metrics import (
    CkaAccumulator,
    cka_matrix,
    cosine_rows,
    js_divergence,
    js_divergence_torch,
    linear_cka,
)
from explain.compare.text import compare_attributions, compare_text
from explain.models.heads import HEADS_DIR
from tests.helpers import tiny_bundle

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
TEXTS = [
    "A gripping film.",
    "The plot meanders for two hours and never finds its way back to the characters it set up.",
    "Fine.",
    "An unexpectedly moving portrait of a family, told with wit.",
    "Dull, dull, dull.",
    "It has moments, but the script lets everyone down in the last act, and the music is far too loud.",
    "Worth seeing twice.",
]


def softmax_rows(rng, shape, sharp=2.0):
    z = rng.standard_normal(shape) * sharp
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def hsic_cka(x: np.ndarray, y: np.ndarray) -> float:
    """CKA straight from its definition: HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)), HSIC = tr(KHLH) / (n-1)^2."""
    n = x.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    k, l = x @ x.T, y @ y.T

    def hsic(a, b):
        return np.trace(a @ h @ b @ h) / (n - 1) ** 2

    return hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l))


# ---- Jensen-Shannon divergence ---------------------------------------------------------------------

def test_js_divergence_equals_scipy_in_bits_and_stays_in_0_1():
    rng = np.random.default_rng(0)
    p, q = softmax_rows(rng, (3, 5, 9, 9)), softmax_rows(rng, (3, 5, 9, 9), sharp=4.0)
    reference = jensenshannon(p, q, base=2, axis=-1) ** 2
    np.testing.assert_allclose(js_divergence(p, q), reference, atol=1e-12)
    torch_js = js_divergence_torch(torch.tensor(p), torch.tensor(q)).numpy()
    np.testing.assert_allclose(torch_js, reference, atol=1e-12)
    assert js_divergence(p, p).max() == 0.0
    disjoint = js_divergence(np.array([0.5, 0.5, 0.0, 0.0]), np.array([0.0, 0.0, 0.25, 0.75]))
    assert disjoint == pytest.approx(1.0, abs=1e-12)  # base 2: disjoint supports give exactly 1 bit


def test_js_of_a_model_with_itself_is_zero_and_of_two_random_models_positive(tokenizer):
    m0, m1 = tiny_bundle(tokenizer, seed=0), tiny_bundle(tokenizer, seed=1)
    same = compare_text(m0, m0, "The bank raised rates again.")
    assert same.js.shape == (2, 4) and same.js.max() == 0.0
    np.testing.assert_allclose(same.cka, 1.0, atol=1e-12)
    np.testing.assert_allclose(same.cosine, 1.0, atol=1e-6)
    assert export.summary(same).startswith("Every head's attention and every layer's output are equal")
    different = compare_text(m0, m1, "The bank raised rates again.")
    assert different.js.min() > 0.0 and different.js.max() <= 1.0
    assert export.summary(different).startswith("A and B differ from the first layer on (layer 0: mean JS")
    # The grid is the mean over query tokens of per-row JS, recomputed here with scipy.
    a, b = different.run_a.attentions, different.run_b.attentions
    reference = (jensenshannon(a.astype(np.float64), b.astype(np.float64), base=2, axis=-1) ** 2).mean(-1)
    np.testing.assert_allclose(different.js, reference, atol=1e-9)
    np.testing.assert_allclose(different.attention_difference(1, 2).sum(-1), 0.0, atol=1e-6)


# ---- linear CKA ----------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [12, 200])  # n < d (Gram form) and n > d (feature form)
def test_linear_cka_equals_its_hsic_definition_and_kornblith_invariances(n):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, 40)) + 3.0
    y = x[:, :25] @ rng.standard_normal((25, 60)) + rng.standard_normal((n, 60))  # wider, related
    value = linear_cka(x, y)
    assert value == pytest.approx(hsic_cka(x, y), abs=1e-10)
    assert 0.0 < value < 1.0
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)
    rotate_x, rotate_y = ortho_group.rvs(40, random_state=2), ortho_group.rvs(60, random_state=3)
    assert linear_cka(x @ rotate_x, y) == pytest.approx(value, abs=1e-10)
    assert linear_cka(x, y @ rotate_y) == pytest.approx(value, abs=1e-10)
    assert linear_cka(7.5 * x, y) == pytest.approx(value, abs=1e-10)
    assert linear_cka(x, 0.01 * y) == pytest.approx(value, abs=1e-10)
    assert linear_cka(x, 2.0 * x @ rotate_x) == pytest.approx(1.0, abs=1e-10)
    xs, ys = np.stack([x, 2 * x]), np.stack([y, y @ rotate_y, rng.standard_normal((n, 60))])
    matrix = cka_matrix(xs, ys)
    assert matrix.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            assert matrix[i, j] == pytest.approx(hsic_cka(xs[i], ys[j]), abs=1e-10)


def test_cka_accumulated_over_batches_equals_cka_of_all_rows_at_once():
    rng = np.random.default_rng(4)
    batches = [(rng.standard_normal((2, m, 16)) * 0.3 + 50.0, rng.standard_normal((3, m, 24)) - 20.0)
               for m in (5, 17, 1, 40)]  # large means: the merge must not lose the small variance
    acc = CkaAccumulator([(0, 0), (1, 2), (0, 1)])
    for xs, ys in batches:
        acc.add(torch.tensor(xs, dtype=torch.float32), torch.tensor(ys, dtype=torch.float32))
    xs = np.concatenate([b[0].astype(np.float32) for b in batches], axis=1)
    ys = np.concatenate([b[1].astype(np.float32) for b in batches], axis=1)
    for (i, j), value in acc.result().items():
        assert value == pytest.approx(hsic_cka(xs[i].astype(np.float64), ys[j].astype(np.float64)), abs=1e-6)


def test_cosine_rows_against_the_formula():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((3, 7, 8)), rng.standard_normal((3, 7, 8))
    expected = np.einsum("lid,lid->li", x, y) / (np.linalg.norm(x, axis=-1) * np.linalg.norm(y, axis=-1))
    np.testing.assert_allclose(cosine_rows(x, y), expected, atol=1e-12)


# ---- shapes and tokenizers -----------------------------------------------------------------------

def test_models_of_different_depth_or_width_get_cka_but_no_per_head_numbers(tokenizer):
    base = tiny_bundle(tokenizer, seed=0)
    deeper = tiny_bundle(tokenizer, seed=1, num_hidden_layers=3)
    wider = tiny_bundle(tokenizer, seed=2, hidden_size=48)
    c = compare_text(base, deeper, "Shapes differ.")
    assert c.js is None and c.cosine is None and c.cka is None and c.cka_matrix.shape == (3, 4)
    assert "needs equal layers and heads" in c.compat.notes[0]
    w = compare_text(base, wider, "Shapes differ.")
    assert w.js is not None and w.cosine is None and w.cka.shape == (3,)
    assert "hidden size is 32, B's 48" in w.compat.notes[0]
    assert w.cka_matrix[1, 2] == pytest.approx(linear_cka(w.run_a.hidden_states[1], w.run_b.hidden_states[2]))


def wordpiece_folder(tmp_path, texts):
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertForMaskedLM, PreTrainedTokenizerFast

    wp = BertWordPieceTokenizer(lowercase=True)
    wp.train_from_iterator(texts * 5, vocab_size=200, min_frequency=1)
    tok = PreTrainedTokenizerFast(tokenizer_object=wp._tokenizer, unk_token="[UNK]", sep_token="[SEP]",
                                  pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]")
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                                       num_attention_heads=4, intermediate_size=64, max_position_embeddings=64))
    folder = tmp_path / "wordpiece"
    tok.save_pretrained(folder)
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def byte_bpe_folder(tmp_path, texts):
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing
    from transformers import PreTrainedTokenizerFast, RobertaConfig, RobertaForMaskedLM

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts * 5, vocab_size=300, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe._tokenizer.post_processor = RobertaProcessing(("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>")))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                  cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
    torch.manual_seed(0)
    model = RobertaForMaskedLM(RobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                                             num_attention_heads=4, intermediate_size=64, max_position_embeddings=70,
                                             pad_token_id=1))
    folder = tmp_path / "bpe"
    tok.save_pretrained(folder)
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def test_a_tokenizer_mismatch_is_refused_with_its_reason(tmp_path, tiny_mlm, tokenizer):
    from explain.models.checkpoint import load_checkpoint

    wordpiece = load_checkpoint(str(wordpiece_folder(tmp_path, TEXTS)))
    with pytest.raises(InputError) as err:
        compare_text(tiny_mlm, wordpiece, "A gripping film.")
    n = len(wordpiece.tokenizer)
    assert f"A uses a 30,522-token WordPiece vocabulary, B a {n}-token WordPiece one" in str(err.value)
    assert "share a tokenizer" in str(err.value)
    bpe = load_checkpoint(str(byte_bpe_folder(tmp_path, TEXTS)))
    with pytest.raises(InputError, match=rf"B a {len(bpe.tokenizer)}-token byte-level BPE one"):
        check_compatible(tiny_mlm, bpe)
    with pytest.raises(InputError, match="no rows|share a tokenizer"):
        compare_dataset(tiny_mlm, bpe, ["x"])
    # Same vocabulary, but B keeps case: the probe text splits differently.
    from transformers import AutoTokenizer

    from explain.models.heads import default_encoder_dir

    cased = AutoTokenizer.from_pretrained(default_encoder_dir(), do_lower_case=False)
    assert cased("Hello")["input_ids"] != tokenizer("Hello")["input_ids"]
    with pytest.raises(InputError, match="share a vocabulary but split text differently"):
        check_compatible(tiny_mlm, tiny_bundle(cased, seed=1))


# ---- data sets: batching changes nothing ---------------------------------------------------------

def test_dataset_pass_equals_one_run_per_text_and_padding_changes_nothing(tokenizer):
    a = tiny_bundle(tokenizer, "sequence-classification", labels=("neg", "pos"), seed=0)
    b = tiny_bundle(tokenizer, "sequence-classification", labels=("neg", "pos"), seed=1)
    pairs = [None, "It is long.", None, None, "Short.", None, None]
    d = compare_dataset(a, b, TEXTS, pairs, gold=["pos", "neg", "pos", "pos", "neg", "neg", "pos"])
    serial = compare_dataset(a, b, TEXTS, pairs, max_batch_rows=1)
    one = [compare_text(a, b, t, p) for t, p in zip(TEXTS, pairs)]
    np.testing.assert_allclose(d.js_rows, np.stack([c.js for c in one]), atol=1e-5)
    np.testing.assert_allclose(d.js_rows, serial.js_rows, atol=1e-5)
    np.testing.assert_allclose(d.js, np.stack([c.js for c in one]).mean(0), atol=1e-5)
    for k in range(3):  # CKA over all tokens of all rows, recomputed from the per-text runs
        x = np.concatenate([c.run_a.hidden_states[k] for c in one]).astype(np.float64)
        y = np.concatenate([c.run_b.hidden_states[k] for c in one]).astype(np.float64)
        assert d.cka[k] == pytest.approx(hsic_cka(x, y), abs=1e-5)
        assert d.cosine[k] == pytest.approx(np.concatenate([c.cosine[k] for c in one]).mean(), abs=1e-5)
    assert d.n_tokens == sum(c.run_a.num_tokens for c in one)
    predicted = [int(np.argmax(run_model(a, t, p).head_logits)) for t, p in zip(TEXTS, pairs)]
    assert d.predicted_a.tolist() == predicted
    assert d.accuracy("a") == pytest.approx(np.mean([a.labels[p] == g for p, g in zip(predicted, d.gold)]))
    assert d.agreement == pytest.approx(np.mean(d.predicted_a == d.predicted_b))
    assert d.top_heads(1)[0][2] == pytest.approx(d.js.max())
    assert d.rows_for_head(1, 0, k=1) == [int(np.argmax(d.js_rows[:, 1, 0]))]


def test_bad_data_sets_get_messages(tiny_mlm):
    with pytest.raises(InputError, match="no rows"):
        compare_dataset(tiny_mlm, tiny_mlm, [])
    with pytest.raises(InputError, match="Row 2 has an empty text"):
        compare_dataset(tiny_mlm, tiny_mlm, ["fine", "  "])


def test_attribution_rank_correlation_equals_spearman_by_hand(tokenizer, tiny_mlm):
    a = tiny_bundle(tokenizer, "sequence-classification", labels=("neg", "pos"), seed=0)
    b = tiny_bundle(tokenizer, "sequence-classification", labels=("neg", "pos"), seed=1)
    ac = compare_attributions(a, b, "A gripping and wonderful film about nothing much.", method="saliency")
    assert ac.same_target and ac.a.target == ac.b.target
    content = ~ac.a.special
    ranks = [np.argsort(np.argsort(s[content])) for s in (ac.a.scores, ac.b.scores)]
    assert ac.spearman == pytest.approx(np.corrcoef(*ranks)[0, 1], abs=1e-12)
    other = tiny_bundle(tokenizer, "sequence-classification", labels=("x", "y", "z"), seed=2)
    assert not compare_attributions(a, other, "Some text here.", method="saliency").same_target
    with pytest.raises(InputError, match="has no classification head"):
        compare_attributions(a, tiny_mlm, "Some text here.", method="saliency")


# ---- the shipped sentiment head against its base -------------------------------------------------

@pytest.fixture(scope="module")
def sentiment_and_base(sentiment, default_bundle):
    return sentiment, default_bundle


def test_sentiment_head_changes_nothing_below_layer_4_of_its_base(sentiment_and_base):
    a, b = sentiment_and_base
    assert list(a.card["adapted_layers"]) == [4, 5]
    c = compare_text(a, b, "A gripping, wonderful and beautifully shot film, though the ending drags.")
    assert c.js[:4].max() == 0.0  # attention of layers 0-3: identical
    for k in range(5):  # embeddings and the outputs of layers 0-3 (the input of layer 4): identical
        assert np.array_equal(c.run_a.hidden_states[k], c.run_b.hidden_states[k]), k
    np.testing.assert_allclose(c.cka[:5], 1.0, atol=1e-12)
    assert (c.js[4:].max(axis=1) > 0.01).all()  # the adapted layers attend differently
    assert c.cka[6] < c.cka[5] < 1.0 and c.cosine_mean[6] < 1.0
    assert c.prediction_a.label == "fresh" and c.prediction_b is None


@pytest.mark.slow
def test_sentiment_head_over_held_out_reviews_batched_as_one_text_each(sentiment_and_base):
    a, b = sentiment_and_base
    rows = [json.loads(line) for line in (HEADS_DIR / "minilm-sentiment" / "heldout.jsonl").read_text().splitlines()]
    texts = [r["text"] for r in rows[:40]]
    d = compare_dataset(a, b, texts, gold=[r["label"] for r in rows[:40]])
    assert d.js[:4].max() == 0.0 and (d.js[4:] > 0).all()
    assert (d.cosine[:5] == 1.0).all() and d.cosine[6] < d.cosine[5] < 1.0
    np.testing.assert_allclose(d.cka[:5], 1.0, atol=1e-9)
    one = [compare_text(a, b, t) for t in texts[:6]]
    np.testing.assert_allclose(d.js_rows[:6], np.stack([c.js for c in one]), atol=1e-5)
    predicted = [c.prediction_a.label for c in one]
    assert [a.labels[p] for p in d.predicted_a[:6]] == predicted


@pytest.mark.slow
def test_splade_and_minilm_share_a_tokenizer_but_not_a_shape():
    from explain.models.catalog import SPLADE_MODEL

    splade, base = load_model(SPLADE_MODEL), load_model(DEFAULT_MODEL)
    c = compare_text(splade, base, TEXTS[1])
    assert c.js is None and c.cka is None and c.cosine is None and c.cka_matrix.shape == (3, 7)
    assert "2 layers x 2 heads, B 6 x 12" in c.compat.notes[0]
    assert "different depths" in export.summary(c)
    assert "Plotly.newPlot" in export.report(splade.name, base.name, export.text_sections(c))
    d = compare_dataset(splade, base, TEXTS)
    assert not np.isnan(d.cka_matrix).any() and d.js is None
    one = [compare_text(splade, base, t) for t in TEXTS]
    x = np.concatenate([o.run_a.hidden_states[2] for o in one]).astype(np.float64)
    y = np.concatenate([o.run_b.hidden_states[6] for o in one]).astype(np.float64)
    assert d.cka_matrix[2, 6] == pytest.approx(hsic_cka(x, y), abs=1e-5)
    assert json.dumps(export.dataset_json(d))  # JSON-safe, no nan


def test_data_files_with_or_without_labels(tmp_path):
    from explain.compare.data import read_rows, shipped_samples

    held = read_rows(HEADS_DIR / "minilm-sentiment" / "heldout.jsonl")
    lines = (HEADS_DIR / "minilm-sentiment" / "heldout.jsonl").read_text().splitlines()
    assert held.texts == tuple(json.loads(line)["text"].strip() for line in lines)
    assert held.labels[:2] == ("fresh", "fresh") and set(held.labels) == {"fresh", "rotten"}
    assert any("300 held-out rows of MiniLM + movie-review" in name for name in shipped_samples())
    texts_only = read_rows(b'text;source\n"Fine, really.";x\nDull.;y\n')
    assert texts_only.texts == ("Fine, really.", "Dull.") and texts_only.labels is None
    one_class = read_rows(b"text,label\na,same\nb,same\n")  # labels are optional here, not classes to learn
    assert one_class.labels == ("same", "same")
    assert read_rows(b'{"text": "only text"}\n\n{"text": "more"}\n', name="rows.jsonl").texts == ("only text", "more")
    with pytest.raises(InputError, match="Line 2 is not valid JSON"):
        read_rows(b'{"text": "a"}\n{"text": \n')
    with pytest.raises(InputError, match="Line 1 has no 'text' key .*every line needs 'text',"):
        read_rows(b'{"review": "a"}\n')
    with pytest.raises(InputError, match="needs a 'text' column; its header has 'review', 'stars'"):
        read_rows(b"review,stars\ngood,5\n")
    with pytest.raises(InputError, match="No file at"):
        read_rows(tmp_path / "missing.csv")
    many = read_rows(("text\n" + "\n".join(f"row {i}" for i in range(50))).encode(), max_rows=10)
    assert len(many.texts) == 10 and "random sample of 10" in many.notices[0]


@pytest.mark.filterwarnings("ignore:Setting forward, backward hooks:UserWarning")  # Captum's DeepLift notice
def test_comparisons_leave_shared_models_untouched_and_threads_match_serial(tokenizer):
    from concurrent.futures import ThreadPoolExecutor

    from explain.attribution.core import hook_snapshot

    a = tiny_bundle(tokenizer, "sequence-classification", labels=("neg", "pos"), seed=5)
    b = tiny_bundle(tokenizer, "sequence-classification", labels=("neg", "pos"), seed=6)
    serial_text, serial_data = compare_text(a, b, TEXTS[1]), compare_dataset(a, b, TEXTS)
    before = hook_snapshot(a.model), hook_snapshot(b.model)
    with ThreadPoolExecutor(4) as pool:
        texts = [pool.submit(compare_text, a, b, TEXTS[1]) for _i in range(2)]
        data = [pool.submit(compare_dataset, a, b, TEXTS) for _i in range(2)]
        attributions = [pool.submit(compare_attributions, a, b, TEXTS[1], method="deeplift") for _i in range(2)]
        for f in texts:
            np.testing.assert_allclose(f.result().js, serial_text.js, atol=1e-5)
        for f in data:
            np.testing.assert_allclose(f.result().js_rows, serial_data.js_rows, atol=1e-5)
            np.testing.assert_allclose(f.result().cka_matrix, serial_data.cka_matrix, atol=1e-5)
        np.testing.assert_allclose(attributions[0].result().a.scores, attributions[1].result().a.scores, atol=1e-5)
    assert (hook_snapshot(a.model), hook_snapshot(b.model)) == before  # DeepLift hooked private copies only
    for bundle in (a, b):
        assert not bundle.model.training and not any(p.requires_grad for p in bundle.model.parameters())
