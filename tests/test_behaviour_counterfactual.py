"""Counterfactual search: a planted single-word flip is found, every returned edit flips when rerun."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explain import run_model
from explain.attribution.core import hook_snapshot
from explain.attribution.methods import attribute
from explain.attribution.words import merge_words
from explain.behaviour.counterfactual import counterfactual
from explain.errors import InputError
from tests.behaviour_models import bag_of_words
from tests.helpers import tiny_bundle

TEXTS = ["A good film about a dog.", "The acting is wooden and the story drags.", "Fierce, glaring and unforgettable.",
         "I loved every minute of this gentle comedy."]


def _label(bundle, text: str) -> str:
    """The model's prediction from a plain call on the tokenized text (no code of the search)."""
    with torch.inference_mode():
        logits = bundle.model(**bundle.tokenizer(text, return_tensors="pt")).logits[0]
    return bundle.labels[int(logits.argmax())]


def test_finds_the_planted_single_word_flip(tokenizer):
    # 'good' (+4) is the only reason for 'fresh'; 'dreadful' (-3) is the only word that pulls the other way, so
    # the one flip with one word is good -> dreadful (any other word -> dreadful leaves +1: still fresh)
    bag = bag_of_words(tokenizer, {"good": 4.0, "dreadful": -3.0})
    cf = counterfactual(bag, "A good film about a dog.", k=2)
    assert cf.found and cf.label_before == "fresh" and cf.label_after == "rotten"
    assert [(e.old, e.new) for e in cf.edits] == [("good", "dreadful")]
    assert cf.edited_text == "A dreadful film about a dog."
    assert _label(bag, cf.edited_text) == "rotten"  # confirmed by an independent rerun
    assert cf.probs_after[0] == pytest.approx(1 / (1 + np.exp(-3.0)), abs=1e-5)  # logit(fresh) - logit(rotten) = -3


def test_no_flip_within_k_words_is_reported_and_more_words_are_tried_next(tokenizer):
    bag = bag_of_words(tokenizer, {"good": 9.0, "great": 9.0, "dreadful": -3.0})
    one = counterfactual(bag, "A good, great film.", k=1)
    assert not one.found and one.edits == () and one.edited_text is None and one.reruns > 0  # 9 - 3 > 0
    two = counterfactual(bag, "A good, great film.", k=2)  # both words replaced: -6
    assert two.found and [(e.old, e.new) for e in two.edits] == [("good", "dreadful"), ("great", "dreadful")]
    assert _label(bag, two.edited_text) == "rotten"


@pytest.mark.slow
@pytest.mark.parametrize("use_mlm", [False, True], ids=["vocabulary", "masked LM"])
def test_every_returned_edit_flips_when_rerun(tiny_classifier, tiny_mlm, use_mlm):
    before = hook_snapshot(tiny_classifier.model)
    found = 0
    for text in TEXTS:
        cf = counterfactual(tiny_classifier, text, k=2, mlm=tiny_mlm if use_mlm else None, attributions=False)
        assert cf.label_before == _label(tiny_classifier, text)
        if not cf.found:
            continue
        found += 1
        assert _label(tiny_classifier, cf.edited_text) == cf.label_after != cf.label_before
        assert 1 <= len(cf.edits) <= 2 and len({e.word for e in cf.edits}) == len(cf.edits)
        for e in cf.edits:  # each edit replaced one whole word of the text by one word
            assert cf.text[e.start:e.end] == e.old and e.new.isalpha() and e.new.lower() != e.old.lower()
    assert found >= 2
    assert hook_snapshot(tiny_classifier.model) == before
    assert not any(p.requires_grad for p in tiny_classifier.model.parameters())


def test_byte_level_bpe_words_are_found_and_written_without_their_marker():
    from tests.tiny_classifiers import bpe_tokenizer

    bpe = bpe_tokenizer()  # RoBERTa-style: a word after a space is one 'Ġword' token
    bag = bag_of_words(bpe, {"Ġloved": 4.0, "Ġgripping": -3.0})
    cf = counterfactual(bag, "I loved every minute.", k=2)
    assert cf.found and [(e.old, e.new) for e in cf.edits] == [("loved", "gripping")]
    assert cf.edited_text == "I gripping every minute." and _label(bag, cf.edited_text) == "rotten"


def test_masked_lm_proposals_come_from_its_top_fills(tiny_classifier, tiny_mlm):
    from explain.mlm import fill_mask

    checked = 0
    for text in TEXTS:
        cf = counterfactual(tiny_classifier, text, k=2, mlm=tiny_mlm, mlm_top=10, attributions=False)
        assert cf.proposals == "masked LM"
        for e in cf.edits:  # each replacement is among the MLM's 10 best whole-word fills of its word, masked
            masked = cf.text[: e.start] + tiny_mlm.tokenizer.mask_token + cf.text[e.end:]
            fills = fill_mask(tiny_mlm, run_model(tiny_mlm, masked), top_k=500).top_tokens[0]
            assert e.new.lower() in [t for t in fills if t.isalpha() and len(t) > 1][:10]
            checked += 1
    assert checked >= 1


def test_attributions_are_aligned_word_by_word(tokenizer):
    bag = bag_of_words(tokenizer, {"good": 4.0, "dreadful": -3.0})
    cf = counterfactual(bag, "A good film about a dog.")
    a = cf.attributions
    assert a.words_before == ("a", "good", "film", "about", "a", "dog", ".")
    assert a.words_after == ("a", "dreadful", "film", "about", "a", "dog", ".")
    assert list(a.edited) == [False, True, False, False, False, False, False]
    assert np.allclose(a.difference, a.scores_after - a.scores_before)
    for text, scores in ((cf.text, a.scores_before), (cf.edited_text, a.scores_after)):
        ig = attribute(bag, text, method="ig", target="fresh", n_steps=64)  # the library's own IG, one text
        words = merge_words(ig)
        assert np.allclose(scores, [s for s, sp in zip(words.scores, words.special) if not sp], atol=1e-4)
    assert a.target_label == "fresh" and a.scores_before[1] > 0 > a.difference[1]


def test_refuses_what_it_cannot_search(tiny_classifier, tiny_mlm, tokenizer):
    with pytest.raises(InputError, match="text classifier"):
        counterfactual(tiny_mlm, "A good film.")
    with pytest.raises(InputError, match="k \\(words to change\\)"):
        counterfactual(tiny_classifier, "A good film.", k=0)
    with pytest.raises(InputError, match="k \\(words to change\\)"):
        counterfactual(tiny_classifier, "A good film.", k="3")
    with pytest.raises(InputError, match="masked-LM head"):
        counterfactual(tiny_classifier, "A good film.", mlm=tiny_classifier)
    with pytest.raises(InputError, match="no word"):
        counterfactual(tiny_classifier, "42 !!")
    torch.manual_seed(0)
    other = tiny_bundle(tokenizer, "masked-lm")
    object.__setattr__(other, "tokenizer", _Renamed(tokenizer))
    with pytest.raises(InputError, match="do not share a vocabulary"):
        counterfactual(tiny_classifier, "A good film.", mlm=other)


class _Renamed:
    """A tokenizer whose vocabulary differs by one entry (for the vocabulary check)."""

    def __init__(self, tok):
        self.tok = tok

    def get_vocab(self):
        vocab = dict(self.tok.get_vocab())
        vocab["zzz-not-a-word"] = len(vocab)
        return vocab
