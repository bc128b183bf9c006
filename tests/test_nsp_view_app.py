"""AppTest of the Masked page's next-sentence view: with a model that has no NSP head (the default), it uses the
shipped NSP head, and shows a higher IsNext probability for the true next sentence than for a sentence from an
unrelated text on at least 9 of the 10 pairs written in tests/test_nsp_head.py (the same pairs the library test
uses: here they go through the page)."""

from __future__ import annotations

import pytest

from explain import load_model, run_model
from explain.mlm import next_sentence_probability
from explain.models.catalog import NSP_MODEL
from tests.helpers import open_app, set_text
from tests.test_nsp_head import PAIRS

pytestmark = pytest.mark.app  # AppTest: the Streamlit app runs


def shown_probability(at) -> float:
    return float(at.metric[0].value.rstrip("%")) / 100


def test_nsp_view_prefers_the_true_next_sentence_on_9_of_10_pairs():
    at = open_app("masked")
    at.session_state["mlm.view"] = "nsp"
    at.run()
    assert "Give a second sentence" in "\n".join(i.value for i in at.info)
    nsp = load_model(NSP_MODEL)
    wins = 0
    for a, b, other in PAIRS:
        p = {}
        for second in (b, other):
            set_text(at, a, second)
            assert any(NSP_MODEL in c.value and "has no next-sentence head" in c.value for c in at.caption)
            p[second] = shown_probability(at)
            # the metric is the shipped head's own probability, rounded to 0.1 %
            assert p[second] == pytest.approx(next_sentence_probability(run_model(nsp, a, second)), abs=5e-4)
        wins += p[b] > p[other]
    assert wins >= 9
