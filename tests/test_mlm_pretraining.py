"""BERT's MLM procedure (15 % chosen; 80 % [MASK], 10 % random, 10 % kept), seeded, and the model's
predictions at the chosen positions, checked against fill-mask and against a plain forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explain import run_model
from explain.errors import InputError
from explain.mlm import fill_mask
from explain.mlm_pretraining import KEEP, MASK, RANDOM, draw_masking, predict_masked, replacement_ids

LONG = ("The history of the printing press begins in the fifteenth century, when movable metal type made "
        "books cheaper, faster to produce and far more common across the cities of Europe.")


def test_same_seed_same_draw_other_seed_other_draw(tiny_mlm):
    run = run_model(tiny_mlm, LONG)
    a, b = draw_masking(tiny_mlm, run, seed=3), draw_masking(tiny_mlm, run, seed=3)
    assert np.array_equal(a.corrupted_ids, b.corrupted_ids) and a.actions == b.actions
    others = [draw_masking(tiny_mlm, run, seed=s) for s in range(4, 9)]
    assert any(not np.array_equal(o.positions, a.positions) for o in others)
    assert not a.corrupted_ids.flags.writeable


def test_proportions_over_many_draws(tiny_mlm):
    run = run_model(tiny_mlm, LONG)
    candidates = np.flatnonzero(~run.special)
    n, draws = len(candidates), 3000
    k = max(1, round(0.15 * n))
    allowed = set(replacement_ids(tiny_mlm.tokenizer).tolist())
    chosen_at = np.zeros(run.num_tokens)
    counts = {MASK: 0, RANDOM: 0, KEEP: 0}
    for seed in range(draws):
        d = draw_masking(tiny_mlm, run, seed=seed)
        assert len(d.positions) == k and d.candidates == n
        assert not run.special[d.positions].any()
        unchanged = np.setdiff1d(np.arange(run.num_tokens), d.positions)
        assert np.array_equal(d.corrupted_ids[unchanged], run.input_ids[unchanged])
        for p, action in zip(d.positions, d.actions):
            counts[action] += 1
            if action == MASK:
                assert d.corrupted_ids[p] == tiny_mlm.tokenizer.mask_token_id
            elif action == KEEP:
                assert d.corrupted_ids[p] == run.input_ids[p]
            else:
                assert int(d.corrupted_ids[p]) in allowed
        chosen_at[d.positions] += 1
    total = draws * k
    assert k / n == pytest.approx(0.15, abs=0.5 / n)  # round(15 %) of the non-special tokens
    for action, share in ((MASK, 0.8), (RANDOM, 0.1), (KEEP, 0.1)):
        sigma = np.sqrt(share * (1 - share) / total)
        assert abs(counts[action] / total - share) < 4 * sigma, (action, counts[action] / total)
    # every word token is equally likely to be chosen (k / n), specials never
    assert chosen_at[run.special].sum() == 0
    rate = chosen_at[candidates] / draws
    sigma = np.sqrt(k / n * (1 - k / n) / draws)
    assert np.abs(rate - k / n).max() < 4.5 * sigma


def test_random_replacements_cover_the_vocabulary_but_no_special_tokens(tiny_mlm):
    ids = replacement_ids(tiny_mlm.tokenizer)
    tok = tiny_mlm.tokenizer
    assert len(ids) > 29000 and not set(tok.all_special_ids) & set(ids.tolist())
    assert not any(t.startswith("[unused") for t in tok.convert_ids_to_tokens(ids.tolist()))


def _check_against_fill_mask(bundle, text):
    run = run_model(bundle, text)
    draw = draw_masking(bundle, run, seed=11, mask_share=1.0, random_share=0.0)  # every chosen token masked
    assert set(draw.actions) == {MASK}
    pred = predict_masked(bundle, draw, top_k=5)
    masked_run = run_model(bundle, text, mask_positions=tuple(int(p) for p in draw.positions))
    assert np.array_equal(masked_run.input_ids, draw.corrupted_ids)
    fm = fill_mask(bundle, masked_run, top_k=5)
    assert np.array_equal(fm.positions, draw.positions)
    np.testing.assert_allclose(pred.top_probs, fm.top_probs, atol=1e-6)
    assert np.array_equal(pred.top_ids, fm.top_ids)
    return pred


def test_predictions_match_fill_mask_tiny(tiny_mlm):
    _check_against_fill_mask(tiny_mlm, LONG)


@pytest.mark.slow
def test_predictions_match_fill_mask_shipped_mlm_model():
    from explain import load_model
    from explain.models.heads import HEADS_DIR, read_card

    bundle = load_model(read_card(HEADS_DIR / "minilm-mlm")["name"])
    pred = _check_against_fill_mask(bundle, LONG)
    assert pred.accuracy > 0 and np.isfinite(pred.loss)


def test_predictions_with_random_and_kept_tokens_match_a_plain_forward_pass(tiny_mlm):
    run = run_model(tiny_mlm, LONG, "It changed the world.")
    draw = next(d for s in range(200) if {RANDOM, KEEP} <= set((d := draw_masking(tiny_mlm, run, seed=s)).actions))
    pred = predict_masked(tiny_mlm, draw, top_k=3)
    with torch.inference_mode():
        logits = tiny_mlm.model(input_ids=torch.tensor(draw.corrupted_ids)[None],
                                token_type_ids=torch.tensor(draw.token_type_ids)[None]).logits[0]
    probs = torch.softmax(logits.double(), -1).numpy()[draw.positions]
    targets = run.input_ids[draw.positions]
    np.testing.assert_allclose(pred.target_probs, probs[np.arange(len(targets)), targets], rtol=1e-5)
    np.testing.assert_allclose(pred.loss, -np.log(probs[np.arange(len(targets)), targets]).mean(), rtol=1e-5)
    ranks = (probs > probs[np.arange(len(targets)), targets][:, None]).sum(1)
    assert np.array_equal(pred.target_ranks, ranks)


def test_model_without_mlm_head_is_a_clear_error(default_bundle):
    run = run_model(default_bundle, LONG)
    draw = draw_masking(default_bundle, run, seed=0)
    with pytest.raises(InputError, match="no masked-language-model head"):
        predict_masked(default_bundle, draw)
