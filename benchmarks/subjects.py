"""The models and inputs the benchmark times: the offline default with its shipped heads, and a random
BERT of bert-base shape for the cost at full size; inputs cut from the held-out movie reviews."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import torch
from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification

from explain import DEFAULT_MODEL, ModelBundle, builtin_models, load_model
from explain.models.catalog import SPLADE_MODEL
from explain.models.checkpoint import prepare_model
from explain.paths import ASSETS

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
MLM_HEAD = "all-MiniLM-L6-v2 + BERT Lens MLM head"
TEXT_FILE = ASSETS / "heads" / "minilm-sentiment" / "heldout.jsonl"


@dataclass
class Subject:
    """A model family under test: an encoder for the views, an MLM and a classifier for the heads."""

    key: str
    title: str
    encoder: ModelBundle
    mlm: ModelBundle
    classifier: ModelBundle
    notes: list[str] = field(default_factory=list)
    specs: dict[str, str] = field(default_factory=dict)  # "encoder"/"mlm"/"classifier" -> name the app loads


def default_subject() -> Subject:
    names = builtin_models()
    mlm_name = MLM_HEAD if MLM_HEAD in names else SPLADE_MODEL
    return Subject(
        key="minilm",
        title="all-MiniLM-L6-v2 (6 layers x 12 heads x 384), shipped heads",
        encoder=load_model(DEFAULT_MODEL),
        mlm=load_model(mlm_name),
        classifier=load_model(SENTIMENT),
        notes=[f"fill-mask / PLL: {mlm_name}", f"IG / KernelSHAP: {SENTIMENT}"],
        specs={"encoder": DEFAULT_MODEL, "mlm": mlm_name, "classifier": SENTIMENT},
    )


def bert_base_subject(tokenizer) -> Subject:
    """Random BERT of bert-base shape (BertConfig() defaults), seed 0, as MLM and as 2-class classifier."""

    def bundle(cls, task: str, labels: tuple[str, ...] = ()) -> ModelBundle:
        torch.manual_seed(0)
        extra = {"num_labels": len(labels), "id2label": dict(enumerate(labels))} if labels else {}
        model = cls(BertConfig(attn_implementation="eager", **extra))
        return ModelBundle(name=f"random bert-base {task}", source="random", tokenizer=tokenizer,
                           model=prepare_model(model), task=task, labels=labels)

    mlm = bundle(BertForMaskedLM, "masked-lm")
    return Subject(
        key="bert-base",
        title="random BERT of bert-base shape (12 layers x 12 heads x 768), seed 0",
        encoder=mlm,
        mlm=mlm,
        classifier=bundle(BertForSequenceClassification, "sequence-classification", ("neg", "pos")),
        notes=["random weights: timings only"],
    )


def corpus() -> str:
    return " ".join(json.loads(line)["text"] for line in TEXT_FILE.read_text().splitlines() if line.strip())
