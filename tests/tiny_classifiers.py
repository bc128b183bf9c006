"""Tiny random classifiers of every supported family (BERT, DistilBERT, ELECTRA, RoBERTa), for tests.

BERT, DistilBERT and ELECTRA reuse the default model's WordPiece tokenizer; RoBERTa gets a tiny
byte-level BPE trained here on a few sentences (see /work/shared/README.md: building
RobertaTokenizerFast from vocab/merges files drops every word in transformers 5).
"""

from __future__ import annotations

import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    BertForTokenClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    DistilBertForTokenClassification,
    ElectraConfig,
    ElectraForSequenceClassification,
    ElectraForTokenClassification,
    PreTrainedTokenizerFast,
    RobertaConfig,
    RobertaForSequenceClassification,
    RobertaForTokenClassification,
)

from explain import ModelBundle
from explain.models.checkpoint import prepare_model

FAMILIES = ("bert", "distilbert", "electra", "roberta")
CORPUS = [
    "A gripping, beautifully shot film with a thin plot.",
    "The acting is wooden and the story drags on and on.",
    "Maria Garcia lives in London and works at the bank.",
    "Call me at 555 0100 or write to maria@example.com today.",
    "Nothing happens, slowly, for two hours; I loved every minute.",
] * 20

_CLASSES = {
    ("bert", "sequence-classification"): (BertConfig, BertForSequenceClassification),
    ("bert", "token-classification"): (BertConfig, BertForTokenClassification),
    ("distilbert", "sequence-classification"): (DistilBertConfig, DistilBertForSequenceClassification),
    ("distilbert", "token-classification"): (DistilBertConfig, DistilBertForTokenClassification),
    ("electra", "sequence-classification"): (ElectraConfig, ElectraForSequenceClassification),
    ("electra", "token-classification"): (ElectraConfig, ElectraForTokenClassification),
    ("roberta", "sequence-classification"): (RobertaConfig, RobertaForSequenceClassification),
    ("roberta", "token-classification"): (RobertaConfig, RobertaForTokenClassification),
}


def bpe_tokenizer() -> PreTrainedTokenizerFast:
    """A RoBERTa-style byte-level BPE (<s> x </s> and <s> a </s></s> b </s>) trained on CORPUS."""
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS, vocab_size=400, min_frequency=1, special_tokens=specials, show_progress=False)
    bpe.post_processor = RobertaProcessing(("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>")))
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
    )


def family_bundle(family: str, task: str, wordpiece, labels: tuple[str, ...], seed: int = 0) -> ModelBundle:
    """A 2-layer, 4-head random model of `family` with a `task` head, in eval mode like every bundle."""
    tokenizer = bpe_tokenizer() if family == "roberta" else wordpiece
    config_class, model_class = _CLASSES[family, task]
    common = {"vocab_size": len(tokenizer), "max_position_embeddings": 66, "num_labels": len(labels),
              "id2label": dict(enumerate(labels)), "attn_implementation": "eager"}
    if family == "distilbert":
        config = config_class(dim=32, n_layers=2, n_heads=4, hidden_dim=64, **common)
    else:
        sizes = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64}
        if family == "electra":
            sizes["embedding_size"] = 32
        if family == "roberta":
            sizes.update(pad_token_id=tokenizer.pad_token_id, bos_token_id=0, eos_token_id=2)
        config = config_class(**sizes, **common)
    torch.manual_seed(seed)
    model = model_class(config)
    return ModelBundle(name=f"tiny-{family}-{task}", source="random", tokenizer=tokenizer,
                       model=prepare_model(model), task=task, labels=labels)
