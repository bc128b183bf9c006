"""Every perturbation: deterministic under a seed, does what it says on examples, leaves what it cannot change."""

from __future__ import annotations

import re

import pytest

from explain.behaviour.lexicons import lexicon, lexicon_sources, shipped_lexicons
from explain.behaviour.perturb import PERTURBATIONS, perturb
from explain.errors import InputError

# (perturbation, params, a text it changes, a text it cannot change)
CASES = [
    ("typo_swap", {}, "The acting is wooden.", "A b c."),
    ("typo_drop", {}, "The acting is wooden.", "Ok, 42!"),
    ("typo_repeat", {}, "The acting is wooden.", "Ok, 42!"),
    ("typos", {"count": 2}, "The acting is wooden and slow.", "Ok, 42!"),
    ("punctuation", {}, "Great film!", "!!!"),
    ("remove_punctuation", {}, "Great film!", "Great film"),
    ("add_punctuation", {}, "Great film", "Great film."),
    ("contractions", {}, "It's fun and I don't care.", "A film about dogs."),
    ("expand_contractions", {}, "It's fun and I don't care.", "It is fun."),
    ("contract", {}, "It is fun and I do not care.", "It's fun."),
    ("swap_name", {}, "Michael and Jennifer loved it.", "Nobody loved it."),
    ("swap_last_name", {}, "Ms Garcia liked it.", "Ms X liked it."),
    ("swap_city", {}, "It was shot in New York.", "It was shot in a studio."),
    ("swap_country", {}, "A film from France.", "A film from nowhere."),
    ("swap", {"lexicon": "genre"}, "A fine comedy.", "A fine film."),
    ("swap_number", {}, "It runs 120 minutes.", "It runs 2 hours."),
    ("add_neutral", {}, "Great film.", None),
    ("add_phrase", {"phrases": ["What a ride."], "where": "start"}, "Great film.", None),
    ("add_negation", {}, "The plot is clever.", "Clever plot, great cast."),
    ("intensify", {}, "The plot is clever.", "The plot is a mess."),
    ("diminish", {}, "The plot was clever.", "Clever plot."),
]
GENRES = {"genre": ("comedy", "drama", "thriller")}


def test_every_perturbation_has_a_case():
    assert {c[0] for c in CASES} == set(PERTURBATIONS)


@pytest.mark.parametrize("name, params, text, fixed", CASES, ids=[c[0] for c in CASES])
def test_deterministic_edits_consistent_and_unchangeable_text_kept(name, params, text, fixed):
    runs = [perturb(name, text, seed=7, lexicons=GENRES, **params) for _ in range(3)]
    assert all(r == runs[0] for r in runs)  # same seed, same result (private generator, no global state)
    p = runs[0]
    assert p.changed and p.text != text and p.original == text and str(p.note)
    for e in p.edits:  # every span says where the edit is, before and after
        assert text[e.old_start:e.old_end] == e.old and p.text[e.start:e.end] == e.new
    rebuilt, pos = [], 0
    for e in p.edits:
        rebuilt += [text[pos:e.old_start], e.new]
        pos = e.old_end
    assert "".join(rebuilt) + text[pos:] == p.text
    if fixed is not None:
        kept = perturb(name, fixed, seed=7, lexicons=GENRES, **params)
        assert not kept.changed and kept.text == fixed and kept.edits == () and str(kept.note)


def test_seeds_change_the_draw_but_not_the_kind():
    seen = {perturb("typo_swap", "The acting is wooden and the story drags on.", seed=s).text for s in range(20)}
    assert len(seen) > 5
    for text in seen:  # one adjacent swap: same letters, same length, exactly two positions differ
        original = "The acting is wooden and the story drags on."
        diff = [i for i, (a, b) in enumerate(zip(original, text)) if a != b]
        assert len(text) == len(original) and len(diff) == 2 and diff[1] == diff[0] + 1
        assert text[diff[0]] == original[diff[1]] and text[diff[1]] == original[diff[0]]


def test_the_draw_depends_on_the_text_not_on_the_order_of_calls():
    a = perturb("typos", "First review here.", seed=3)
    perturb("typos", "Something else entirely.", seed=3)
    assert perturb("typos", "First review here.", seed=3) == a


def test_typos_do_what_they_say():
    drop = perturb("typo_drop", "wonderful", seed=1).text
    assert len(drop) == 8 and any(drop == "wonderful"[:i] + "wonderful"[i + 1:] for i in range(9))
    rep = perturb("typo_repeat", "wonderful", seed=1).text
    assert len(rep) == 10 and any(rep == "wonderful"[:i + 1] + "wonderful"[i:] for i in range(9))
    two = perturb("typos", "alpha bravo charlie delta", seed=0, count=2)
    assert len(two.edits) == 2 and len({e.old for e in two.edits}) == 2


