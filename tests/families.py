"""Tiny random checkpoints of every family BERT Lens claims, saved as folders the way a user saves them.

`save_pretrained(folder, safe_serialization=True)` plus a tokenizer: the bert-base-uncased WordPiece of the
default model for BERT, DistilBERT and ELECTRA; a small byte-level BPE trained here with `tokenizers` for
RoBERTa, XLM-R and CamemBERT (recipe in the shared developer notes). Every model has 2 layers x 4 heads and
a hidden size of 32, so building all of them takes about a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AutoConfig,
    AutoModelForMaskedLM,
    AutoModelForPreTraining,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    PreTrainedTokenizerFast,
)

from explain.models.arch import embeddings_of, encoder_of
from explain.models.heads import default_encoder_dir

FAMILIES = ("bert", "roberta", "xlm-roberta", "camembert", "distilbert", "electra")
BPE_FAMILIES = ("roberta", "xlm-roberta", "camembert")

# head -> (AutoModel class, task BertLens should report after loading)
HEADS = {
    "mlm": (AutoModelForMaskedLM, "masked-lm"),
    "pretraining": (AutoModelForPreTraining, None),  # BERT: MLM + NSP; ELECTRA: the discriminator
    "seq": (AutoModelForSequenceClassification, "sequence-classification"),
    "tok": (AutoModelForTokenClassification, "token-classification"),
}
# Which heads each family has in transformers (RoBERTa-like and DistilBERT have no ForPreTraining).
FAMILY_HEADS = {
    "bert": ("mlm", "pretraining", "seq", "tok"),
    "roberta": ("mlm", "seq", "tok"),
    "xlm-roberta": ("mlm", "seq", "tok"),
    "camembert": ("mlm", "seq", "tok"),
    "distilbert": ("mlm", "seq", "tok"),
    "electra": ("mlm", "pretraining", "seq", "tok"),
}
SEQ_LABELS = ("negative", "positive")
TOK_LABELS = ("O", "B-PER", "I-PER")
MAX_POSITIONS = 64

CORPUS = [
    "The animal didn't cross the street because it was too tired.",
    "The capital of France is Paris, and the capital of Italy is Rome.",
    "A gripping, beautifully shot film with a weak ending.",
    "She said that he would come back tomorrow morning.",
    "Attention heads look at other tokens in the sentence.",
    "Émile a mangé une pomme près de la gare à Zürich.",
    "Numbers like 12, 345 and 6789 are split into pieces.",
] * 3


@dataclass(frozen=True)
class Checkpoint:
    """One saved tiny checkpoint: `folder` is what a user types as the model."""

    family: str
    head: str
    folder: Path

    @property
    def id(self) -> str:
        return f"{self.family}-{self.head}"

    @property
    def classifies(self) -> bool:
        return self.head in ("seq", "tok")


def embedding_output_from_parts(bundle, run) -> np.ndarray:
    """LayerNorm(word + position + segment) of a run's three parts, projected as ELECTRA does: (T, hidden).

    Equal to the model's first hidden state when the parts are the ones the model added up."""
    encoder = encoder_of(bundle.model)
    with torch.no_grad():
        out = embeddings_of(bundle.model).LayerNorm(torch.from_numpy(run.word_part + run.position_part + run.type_part))
        if hasattr(encoder, "embeddings_project"):  # ELECTRA: embedding size -> hidden size
            out = encoder.embeddings_project(out)
    return out.numpy()


def family_config(family: str, vocab_size: int, pad_id: int, **extra):
    """A 2-layer, 4-head, hidden-32 config of `family` (ELECTRA with a 16-wide embedding, as its small models)."""
    # Weights larger than the default init (0.02) so that scores and attributions move visibly.
    size = {"vocab_size": vocab_size, "pad_token_id": pad_id, "initializer_range": 0.3}
    if family == "distilbert":
        size.update(dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=MAX_POSITIONS)
    else:
        size.update(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
        # RoBERTa-like tables start at padding_idx + 1, so they need two more rows for the same length.
        size["max_position_embeddings"] = MAX_POSITIONS + (pad_id + 1 if family in BPE_FAMILIES else 0)
    if family == "electra":
        size["embedding_size"] = 16
    if family in BPE_FAMILIES:
        size.update(bos_token_id=1 - pad_id, eos_token_id=2, type_vocab_size=1)
    size.update(extra)
    return AutoConfig.for_model(family, **size)


def bpe_tokenizer(pad_first: bool = False) -> PreTrainedTokenizerFast:
    """A byte-level BPE of a few hundred tokens with RoBERTa's specials and post-processing.

    Specials get ids <s> 0, <pad> 1, </s> 2, <unk> 3, <mask> 4 as in RoBERTa; `pad_first` swaps <s> and <pad>
    (a home-made tokenizer may well do that, and RoBERTa's positions then start at 1).
    """
    from tokenizers import AddedToken, ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing

    mask = AddedToken("<mask>", lstrip=True, special=True)  # as RoBERTa's: takes the space before it
    specials = ["<pad>", "<s>"] if pad_first else ["<s>", "<pad>"]
    specials += ["</s>", "<unk>", mask]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS, vocab_size=400, min_frequency=1, special_tokens=specials, show_progress=False)
    bpe.post_processor = RobertaProcessing(("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>")))
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token=mask,
        model_max_length=MAX_POSITIONS,
    )
    return tok


def sentencepiece_tokenizer() -> PreTrainedTokenizerFast:
    """A SentencePiece-style Unigram tokenizer ("▁" marks a word start), as real XLM-R and CamemBERT have."""
    from tokenizers import AddedToken, SentencePieceUnigramTokenizer
    from tokenizers.processors import TemplateProcessing

    sp = SentencePieceUnigramTokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>", AddedToken("<mask>", lstrip=True, special=True)]
    sp.train_from_iterator(CORPUS, vocab_size=300, special_tokens=specials, unk_token="<unk>", show_progress=False)
    ends = [("<s>", sp.token_to_id("<s>")), ("</s>", sp.token_to_id("</s>"))]
    sp.post_processor = TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=ends)
    return PreTrainedTokenizerFast(
        tokenizer_object=sp._tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=MAX_POSITIONS,
    )


def wordpiece_tokenizer():
    """The default model's bert-base-uncased WordPiece."""
    return AutoTokenizer.from_pretrained(default_encoder_dir(), local_files_only=True, model_max_length=MAX_POSITIONS)


def build_checkpoints(root: Path, families: tuple[str, ...] = FAMILIES, seed: int = 0) -> dict[str, Checkpoint]:
    """Save every (family, head) checkpoint under root/<family>-<head>/; id -> Checkpoint."""
    out: dict[str, Checkpoint] = {}
    wordpiece = bpe = None
    for family in families:
        for head in FAMILY_HEADS[family]:
            folder = root / f"{family}-{head}"
            folder.mkdir(parents=True, exist_ok=True)
            if family in BPE_FAMILIES:
                bpe = bpe or bpe_tokenizer()
                tok = bpe
            else:
                wordpiece = wordpiece or wordpiece_tokenizer()
                tok = wordpiece
            tok.save_pretrained(folder)
            labels = {"seq": SEQ_LABELS, "tok": TOK_LABELS}.get(head, ())
            extra = {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
                     "label2id": {name: i for i, name in enumerate(labels)}} if labels else {}
            config = family_config(family, len(tok), tok.pad_token_id, **extra)
            torch.manual_seed(seed)
            model = HEADS[head][0].from_config(config)
            model.save_pretrained(folder, safe_serialization=True)
            out[f"{family}-{head}"] = Checkpoint(family, head, folder)
    return out
