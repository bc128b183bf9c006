"""Model loading (safe, clear errors) and the single forward pass every view reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from explain import InputError, ModelLoadError, load_model, run_model
from explain.models.arch import embeddings_of
from explain.run import MAX_TEXT_CHARS


def test_attention_rows_sum_to_one(tiny_mlm):
    run = run_model(tiny_mlm, "The cat sat on the mat.", "It was tired.")
    assert run.attentions.shape == (2, 4, run.num_tokens, run.num_tokens)
    np.testing.assert_allclose(run.attentions.sum(-1), 1.0, atol=1e-5)


def test_embedding_parts_add_up_to_first_hidden_state(tiny_mlm):
    run = run_model(tiny_mlm, "Parts add up.", "Segment B counts too.")
    layer_norm = embeddings_of(tiny_mlm.model).LayerNorm
    summed = torch.tensor(run.word_part + run.position_part + run.type_part)
    np.testing.assert_allclose(layer_norm(summed).detach().numpy(), run.hidden_states[0], atol=1e-5)


def test_pair_segments_match_token_type_ids(tiny_mlm):
    run = run_model(tiny_mlm, "First part.", "Second part here.")
    np.testing.assert_array_equal(run.segment, run.token_type_ids)
    assert run.tokens[0] == "[CLS]" and run.tokens.count("[SEP]") == 2
    assert run.special.sum() == 3


def test_run_is_read_only(tiny_mlm):
    run = run_model(tiny_mlm, "Shared results must not change.")
    with pytest.raises(ValueError):
        run.attentions[0, 0, 0, 0] = 2.0


def test_long_text_is_truncated_with_notice(tiny_mlm):
    run = run_model(tiny_mlm, "word " * 500)
    assert run.num_tokens == tiny_mlm.max_tokens == 64
    assert run.truncated_from == 502


@pytest.mark.parametrize("text", ["", "   \n\t", None])
def test_empty_text_is_refused_clearly(tiny_mlm, text):
    with pytest.raises(InputError, match="empty"):
        run_model(tiny_mlm, text)


def test_control_characters_only_is_refused_clearly(tiny_mlm):
    with pytest.raises(InputError, match="Nothing is left"):
        run_model(tiny_mlm, "\x00\x01\x02")


def test_huge_text_is_capped_before_tokenizing(tiny_mlm):
    run = run_model(tiny_mlm, "a" * (MAX_TEXT_CHARS * 3))
    assert run.num_tokens <= tiny_mlm.max_tokens


def test_hub_id_offline_gives_clear_message(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="cannot be reached"):
        load_model("bert-base-uncased")


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "No model given"),
        ("/no/such/folder", "No folder"),
        ("not a model id!", "neither a folder"),
    ],
)
def test_bad_model_specs(spec, message):
    with pytest.raises(ModelLoadError, match=message):
        load_model(spec)


def _save_tiny(folder, tiny_mlm, **config_changes):
    tiny_mlm.model.save_pretrained(folder)
    tiny_mlm.tokenizer.save_pretrained(folder)
    if config_changes:
        cfg = json.loads((folder / "config.json").read_text())
        cfg.update(config_changes)
        (folder / "config.json").write_text(json.dumps(cfg))


def test_local_folder_loads_with_its_head(tmp_path, tiny_mlm):
    _save_tiny(tmp_path, tiny_mlm)
    bundle = load_model(str(tmp_path))
    assert bundle.task == "masked-lm" and bundle.has_mlm
    a = run_model(bundle, "Same weights.").attentions
    b = run_model(tiny_mlm, "Same weights.").attentions
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_folder_without_config_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelLoadError, match="no config.json"):
        load_model(str(tmp_path))


def test_decoder_model_is_refused(tmp_path, tiny_mlm):
    _save_tiny(tmp_path, tiny_mlm, model_type="gpt2", architectures=["GPT2LMHeadModel"])
    with pytest.raises(ModelLoadError, match="'gpt2' model"):
        load_model(str(tmp_path))


def test_pickle_only_checkpoint_is_refused(tmp_path, tiny_mlm):
    _save_tiny(tmp_path, tiny_mlm)
    (tmp_path / "model.safetensors").rename(tmp_path / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="pickle"):
        load_model(str(tmp_path))


def test_corrupt_safetensors_is_refused(tmp_path, tiny_mlm):
    _save_tiny(tmp_path, tiny_mlm)
    (tmp_path / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ModelLoadError, match="damaged"):
        load_model(str(tmp_path))


def test_missing_head_weights_fall_back_to_encoder(tmp_path, tiny_mlm):
    _save_tiny(tmp_path, tiny_mlm)
    state = {k: v for k, v in tiny_mlm.model.state_dict().items() if not k.startswith("cls.")}
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "model.safetensors"))
    bundle = load_model(str(tmp_path))
    assert bundle.task == "encoder" and not bundle.has_mlm
    assert any("no weights" in n for n in bundle.notes)


def test_default_model_is_real_and_offline(default_bundle):
    assert (default_bundle.num_layers, default_bundle.num_heads) == (6, 12)
    run = run_model(default_bundle, "The bank raised its rates.")
    assert run.tokens[:3] == ("[CLS]", "the", "bank")
    np.testing.assert_allclose(run.attentions.sum(-1), 1.0, atol=1e-5)


def test_builtin_models_by_task_come_from_the_cards():
    from explain.models.catalog import NER_MODEL, SPLADE_MODEL, builtin_models_for

    mlm = builtin_models_for("masked-lm")
    assert SPLADE_MODEL in mlm and "all-MiniLM-L6-v2 + BERT Lens MLM head" in mlm
    classifiers = builtin_models_for("sequence-classification", "token-classification")
    assert NER_MODEL in classifiers and "MiniLM + movie-review sentiment head (rotten/fresh)" in classifiers
    assert not set(mlm) & set(classifiers)
