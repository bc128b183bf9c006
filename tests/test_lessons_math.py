"""The fine-tuning lesson's head arithmetic, P(y|X) = softmax(W h + b), recomputed from the weights and
checked against the model's own logits (issue 10: within 1e-5)."""

import numpy as np
import pytest
import torch

from explain import InputError, load_model, run_model
from explain.lessons.classifier_head import classifier_arithmetic, softmax
from explain.models.catalog import NER_MODEL
from tests.helpers import tiny_bundle

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"


def _check(bundle, text, pair=None):
    run = run_model(bundle, text, pair)
    calc = classifier_arithmetic(bundle, run)
    assert calc.max_abs_error < 1e-5, calc.max_abs_error
    np.testing.assert_allclose(calc.probs, torch.softmax(torch.tensor(run.head_logits, dtype=torch.float64), -1).numpy(),
                               atol=1e-6)
    assert not calc.logits.flags.writeable
    return run, calc


def test_shipped_sentiment_head_recomputed_from_weights(sentiment):
    bundle = sentiment
    run, calc = _check(bundle, "A gorgeous, witty, seductive movie.")
    # BERT head: pooled [CLS] = tanh(W_p h_[CLS] + b_p), then W h + b, computed here by hand
    h = run.hidden_states[-1][0].astype(np.float64)
    pool = bundle.model.bert.pooler.dense
    pooled = np.tanh(pool.weight.double().numpy() @ h + pool.bias.double().numpy())
    np.testing.assert_allclose(calc.features, pooled, atol=1e-12)
    assert calc.activation == "tanh" and calc.features.shape == (384,) and calc.logits.shape == (2,)
    assert calc.labels[calc.predicted] == "fresh"
    _, bad = _check(bundle, "Dull, lifeless and far too long.")
    assert bad.labels[bad.predicted] == "rotten"


def test_tiny_random_bert_classifier_with_a_pair(tokenizer):
    bundle = tiny_bundle(tokenizer, "sequence-classification", labels=("a", "b", "c"), seed=3)
    _, calc = _check(bundle, "The bank raised rates.", "Markets fell.")
    assert calc.w.shape == (3, 32) and calc.pooler_w.shape == (32, 32)


def test_tiny_token_classifier_per_token(tokenizer):
    bundle = tiny_bundle(tokenizer, "token-classification", labels=("O", "B-PER", "I-PER"), seed=1)
    run, calc = _check(bundle, "Maria Garcia lives in London.")
    assert calc.logits.shape == (run.num_tokens, 3) and calc.h_cls is None
    assert calc.predicted.shape == (run.num_tokens,)


@pytest.mark.parametrize("ck_id", ["distilbert-seq", "roberta-seq", "electra-seq"])
def test_other_families_heads(family_bundle, ck_id):
    _, calc = _check(family_bundle(ck_id), "The cat sat on the mat.")
    assert calc.activation == {"distilbert-seq": "relu", "roberta-seq": "tanh", "electra-seq": "gelu"}[ck_id]


def test_shipped_ner_model_per_token():
    bundle = load_model(NER_MODEL)
    run, calc = _check(bundle, "Please call Maria Garcia in London.")
    found = {run.tokens[i]: calc.labels[k] for i, k in enumerate(calc.predicted)}
    assert "CITY" in found["london"]


def test_encoder_without_head_is_refused(tiny_mlm):
    with pytest.raises(InputError, match="no classification head"):
        classifier_arithmetic(tiny_mlm, run_model(tiny_mlm, "Hello."))


def test_softmax_rows_sum_to_one():
    p = softmax(np.array([[1000.0, 0.0], [1.0, 2.0]]))
    np.testing.assert_allclose(p.sum(-1), 1.0)
    assert p[0, 0] == 1.0
