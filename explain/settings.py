"""How this BERT Lens server may be used: which models, how big, how much work per request.

Read once per process from environment variables and, optionally, a TOML file named by
$BERT_LENS_SETTINGS (environment variables win). With nothing set, everything is as it always was for
one person on a laptop. `BERT_LENS_HOSTED=1` switches to safe defaults for a server shared by a class
or a team (HOSTED_DEFAULTS); each setting can still be given on its own.

    BERT_LENS_HOSTED=1 BERT_LENS_ALLOWED_MODELS="bert-base-uncased, bert-base-chinese" make run

The library enforces the model rules (explain.models.catalog.load_model, checkpoint.load_checkpoint)
and the work limits (pseudo-log-likelihood, attention flow, attribution options), so the app and the
command line obey the same rules.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from explain.errors import BertLensError, InputError
from explain.i18n import _

MODEL_POLICIES = ("any", "builtin", "allow-list")
HEAD_SAVING = ("shared", "session", "off")
ENV_PREFIX = "BERT_LENS_"
SETTINGS_FILE_VAR = "BERT_LENS_SETTINGS"


class SettingsError(BertLensError):
    """A setting has a value BERT Lens cannot use; the message names the setting and what it accepts."""


@dataclass(frozen=True)
class Settings:
    """Rules for one server. None means no limit.

    Attributes:
        hosted: safe defaults for many visitors (see HOSTED_DEFAULTS).
        models: "any" (any hub id or folder), "builtin" (only the models BERT Lens ships), or
            "allow-list" (built-ins plus `allowed_models`).
        allowed_models: hub ids offered besides the built-ins (with models="allow-list").
        local_folders: whether a visitor may name a folder on the server as a checkpoint.
        max_parameters: largest model, checked from config.json before any weights are read.
        model_memory: bytes of model weights kept in memory; the least recently used model goes first.
        max_models: models kept in memory at once.
        run_memory: bytes of cached forward passes (a bert-base run of 512 tokens holds ~170 MB of
            attentions and hidden states); the 64 most recent are kept in any case.
        max_pll_tokens: longest text scored by pseudo-log-likelihood (one masked copy per token).
        max_flow_tokens: longest text for attention flow (work grows as tokens^4).
        max_ig_steps: integration steps for Integrated Gradients (and layer attributions).
        max_samples: perturbed samples for KernelSHAP and LIME.
        max_data_rows: rows of an uploaded data set the Data set page reads per request; a larger file
            is sampled down to it (seeded) with a message naming the limit.
        training_jobs: heads trained at once on this server (others wait in a queue); 0: no training.
        torch_threads: threads one computation may use (torch.set_num_threads); None: torch's default,
            one per core. With several sessions computing at once, 1 keeps them from fighting over cores.
        save_heads: "shared" (saved heads are offered to every visitor), "session" (only to the
            session that trained them, gone when the server stops), "off" (not saved).
    """

    hosted: bool = False
    models: str = "any"
    allowed_models: tuple[str, ...] = ()
    local_folders: bool = True
    max_parameters: int | None = None
    model_memory: int | None = None
    max_models: int | None = 6
    run_memory: int | None = None
    max_pll_tokens: int | None = None
    max_flow_tokens: int | None = None
    max_ig_steps: int | None = None
    max_samples: int | None = None
    max_data_rows: int | None = None
    training_jobs: int | None = None
    torch_threads: int | None = None
    save_heads: str = "shared"

    def __post_init__(self) -> None:
        if self.models not in MODEL_POLICIES:
            raise SettingsError(_("models must be one of {allowed}; got '{value}'.").format(
                allowed=", ".join(MODEL_POLICIES), value=self.models))
        if self.save_heads not in HEAD_SAVING:
            raise SettingsError(_("save_heads must be one of {allowed}; got '{value}'.").format(
                allowed=", ".join(HEAD_SAVING), value=self.save_heads))
        if self.models == "allow-list" and not self.allowed_models:
            raise SettingsError(_("models = allow-list needs allowed_models: the hub ids to offer."))
        for name, low in (("max_parameters", 1), ("model_memory", 1), ("max_models", 1), ("run_memory", 1), ("max_pll_tokens", 3),
                          ("max_flow_tokens", 3), ("max_ig_steps", 2), ("max_samples", 10), ("max_data_rows", 10), ("training_jobs", 0),
                          ("torch_threads", 1)):
            value = getattr(self, name)
            if value is not None and value < low:
                raise SettingsError(_("{name} must be at least {low} (or 'none' for no limit); got {value}.").format(
                    name=name, low=low, value=value))

HOSTED_DEFAULTS: Mapping[str, Any] = {
    "models": "builtin",
    "local_folders": False,
    "max_parameters": 300_000_000,
    "model_memory": 2_000_000_000,
    "max_models": None,
    "run_memory": 1_000_000_000,
    "max_pll_tokens": 128,
    "max_flow_tokens": 64,
    "max_ig_steps": 100,
    "max_samples": 512,
    "max_data_rows": 2_000,
    "training_jobs": 1,
    "torch_threads": 1,
    "save_heads": "session",
}

_NONE = ("", "none", "unlimited", "no limit")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_COUNT_UNITS = {"": 1, "k": 10**3, "thousand": 10**3, "m": 10**6, "million": 10**6, "b": 10**9, "billion": 10**9}
_BYTE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise SettingsError(_("{name} must be 1 or 0 (true or false); got '{value}'.").format(name=name, value=value))


def _amount(name: str, value: Any, units: Mapping[str, int]) -> int | None:
    """'200M', '1.5 billion', '2GB', 512, 'none' -> int or None."""
    if value is None or isinstance(value, bool):
        return None if value is None else _bad_amount(name, value, units)
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip().lower().replace("_", "").replace(",", "")
    if text in _NONE:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text)
    if not match or match.group(2) not in units:
        return _bad_amount(name, value, units)
    return round(float(match.group(1)) * units[match.group(2)])


def _bad_amount(name: str, value: Any, units: Mapping[str, int]) -> int:
    examples = {id(_COUNT_UNITS): "200M, 1.5B", id(_BYTE_UNITS): "512MB, 2GB, 4GiB"}.get(id(units), "128")
    raise SettingsError(_("{name} must be a number such as {examples}, or 'none'; got '{value}'.").format(
        name=name, examples=examples, value=value))


def _names(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,\s]+", str(value))
    return tuple(dict.fromkeys(str(v).strip() for v in items if str(v).strip()))


_PARSERS = {
    "hosted": _flag,
    "models": lambda name, v: str(v).strip().lower(),
    "allowed_models": lambda name, v: _names(v),
    "local_folders": _flag,
    "max_parameters": lambda name, v: _amount(name, v, _COUNT_UNITS),
    "model_memory": lambda name, v: _amount(name, v, _BYTE_UNITS),
    "run_memory": lambda name, v: _amount(name, v, _BYTE_UNITS),
    "max_data_rows": lambda name, v: _amount(name, v, _COUNT_UNITS),
    "save_heads": lambda name, v: str(v).strip().lower(),
}
_FIELDS = tuple(f.name for f in fields(Settings))


def _parse(name: str, value: Any, label: str | None = None) -> Any:
    """The value of setting `name`, checked; errors name `label` (the variable or key the host wrote)."""
    parser = _PARSERS.get(name, lambda n, v: _amount(n, v, {"": 1}))
    return parser(label or name, value)


def _from_file(path: str) -> dict[str, Any]:
    import tomllib

    try:
        data = tomllib.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except OSError as err:
        raise SettingsError(_("Cannot read the settings file '{path}' ({reason}).").format(
            path=path, reason=err.strerror or err)) from None
    except tomllib.TOMLDecodeError as err:
        raise SettingsError(_("The settings file '{path}' is not valid TOML: {reason}.").format(
            path=path, reason=err)) from None
    data = data.get("bert_lens", data)  # a [bert_lens] table, or keys at the top
    out = {}
    for key, value in data.items():
        name = key.replace("-", "_").lower()
        if name not in _FIELDS:
            raise SettingsError(_("The settings file '{path}' has an unknown setting '{key}'; known: {known}.").format(
                path=path, key=key, known=", ".join(_FIELDS)))
        out[name] = _parse(name, value, key)
    return out


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `environ` (default os.environ): defaults < hosted defaults < TOML file < variables."""
    environ = os.environ if environ is None else environ
    given = _from_file(environ[SETTINGS_FILE_VAR]) if environ.get(SETTINGS_FILE_VAR) else {}
    for name in _FIELDS:
        var = ENV_PREFIX + name.upper()
        if var in environ:
            given[name] = _parse(name, environ[var], var)
    values: dict[str, Any] = {}
    if given.get("hosted"):
        values.update(HOSTED_DEFAULTS)
    if given.get("allowed_models") and "models" not in given:
        values["models"] = "allow-list"
    values.update(given)
    return Settings(**values)