def test_punctuation_examples():
    assert perturb("punctuation", "Great film!?").text == "Great film"
    assert perturb("punctuation", "Great film").text == "Great film."
    assert perturb("add_punctuation", "Great film", mark="!").text == "Great film!"


def test_contractions_examples():
    assert perturb("expand_contractions", "Don't go, it's won't-proof.").text.startswith("Do not go, it is")
    assert perturb("contract", "I am sure they are not what we do not want.").text == "I'm sure they're not what we don't want."
    assert perturb("expand_contractions", "It’s fun.").text == "It is fun."  # typographic apostrophe


def test_negation_examples():
    cases = {
        "The plot is clever.": "The plot is not clever.",
        "It's fun.": "It's not fun.",
        "They were great, and it was long.": "They were not great, and it was long.",
        "The cast is not bad, but the film was long.": "The cast is not bad, but the film was not long.",
        "Is it good? It is.": "Is it good? It is.",  # a question's verb, and one with nothing after it
        "The film's score is lovely.": "The film's score is not lovely.",  # a possessive 's is no verb
        "They had a great time.": "They had a great time.",  # 'had' here is a main verb
        "I did like it.": "I did not like it.",
    }
    for text, want in cases.items():
        assert perturb("add_negation", text).text == want, text


def test_intensifiers_and_diminishers_examples():
    up = perturb("intensify", "The plot is clever.", seed=0)
    assert up.text in {f"The plot is {a} clever." for a in lexicon("intensifier")}
    down = perturb("diminish", "Sure, the cast was charming.", seed=0)
    assert down.text in {f"Sure, the cast was {a} charming." for a in lexicon("diminisher")}
    assert not perturb("intensify", "The plot is very clever.").changed  # already intensified
    assert perturb("intensify", "A clever plot.", before=["clever"], seed=0).text.endswith(" clever plot.")


def test_swaps_keep_the_lexicon_group_and_replace_every_occurrence():
    male, female = set(lexicon("male_name")), set(lexicon("female_name"))
    for seed in range(10):
        p = perturb("swap_name", "Michael said Michael liked it.", seed=seed)
        new = {e.new for e in p.edits}
        assert len(p.edits) == 2 and len(new) == 1 and new <= male and new != {"Michael"}
        q = perturb("swap_name", "Jennifer liked it.", seed=seed)
        assert q.edits[0].new in female
    city = perturb("swap_city", "From New York to Chicago.", seed=1)
    assert len(city.edits) == 1 and city.edits[0].old in {"New York", "Chicago"}
    assert city.edits[0].new in lexicon("city")
    assert not perturb("swap_city", "The Chicagoan wrote it.").changed  # whole words only


def test_numbers_move_by_at_most_twenty_percent_plus_one():  # CheckList's change_number: int(0.2 x) + 1
    for seed in range(30):
        p = perturb("swap_number", "It runs 120 minutes, 2 hours.", seed=seed)
        assert p.edits[0].old == "120" and 95 <= int(p.edits[0].new) <= 145 and p.edits[0].new != "120"
    assert not perturb("swap_number", "Version 2.5 of 4 things.").changed


def test_phrases_are_added_where_asked():
    end = perturb("add_neutral", "Great film", seed=0)
    assert re.fullmatch(r"Great film\. .+", end.text) and end.text.split(". ", 1)[1] in lexicon("neutral_phrase")
    start = perturb("add_phrase", "Great film.", phrases=["Wow."], where="start")
    assert start.text == "Wow. Great film."


def test_bad_parameters_name_the_parameter():
    with pytest.raises(InputError, match="count"):
        perturb("typos", "text", count=0)
    with pytest.raises(InputError, match="kinds"):
        perturb("typos", "text", kinds=["shout"])
    with pytest.raises(InputError, match="lexicon 'nope'"):
        perturb("swap", "text", lexicon="nope")
    with pytest.raises(InputError, match="mark"):
        perturb("punctuation", "text", mark=".")
    with pytest.raises(InputError, match="Unknown perturbation"):
        perturb("shuffle", "text")


def test_lexicons_have_their_source():
    sources = lexicon_sources()
    assert {s["lexicon"] for s in sources} >= {"male_name", "female_name", "last_name", "city", "country",
                                               "neutral_phrase", "intensifier", "diminisher"}
    for s in sources:
        assert s["entries"] > 0 and s["source"] and s["licence"]
    assert "CheckList" in next(s["source"] for s in sources if s["lexicon"] == "city")
    assert set(shipped_lexicons()["first_name"]) == set(lexicon("male_name")) | set(lexicon("female_name"))
