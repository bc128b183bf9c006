"""Tiny models built for the behavioural tests: a bag-of-words classifier that ignores word order.

`bag_of_words(tokenizer, weights)` is a real torch model wrapped as a ModelBundle like any other:
logit(fresh) - logit(rotten) = sum over the tokens of weight(token), the weight read from the word
embedding (dimension 0), so it takes `input_ids` or `inputs_embeds` (gradients and Integrated
Gradients work on it as on BERT). It knows nothing but its weights: not 'not', not word order.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from transformers import BertConfig, BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from explain import ModelBundle
from explain.models.checkpoint import prepare_model


class BagOfWordsForSequenceClassification(BertPreTrainedModel):
    """Sums the word embeddings of the unmasked tokens and reads them with a linear head."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)  # only its word-embedding table is used
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, **kwargs):
        if inputs_embeds is None:
            inputs_embeds = self.bert.embeddings.word_embeddings(input_ids)
        mask = torch.ones(inputs_embeds.shape[:2]) if attention_mask is None else attention_mask
        pooled = (inputs_embeds * mask[..., None].to(inputs_embeds.dtype)).sum(1)
        return SequenceClassifierOutput(logits=self.classifier(pooled))


def bag_of_words(tokenizer, weights: Mapping[str, float], labels=("rotten", "fresh")) -> ModelBundle:
    """A two-class bag of words: each listed word adds its weight to logit(labels[1]) - logit(labels[0]).

    Words must be single tokens of `tokenizer` (or tokens of its vocabulary, such as BPE's 'Ġword'); every
    other token weighs 0.
    """
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=4, num_hidden_layers=1, num_attention_heads=1,
                        intermediate_size=4, max_position_embeddings=512, num_labels=2,
                        id2label=dict(enumerate(labels)), attn_implementation="eager")
    model = BagOfWordsForSequenceClassification(config)
    with torch.no_grad():
        table = model.bert.embeddings.word_embeddings.weight
        table.zero_()
        vocab = tokenizer.get_vocab()
        for word, weight in weights.items():
            ids = [vocab[word]] if word in vocab else tokenizer(word, add_special_tokens=False)["input_ids"]
            assert len(ids) == 1, f"{word!r} is {len(ids)} tokens"
            table[ids[0], 0] = weight
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        model.classifier.weight[0, 0], model.classifier.weight[1, 0] = -0.5, 0.5
    return ModelBundle(name="bag of words", source="test", tokenizer=tokenizer, model=prepare_model(model),
                       task="sequence-classification", labels=tuple(labels))