_lock = threading.Lock()
_current: Settings | None = None


def current_settings() -> Settings:
    """This process's settings, read from the environment on first use and kept."""
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = load_settings()
    return _current


@contextmanager
def use_settings(settings: Settings | None = None, **changes: Any) -> Iterator[Settings]:
    """Run a block under other settings (tests, benchmarks): `settings`, or the current ones with `changes`."""
    global _current
    previous = current_settings()
    chosen = replace(settings or previous, **changes)
    with _lock:
        _current = chosen
    try:
        yield chosen
    finally:
        with _lock:
            _current = previous


def apply_torch_threads(settings: Settings | None = None) -> None:
    """torch.set_num_threads(torch_threads) when the setting is given (the app and the CLI call this)."""
    n = (settings or current_settings()).torch_threads
    if n is not None:
        import torch

        if torch.get_num_threads() != n:
            torch.set_num_threads(n)


# ---- limits on work per request ------------------------------------------------------------------


def check_pll_tokens(num_tokens: int) -> None:
    """InputError when pseudo-log-likelihood of `num_tokens` tokens is more than this server scores."""
    limit = current_settings().max_pll_tokens
    if limit is not None and num_tokens > limit:
        raise InputError(_(
            "Pseudo-log-likelihood masks every token in turn: this text has {n} tokens and this server scores "
            "at most {limit}. Shorten the text to {limit} tokens or fewer."
        ).format(n=num_tokens, limit=limit))


