"""Multi-head attention of one layer recomputed from the weights (Concat(head_1..head_h) W^O + b^O) matches
what the model's own modules compute, within 1e-5, before and after the residual + LayerNorm."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import DistilBertConfig, DistilBertForMaskedLM

from explain import ModelBundle, run_model
from explain.attention.multihead_math import multihead_arithmetic
from explain.errors import InputError
from explain.models.arch import layers_of
from explain.models.checkpoint import prepare_model

TEXT = "The animal didn't cross the street because it was too tired."


def _check(bundle, run, layer):
    calc = multihead_arithmetic(bundle, run, layer)
    T, D = run.hidden_states.shape[1:]
    H = bundle.num_heads
    assert calc.concat.shape == (T, D) and calc.output.shape == (T, D) and calc.heads.shape == (H, T, D // H)
    assert calc.max_abs_error < 1e-5, calc.max_abs_error
    assert calc.max_abs_error_after_norm < 1e-5, calc.max_abs_error_after_norm
    assert calc.attention_error < 1e-5, calc.attention_error
    # concatenation order: columns i*d_k .. (i+1)*d_k hold head i
    d_k = calc.d_k
    for i in range(H):
        np.testing.assert_array_equal(calc.concat[:, i * d_k:(i + 1) * d_k], calc.heads[i])
    # concatenate-then-project is the sum of the per-head projections
    np.testing.assert_allclose(calc.per_head.sum(0) + calc.b_o, calc.output, atol=1e-10)
    assert not calc.output.flags.writeable
    return calc


def _ffn(bundle, layer, after_norm):
    """The rest of the layer (feed-forward + residual + LayerNorm), by the model's own modules."""
    block = layers_of(bundle.model)[layer]
    a = torch.tensor(after_norm, dtype=torch.float32)[None]
    with torch.inference_mode():
        if hasattr(block, "output_layer_norm"):  # DistilBERT
            return block.output_layer_norm(block.ffn(a) + a)[0].numpy()
        return block.output(block.intermediate(a), a)[0].numpy()


@pytest.mark.parametrize("layer", [0, 1])
def test_tiny_bert_every_layer(tiny_mlm, layer):
    run = run_model(tiny_mlm, TEXT, "It was late.")
    calc = _check(tiny_mlm, run, layer)
    # independent of the attention modules: the layer's output in the forward pass follows from after_norm
    np.testing.assert_allclose(_ffn(tiny_mlm, layer, calc.after_norm), run.hidden_states[layer + 1], atol=1e-5)


@pytest.mark.slow
def test_default_model_every_layer(default_bundle):
    run = run_model(default_bundle, TEXT)
    for layer in range(default_bundle.num_layers):
        calc = _check(default_bundle, run, layer)
        np.testing.assert_allclose(_ffn(default_bundle, layer, calc.after_norm), run.hidden_states[layer + 1],
                                   atol=1e-4)  # float32 feed-forward of 1536 units on values up to ~10


def test_distilbert_family(tokenizer):
    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=30522, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                              max_position_embeddings=64, attn_implementation="eager")
    bundle = ModelBundle(name="tiny-distil", source="random", tokenizer=tokenizer,
                         model=prepare_model(DistilBertForMaskedLM(config)), task="masked-lm")
    run = run_model(bundle, TEXT)
    for layer in range(2):
        calc = _check(bundle, run, layer)
        np.testing.assert_allclose(_ffn(bundle, layer, calc.after_norm), run.hidden_states[layer + 1], atol=1e-5)


def test_missing_layer_is_a_clear_error(tiny_mlm):
    run = run_model(tiny_mlm, TEXT)
    with pytest.raises(InputError, match="Layer 7 does not exist"):
        multihead_arithmetic(tiny_mlm, run, 7)
