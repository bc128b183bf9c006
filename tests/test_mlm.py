"""Fill-mask, logit lens, pseudo-log-likelihood and NSP against the model's own forward passes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertForPreTraining

from explain import InputError, ModelBundle, run_model
from explain.mlm import fill_mask, layer_lens, next_sentence_probability, pseudo_log_likelihood, vocab_probs
from explain.models.checkpoint import prepare_model
from tests.helpers import tiny_config


def test_probabilities_sum_to_one_over_vocabulary(tiny_mlm):
    run = run_model(tiny_mlm, "The [MASK] sat on the [MASK].")
    probs = vocab_probs(tiny_mlm, run.hidden_states[-1])
    assert probs.shape == (run.num_tokens, 30522)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-9)


def test_fill_mask_matches_masked_lm_forward(tiny_mlm):
    text = "The [MASK] sat on the [MASK]."
    run = run_model(tiny_mlm, text)
    fm = fill_mask(tiny_mlm, run, top_k=5)
    enc = tiny_mlm.tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        logits = tiny_mlm.model(**enc).logits[0]
    for n, pos in enumerate(fm.positions):
        probs = torch.softmax(logits[pos].double(), -1)
        top = torch.topk(probs, 5)
        np.testing.assert_array_equal(fm.top_ids[n], top.indices.numpy())
        np.testing.assert_allclose(fm.top_probs[n], top.values.numpy(), atol=1e-6)
    assert len(fm.positions) == 2


def test_logit_lens_last_layer_equals_plain_mlm_output(tiny_mlm):
    run = run_model(tiny_mlm, "Paris is the capital of France.", mask_positions=(1,))
    lens = layer_lens(tiny_mlm, run, 1, top_k=5)
    enc = tiny_mlm.tokenizer("Paris is the capital of France.", return_tensors="pt")
    enc["input_ids"][0, 1] = tiny_mlm.tokenizer.mask_token_id
    with torch.no_grad():
        probs = torch.softmax(tiny_mlm.model(**enc).logits[0, 1].double(), -1)
    top = torch.topk(probs, 5)
    np.testing.assert_allclose(lens.top_probs[-1], top.values.numpy(), atol=1e-5)
    assert lens.target_id == run.original_ids[0]
    assert lens.target_rank[-1] == int((probs > probs[lens.target_id]).sum())
    assert lens.top_probs.shape == (run.num_layers + 1, 5)


def test_batched_pll_equals_loop_of_single_masked_passes(tiny_mlm):
    text, pair = "The keys to the cabinet are here.", "Yes."
    pll = pseudo_log_likelihood(tiny_mlm, text, pair)
    enc = tiny_mlm.tokenizer(text, pair, return_tensors="pt")
    ids = enc["input_ids"][0]
    expected = []
    for pos in pll.positions:
        masked = {k: v.clone() for k, v in enc.items()}
        masked["input_ids"][0, pos] = tiny_mlm.tokenizer.mask_token_id
        with torch.no_grad():
            logits = tiny_mlm.model(**masked).logits[0, pos]
        expected.append(torch.log_softmax(logits.double(), -1)[ids[pos]].item())
    np.testing.assert_allclose(pll.log_probs, expected, atol=1e-5)
    assert pll.pll == pytest.approx(sum(expected), abs=1e-4)
    assert pll.pseudo_perplexity == pytest.approx(np.exp(-np.mean(expected)), rel=1e-5)
    assert len(pll.positions) == len(ids) - 3


def test_pll_chunks_give_the_same_numbers(tiny_mlm, monkeypatch):
    from explain import mlm

    whole = pseudo_log_likelihood(tiny_mlm, "Chunked and unchunked agree on every token.")
    monkeypatch.setattr(mlm, "_PLL_CHUNK_ELEMENTS", 1)
    chunked = pseudo_log_likelihood(tiny_mlm, "Chunked and unchunked agree on every token.")
    np.testing.assert_allclose(whole.log_probs, chunked.log_probs, atol=1e-5)


def test_no_mask_gives_guidance_not_an_error(tiny_mlm):
    with pytest.raises(InputError, match=r"no \[MASK\] in the text"):
        fill_mask(tiny_mlm, run_model(tiny_mlm, "Nothing is masked here."))


def test_masking_special_tokens_is_refused(tiny_mlm):
    with pytest.raises(InputError, match="Special tokens"):
        run_model(tiny_mlm, "Hello there.", mask_positions=(0,))


def test_encoder_without_head_is_refused(default_bundle):
    with pytest.raises(InputError, match="no masked-language-model head"):
        fill_mask(default_bundle, run_model(default_bundle, "The [MASK] is here."))


def test_next_sentence_probability_matches_pretraining_head(tokenizer):
    torch.manual_seed(3)
    model = prepare_model(BertForPreTraining(tiny_config()))
    bundle = ModelBundle(name="tiny-pretraining", source="random", tokenizer=tokenizer, model=model, task="pretraining")
    assert bundle.has_nsp and bundle.has_mlm
    run = run_model(bundle, "I bought milk.", "Then I went home.")
    enc = tokenizer("I bought milk.", "Then I went home.", return_tensors="pt")
    with torch.no_grad():
        expected = torch.softmax(model(**enc).seq_relationship_logits[0], -1)[0].item()
    assert next_sentence_probability(run) == pytest.approx(expected, abs=1e-6)
    assert next_sentence_probability(run_model(bundle, "No pair.")) is None


def test_real_pretrained_mlm_from_pip(default_bundle):
    from explain import load_model
    from explain.models.catalog import SPLADE_MODEL

    bundle = load_model(SPLADE_MODEL)
    fm = fill_mask(bundle, run_model(bundle, "The capital of France is [MASK]."), top_k=5)
    assert fm.top_tokens[0][0] == "city" and fm.top_probs[0][0] == pytest.approx(0.087, abs=0.01)
