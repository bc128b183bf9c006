"""Hosting settings in the library: reading them, model size from config.json, which models may load,
the memory-bounded cache, and the limits on work per request (the app's side: tests/test_hosting_app.py)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import (
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForPreTraining,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    BertConfig,
    BertModel,
    CamembertConfig,
    DistilBertConfig,
    ElectraConfig,
    RobertaConfig,
    XLMRobertaConfig,
)

from explain import DEFAULT_MODEL, InputError, ModelLoadError, attribute, load_checkpoint, load_model, run_model
from explain.attention.maps import attention_flow
from explain.attribution.layers import layer_attributions
from explain.cache import ByteLRU
from explain.mlm import pseudo_log_likelihood
from explain.models.heads import default_encoder_dir
from explain.models.policy import check_model_allowed
from explain.models.size import human_count, parameter_count
from explain.settings import HOSTED_DEFAULTS, Settings, SettingsError, load_settings, use_settings

# ---- parameter count from the config, against the real models ------------------------------------

SMALL = {"vocab_size": 97, "hidden_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 40, "max_position_embeddings": 33}
CONFIGS = {
    "bert": lambda **kw: BertConfig(**SMALL, type_vocab_size=3, **kw),
    "roberta": lambda **kw: RobertaConfig(**SMALL, type_vocab_size=1, **kw),
    "xlm-roberta": lambda **kw: XLMRobertaConfig(**SMALL, **kw),
    "camembert": lambda **kw: CamembertConfig(**SMALL, **kw),
    "distilbert": lambda **kw: DistilBertConfig(vocab_size=97, dim=24, n_layers=2, n_heads=4, hidden_dim=40,
                                                max_position_embeddings=33, **kw),
    "electra": lambda **kw: ElectraConfig(**SMALL, embedding_size=16, **kw),  # embedding size != hidden size
}
TASKS = {
    "encoder": AutoModel,
    "masked-lm": AutoModelForMaskedLM,
    "pretraining": AutoModelForPreTraining,
    "sequence-classification": AutoModelForSequenceClassification,
    "token-classification": AutoModelForTokenClassification,
}


@pytest.mark.parametrize("tied", [True, False], ids=["tied", "untied"])
@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("family", list(CONFIGS))
def test_parameter_count_from_config_equals_the_built_model(family, task, tied):
    config = CONFIGS[family](num_labels=5, tie_word_embeddings=tied)
    torch.manual_seed(0)
    model = TASKS[task].from_config(config)
    real = sum(p.numel() for p in model.parameters())
    assert parameter_count(config, task) == real, type(model).__name__
    assert parameter_count(json.loads(config.to_json_string()), task) == real  # from the config.json dict too


def test_parameter_count_of_known_checkpoints():
    bert_base = {"model_type": "bert", "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12,
                 "intermediate_size": 3072, "max_position_embeddings": 512, "type_vocab_size": 2}
    assert parameter_count(bert_base) == 109_482_240  # bert-base-uncased's BertModel, as published
    xl = {"model_type": "xlm-roberta", "vocab_size": 250880, "hidden_size": 2560, "num_hidden_layers": 36,
          "intermediate_size": 10240, "max_position_embeddings": 514, "type_vocab_size": 1}
    assert human_count(parameter_count(xl, "masked-lm")) == "3.5 billion"
    bundle = load_model(DEFAULT_MODEL)  # the shipped default, from its own config.json
    config = json.loads((default_encoder_dir() / "config.json").read_text())
    assert parameter_count(config) == sum(p.numel() for p in bundle.model.parameters())


def test_human_count():
    assert [human_count(n) for n in (200_000_000, 336_226_108, 4_386_000, 3_482_741_760, 950)] == [
        "200 million", "336 million", "4.4 million", "3.5 billion", "950"]


# ---- reading the settings --------------------------------------------------------------------------


def test_no_settings_mean_the_laptop_defaults():
    assert load_settings({}) == Settings()
    s = Settings()
    assert (s.models, s.local_folders, s.max_parameters, s.max_models, s.training_jobs, s.save_heads) == (
        "any", True, None, 6, None, "shared")


def test_hosted_switch_sets_safe_defaults_and_each_can_be_overridden(tmp_path):
    hosted = load_settings({"BERT_LENS_HOSTED": "1"})
    assert hosted.hosted and {k: getattr(hosted, k) for k in HOSTED_DEFAULTS} == dict(HOSTED_DEFAULTS)
    assert not hosted.local_folders and hosted.models == "builtin" and hosted.save_heads == "session"
    toml = tmp_path / "bertlens.toml"
    toml.write_text('hosted = true\nallowed_models = ["bert-base-uncased", "bert-base-chinese"]\n'
                    'max_parameters = "200M"\nmodel_memory = "4GiB"\nmax-ig-steps = 50\n')
    s = load_settings({"BERT_LENS_SETTINGS": str(toml), "BERT_LENS_MAX_PARAMETERS": "1.5B",
                       "BERT_LENS_LOCAL_FOLDERS": "on"})
    assert s.models == "allow-list" and s.allowed_models == ("bert-base-uncased", "bert-base-chinese")
    assert s.max_parameters == 1_500_000_000  # the environment wins over the file
    assert s.model_memory == 4 * 2**30 and s.max_ig_steps == 50 and s.local_folders
    assert s.max_pll_tokens == HOSTED_DEFAULTS["max_pll_tokens"]  # the rest stays hosted


@pytest.mark.parametrize("environ, message", [
    ({"BERT_LENS_MODELS": "some"}, r"models must be one of any, builtin, allow-list"),
    ({"BERT_LENS_MAX_PARAMETERS": "lots"}, r"BERT_LENS_MAX_PARAMETERS must be a number such as 200M"),
    ({"BERT_LENS_HOSTED": "maybe"}, r"BERT_LENS_HOSTED must be 1 or 0"),
    ({"BERT_LENS_MODELS": "allow-list"}, r"needs allowed_models"),
    ({"BERT_LENS_MAX_IG_STEPS": "1"}, r"max_ig_steps must be at least 2"),
    ({"BERT_LENS_SAVE_HEADS": "cloud"}, r"save_heads must be one of shared, session, off"),
    ({"BERT_LENS_SETTINGS": "/no/such/bertlens.toml"}, r"Cannot read the settings file"),
])
def test_bad_settings_are_refused_with_what_is_accepted(environ, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(environ)


def test_unknown_key_in_the_settings_file(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text("max_paramters = 5\n")
    with pytest.raises(SettingsError, match="unknown setting 'max_paramters'"):
        load_settings({"BERT_LENS_SETTINGS": str(toml)})


# ---- which models may load ------------------------------------------------------------------------

BUILTIN = ["built-in A", "built-in B"]


def test_model_rules(tmp_path):
    laptop, hosted = Settings(), load_settings({"BERT_LENS_HOSTED": "1"})
    listed = Settings(models="allow-list", allowed_models=("bert-base-uncased",), local_folders=False)
    for spec in ("built-in A", "bert-base-uncased", str(tmp_path), "some/other-model"):
        check_model_allowed(spec, BUILTIN, laptop)  # anything goes on a laptop
    check_model_allowed("built-in B", BUILTIN, hosted)
    check_model_allowed("bert-base-uncased", BUILTIN, listed)
    with pytest.raises(ModelLoadError, match=r"does not open folders on its disk"):
        check_model_allowed(str(tmp_path), BUILTIN, hosted)
    with pytest.raises(ModelLoadError, match=r"does not open folders"):
        check_model_allowed("./relative/path", BUILTIN, listed)
    with pytest.raises(ModelLoadError, match=r"offers only its built-in models; 'roberta-base'.*built-in A; built-in B"):
        check_model_allowed("roberta-base", BUILTIN, hosted)
    with pytest.raises(ModelLoadError, match=r"'roberta-base' is not on this server's list.*bert-base-uncased"):
        check_model_allowed("roberta-base", BUILTIN, listed)


def test_load_model_and_load_checkpoint_obey_the_rules(tmp_path):
    with use_settings(load_settings({"BERT_LENS_HOSTED": "1"})):
        for load in (load_model, load_checkpoint):
            with pytest.raises(ModelLoadError, match="does not open folders"):
                load(str(default_encoder_dir()))
            with pytest.raises(ModelLoadError, match="offers only its built-in models"):
                load("bert-base-uncased")
        assert load_model(DEFAULT_MODEL).num_layers == 6  # built-ins always load


def _large_checkpoint(folder: Path, corrupt_weights: bool) -> Path:
    """A tiny real BERT checkpoint whose config.json is then edited to bert-large sizes."""
    BertModel(BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(default_encoder_dir()).save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)
    (folder / "config.json").write_text(json.dumps(config))
    if corrupt_weights:  # reading these would fail with "damaged or truncated": the size check must come first
        (folder / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    return folder


def test_oversized_checkpoint_is_refused_from_its_config_before_weights_are_read(tmp_path):
    folder = _large_checkpoint(tmp_path, corrupt_weights=True)
    with use_settings(max_parameters=200_000_000), pytest.raises(ModelLoadError) as err:
        load_checkpoint(str(folder))
    assert str(err.value) == (f"'{folder}' has about 335 million parameters; this server allows at most "
                              "200 million. Choose a smaller model.")
    with use_settings(max_parameters=None), pytest.raises(ModelLoadError, match="damaged or truncated"):
        load_checkpoint(str(folder))  # without the limit the (broken) weights are read


# ---- the memory-bounded cache ----------------------------------------------------------------------


def test_lru_by_bytes_evicts_least_recently_used():
    loads = []
    cache = ByteLRU(len, max_bytes=10)

    def value(key, size):
        return lambda: loads.append(key) or "x" * size

    cache.get("a", value("a", 4))
    cache.get("b", value("b", 4))
    cache.get("a", value("a", 4))  # a is now the most recent
    cache.get("c", value("c", 4))  # 12 bytes > 10: b goes
    assert cache.keys() == ["a", "c"] and cache.stats().bytes == 8 and loads == ["a", "b", "c"]
    big = cache.get("d", value("d", 30))  # alone over the budget: kept, everything else goes
    assert cache.keys() == ["d"] and len(big) == 30
    cache.set_limits(max_bytes=None, max_entries=1)
    cache.get("e", value("e", 1))
    assert cache.keys() == ["e"] and cache.stats().evictions == 4


def test_lru_loads_each_key_once_for_many_threads_and_caches_no_failure():
    calls = []
    gate = threading.Event()

    def slow_load():
        calls.append(1)
        gate.wait(5)
        return np.zeros(10)

    cache = ByteLRU(lambda a: a.nbytes, max_bytes=1000)
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("m", slow_load))) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and len(results) == 8 and all(r is results[0] for r in results)

    def broken():
        raise ModelLoadError("no")

    for _ in range(2):
        with pytest.raises(ModelLoadError):
            cache.get("bad", broken)
    assert "bad" not in cache


def test_an_evicted_model_keeps_working_for_whoever_holds_it():
    cache = ByteLRU(lambda b: b.nbytes, max_entries=1)
    bundle = cache.get(DEFAULT_MODEL, lambda: load_model(DEFAULT_MODEL))
    before = run_model(bundle, "A sentence in the middle of a run.")
    cache.get("other", lambda: load_model(DEFAULT_MODEL))  # evicts the first
    assert DEFAULT_MODEL not in cache
    after = run_model(bundle, "A sentence in the middle of a run.")
    np.testing.assert_array_equal(before.attentions, after.attentions)


# ---- limits on work per request --------------------------------------------------------------------


def test_pll_limit(tiny_mlm):
    text = "one two three four five six seven eight nine ten"
    with use_settings(max_pll_tokens=8):
        with pytest.raises(InputError, match=r"this text has 12 tokens and this server scores at most 8"):
            pseudo_log_likelihood(tiny_mlm, text)
        assert len(pseudo_log_likelihood(tiny_mlm, "one two three").positions) == 3
    assert len(pseudo_log_likelihood(tiny_mlm, text).positions) == 10  # no limit by default


def test_flow_limit(tiny_mlm):
    run = run_model(tiny_mlm, "a b c d e f")  # 8 tokens
    with use_settings(max_flow_tokens=6), pytest.raises(InputError, match=r"8 tokens .* at most 6"):
        attention_flow(run.attentions)
    with use_settings(max_flow_tokens=8):
        assert attention_flow(run.attentions).shape == (8, 8)


def test_attribution_limits(tiny_classifier):
    text = "a fine film"
    with use_settings(max_ig_steps=20, max_samples=64):
        with pytest.raises(InputError, match=r"50 integration steps are more than this server allows \(20\)"):
            attribute(tiny_classifier, text, method="ig", n_steps=50)
        with pytest.raises(InputError, match=r"256 samples are more than this server allows \(64\)"):
            attribute(tiny_classifier, text, method="kernel_shap", n_samples=256)
        adaptive = attribute(tiny_classifier, text, method="ig")  # the adaptive default stops at the limit
        assert adaptive.options["n_steps"] == "auto" and 0 < adaptive.n_steps <= 20
        assert attribute(tiny_classifier, text, method="lime").options["n_samples"] == 64
        with pytest.raises(InputError, match="integration steps"):
            layer_attributions(tiny_classifier, text, n_steps=30)
    with use_settings(max_ig_steps=10):
        assert layer_attributions(tiny_classifier, text).options["n_steps"] == 10
    assert attribute(tiny_classifier, text, method="ig").options["n_steps"] == "auto"  # adaptive IG without a limit


def test_torch_threads_setting():
    from explain.settings import apply_torch_threads

    before = torch.get_num_threads()
    try:
        apply_torch_threads(Settings(torch_threads=1))
        assert torch.get_num_threads() == 1
        apply_torch_threads(Settings())  # no setting: left as it is
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
