"""Where each supported encoder family keeps its parts.

BERT Lens reads a model only through this adapter, so a new family is one entry here.
Supported: BERT (and MiniLM, SPLADE, ...), RoBERTa / XLM-R / CamemBERT, DistilBERT, ELECTRA.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from explain.i18n import N_, _

SUPPORTED_MODEL_TYPES = ("bert", "roberta", "xlm-roberta", "camembert", "distilbert", "electra")

_ROBERTA_LIKE = ("roberta", "xlm-roberta", "camembert")


@dataclass(frozen=True)
class Arch:
    """The modules of one encoder family. Attribute names are the family's own."""

    model_type: str
    query: str  # attribute of the self-attention module holding W_q
    key: str
    value: str
    padding_idx: int = 1  # the pad token id, which RoBERTa-like position tables are laid out around

    @property
    def has_token_types(self) -> bool:
        return self.model_type != "distilbert"

    @property
    def position_offset(self) -> int:
        """RoBERTa-like models number positions from padding_idx + 1 (2 for their usual pad id 1), others from 0."""
        return self.padding_idx + 1 if self.model_type in _ROBERTA_LIKE else 0


def arch_of(model_type: str, padding_idx: int | None = None) -> Arch:
    """The adapter for a `config.model_type` (and its `pad_token_id`, which sets RoBERTa's first position);
    raises ValueError for families BERT Lens does not read (its message is shown to the user)."""
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ValueError(_("BERT Lens explains BERT-family encoders ({families}); this checkpoint is a '{type}' model.")
                         .format(families=", ".join(SUPPORTED_MODEL_TYPES), type=model_type))
    pad = 1 if padding_idx is None else int(padding_idx)
    if model_type == "distilbert":
        return Arch(model_type, query="q_lin", key="k_lin", value="v_lin", padding_idx=pad)
    return Arch(model_type, query="query", key="key", value="value", padding_idx=pad)


def encoder_of(model: nn.Module) -> nn.Module:
    """The bare encoder (BertModel, RobertaModel, ...) inside any head model."""
    return getattr(model, "base_model", model)


def embeddings_of(model: nn.Module) -> nn.Module:
    return encoder_of(model).embeddings


def layers_of(model: nn.Module) -> nn.ModuleList:
    enc = encoder_of(model)
    if hasattr(enc, "transformer"):  # DistilBERT
        return enc.transformer.layer
    return enc.encoder.layer


def self_attention_of(model: nn.Module, layer: int) -> nn.Module:
    block = layers_of(model)[layer]
    return block.attention if hasattr(block, "sa_layer_norm") else block.attention.self


def attention_output_of(model: nn.Module, layer: int) -> tuple[nn.Linear, nn.LayerNorm]:
    """W^O (the projection applied to the heads' concatenation) and the LayerNorm that follows the
    residual sum: BERT's attention.output.{dense, LayerNorm}, DistilBERT's out_lin and sa_layer_norm."""
    block = layers_of(model)[layer]
    if hasattr(block, "sa_layer_norm"):  # DistilBERT
        return block.attention.out_lin, block.sa_layer_norm
    return block.attention.output.dense, block.attention.output.LayerNorm


def mlm_head_of(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The masked-LM head, mapping hidden states (..., D) to vocabulary logits (..., V), or None."""
    if hasattr(model, "cls") and hasattr(model.cls, "predictions"):  # BertForMaskedLM / ForPreTraining
        return model.cls.predictions
    if hasattr(model, "lm_head"):  # RoBERTa
        return model.lm_head
    if hasattr(model, "generator_lm_head"):  # ELECTRA generator
        return nn.Sequential(model.generator_predictions, model.generator_lm_head)
    if hasattr(model, "vocab_projector"):  # DistilBERT
        return lambda hidden: model.vocab_projector(
            model.vocab_layer_norm(model.activation(model.vocab_transform(hidden)))
        )
    return None


def nsp_head_of(model: nn.Module) -> nn.Module | None:
    """BERT's next-sentence head (pooled output -> 2 logits), or None."""
    if hasattr(model, "cls") and hasattr(model.cls, "seq_relationship"):
        return model.cls.seq_relationship
    return None



# What the classification head reads: the input of its final linear layer.


def final_linear(model: nn.Module) -> nn.Linear:
    """The classifier's last linear layer, features (..., D') -> logits (..., C).

    BERT, DistilBERT and every token-classification head: `model.classifier`; RoBERTa / XLM-R /
    CamemBERT / ELECTRA sequence heads: `model.classifier.out_proj`.

    Raises:
        ValueError: the model has no classification head this adapter knows.
    """
    head = getattr(model, "classifier", None)
    if isinstance(head, nn.Linear):
        return head
    if head is not None and isinstance(getattr(head, "out_proj", None), nn.Linear):
        return head.out_proj
    raise ValueError(f"{type(model).__name__} has no classification head BERT Lens knows.")


def classifier_features(model: nn.Module, last_hidden: torch.Tensor) -> torch.Tensor:
    """What the classification head's final linear layer reads, from the encoder's last hidden states.

    `final_linear(model)(classifier_features(model, h))` equals the model's logits in eval mode
    (dropout is the identity there), for every supported family:
      - BERT sequence head: the pooler, tanh(W [CLS] + b) (the pooled output);
      - DistilBERT sequence head: relu(pre_classifier([CLS]));
      - RoBERTa / XLM-R / CamemBERT sequence head: tanh(dense(<s>)); ELECTRA: gelu(dense([CLS]))
        (its head's own activation);
      - token-classification heads: the last hidden state of every token itself.

    Args:
        model: a ...ForSequenceClassification or ...ForTokenClassification model.
        last_hidden: the encoder's last hidden states, (B, T, D).

    Returns:
        (B, D') for sequence classification, (B, T, D) for token classification.
    """
    if type(model).__name__.endswith("ForTokenClassification"):
        return last_hidden
    cls = last_hidden[:, 0]
    head = getattr(model, "classifier", None)
    if hasattr(model, "pre_classifier"):  # DistilBERT
        return torch.relu(model.pre_classifier(cls))
    if head is not None and hasattr(head, "out_proj"):  # RoBERTa-like and ELECTRA heads
        return getattr(head, "activation", torch.tanh)(head.dense(cls))
    pooler = getattr(encoder_of(model), "pooler", None)
    if isinstance(head, nn.Linear) and pooler is not None:  # BERT
        return pooler(last_hidden)
    raise ValueError(f"{type(model).__name__} has no classification head BERT Lens knows.")


def head_input_name(model: nn.Module) -> str:
    """A short description of `classifier_features` for this model (marked, translated where shown)."""
    if type(model).__name__.endswith("ForTokenClassification"):
        return N_("last hidden state of each token")
    if hasattr(model, "pre_classifier"):
        return "relu(pre_classifier([CLS]))"
    head = getattr(model, "classifier", None)
    if head is not None and hasattr(head, "out_proj"):
        return "gelu(dense([CLS]))" if hasattr(head, "activation") else "tanh(dense(<s>))"
    return N_("pooled [CLS]: tanh(W [CLS] + b)")