def check_flow_tokens(num_tokens: int) -> None:
    """InputError when attention flow over `num_tokens` tokens is more than this server computes."""
    limit = current_settings().max_flow_tokens
    if limit is not None and num_tokens > limit:
        raise InputError(_(
            "Attention flow solves one max-flow problem per pair of tokens: this text has {n} tokens and this "
            "server computes flow for at most {limit}. Shorten the text, or read the rollout, which is instant."
        ).format(n=num_tokens, limit=limit))


def check_ig_steps(steps: int) -> None:
    """InputError when `steps` integration steps are more than this server allows."""
    limit = current_settings().max_ig_steps
    if limit is not None and steps > limit:
        raise InputError(_("{n} integration steps are more than this server allows ({limit}): choose "
                           "{limit} or fewer.").format(n=steps, limit=limit))


def check_samples(samples: int) -> None:
    """InputError when `samples` KernelSHAP/LIME samples are more than this server allows."""
    limit = current_settings().max_samples
    if limit is not None and samples > limit:
        raise InputError(_("{n} samples are more than this server allows ({limit}): choose {limit} or "
                           "fewer.").format(n=samples, limit=limit))


def allowed_options(options: tuple[int, ...], limit: int | None) -> list[int]:
    """The choices of a slider that stay within `limit` (the limit itself when none does)."""
    if limit is None:
        return list(options)
    return [o for o in options if o <= limit] or [limit]
