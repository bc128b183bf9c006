"""Load a BERT-family checkpoint (local folder or hub id) into a ModelBundle, safely.

Safety rules: weights only from safetensors, never `trust_remote_code`, eager attention (the only
implementation that returns attention weights), and a head whose weights are missing from the
checkpoint is dropped rather than shown with random values.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import transformers
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForNextSentencePrediction,
    AutoModelForPreTraining,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from explain import local_files
from explain.errors import ModelLoadError
from explain.i18n import N_, _, deferred
from explain.local_files import shown
from explain.models.arch import Arch, arch_of, mlm_head_of, nsp_head_of
from explain.models.policy import NOT_A_MODEL, check_model_allowed, check_model_size, check_spec

transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

TASKS = ("encoder", "masked-lm", "pretraining", "next-sentence", "sequence-classification", "token-classification")
TASK_NAMES = {  # what the app shows for each task (translated where shown)
    "encoder": N_("encoder only"),
    "masked-lm": N_("masked language model"),
    "pretraining": N_("pre-training heads (MLM + NSP)"),
    "next-sentence": N_("next-sentence prediction (NSP)"),
    "sequence-classification": N_("text classification"),
    "token-classification": N_("token classification"),
}

_TASK_CLASSES = {
    "pretraining": AutoModelForPreTraining,
    "masked-lm": AutoModelForMaskedLM,
    "next-sentence": AutoModelForNextSentencePrediction,  # the shipped NSP head (explain.models.heads)
    "sequence-classification": AutoModelForSequenceClassification,
    "token-classification": AutoModelForTokenClassification,
    "encoder": AutoModel,
}
# Shown next to the model; shared by every session, so marked here and translated where it is shown.
ELECTRA_DISCRIMINATOR_NOTE = N_(
    "An ELECTRA discriminator: its head scores whether each token was replaced, which BERT Lens does not show; "
    "the encoder is shown. ELECTRA's generator checkpoints (ElectraForMaskedLM) have a masked-LM head."
)
_UNSUPPORTED = N_("{reason} Decoders (GPT-2) and encoder-decoders (T5) are not supported.")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}(/[\w.-]{1,96})?")  # with fullmatch (no newline slips past a $); the hub allows 96 characters per part


@dataclass(frozen=True, eq=False)
class ModelBundle:
    """A tokenizer and an eval-mode model, read-only once built (share it, never hook it).

    Attributes:
        name: display name.
        source: folder path or hub id it came from.
        task: one of TASKS; which head sits on the encoder.
        labels: class names for classification heads, in logit order.
        notes: honest remarks shown next to the model (e.g. "search-tuned MLM").
        card: metadata of a shipped head (data, licence, metrics), empty otherwise.
    """

    name: str
    source: str
    tokenizer: PreTrainedTokenizerBase
    model: PreTrainedModel
    task: str = "encoder"
    labels: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    card: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def config(self):
        return self.model.config

    @cached_property
    def arch(self) -> Arch:
        return arch_of(self.config.model_type, getattr(self.config, "pad_token_id", None))

    @property
    def num_layers(self) -> int:
        return self.config.num_hidden_layers if hasattr(self.config, "num_hidden_layers") else self.config.n_layers

    @property
    def num_heads(self) -> int:
        return self.config.num_attention_heads if hasattr(self.config, "num_attention_heads") else self.config.n_heads

    @property
    def max_tokens(self) -> int:
        """Longest input (special tokens included) the position table covers."""
        n = self.config.max_position_embeddings - self.arch.position_offset
        tok_max = getattr(self.tokenizer, "model_max_length", n) or n
        return int(min(n, tok_max))

    @property
    def has_mlm(self) -> bool:
        return self.task in ("masked-lm", "pretraining") and mlm_head_of(self.model) is not None

    @property
    def has_nsp(self) -> bool:
        return self.task in ("pretraining", "next-sentence") and nsp_head_of(self.model) is not None

    @property
    def mask_token(self) -> str | None:
        return self.tokenizer.mask_token

    @property
    def nbytes(self) -> int:
        """Memory held by the model's weights and buffers, in bytes."""
        tensors = [*self.model.parameters(), *self.model.buffers()]
        return sum(t.numel() * t.element_size() for t in tensors)


def prepare_model(model: PreTrainedModel) -> PreTrainedModel:
    """Eval mode, frozen parameters, eager attention: the state every shared model is kept in."""
    model.eval()
    model.requires_grad_(False)
    if model.config._attn_implementation != "eager":
        model.set_attn_implementation("eager")
    return model


def load_checkpoint(source: str, name: str | None = None, task: str | None = None, builtin: bool = False) -> ModelBundle:
    """Load a local checkpoint folder or a Hugging Face hub id.

    The head is chosen from `config.architectures` unless `task` is given; if the checkpoint lacks
    that head's weights the bare encoder is loaded instead (with a note), never a random head.
    Unless `builtin`, the source must be allowed by this server's settings (explain.settings: hub ids,
    local folders) and the model's size, computed from config.json, within `max_parameters`: both are
    checked before any weights are downloaded or read.

    Raises:
        ModelLoadError: with a message naming the way out (not found, offline, unsupported family,
            too large for this server, pickle-only weights, damaged file, ...).
    """
    source = check_spec(source)
    if not builtin:
        check_model_allowed(source, ())
    is_folder = local_files.is_folder(source)
    if is_folder:
        source = os.path.expanduser(source)
        _check_folder(source)
    elif source.startswith(("/", ".", "~")) or source.count("/") > 1 or "\\" in source:
        raise ModelLoadError(_("No folder at '{source}'. Give the path of a folder that holds config.json.").format(
            source=shown(source)))
    elif not _HUB_ID.fullmatch(source):
        raise ModelLoadError(_(NOT_A_MODEL).format(source=shown(source)))

    local_only = is_folder or _hub_unreachable()
    try:
        config = _with_clear_errors(source, local_only, lambda lo: AutoConfig.from_pretrained(source, local_files_only=lo))
    except ModelLoadError:
        raise
    except Exception as err:  # a config.json transformers cannot validate
        raise ModelLoadError(_("The config.json in '{source}' is not a valid model configuration: {reason}").format(
            source=source, reason=_first_line(err))) from None
    try:
        arch_of(config.model_type)
    except ValueError as err:
        raise ModelLoadError(_(_UNSUPPORTED).format(reason=err)) from None

    task = task or _task_from_architectures(config)
    if not builtin:
        check_model_size(config, task, source)
    notes: list[str] = []
    if config.model_type == "electra" and task == "pretraining":  # ElectraForPreTraining: no MLM, no NSP
        task = "encoder"
        notes.append(ELECTRA_DISCRIMINATOR_NOTE)
    model, missing = _load_weights(source, local_only, task)
    if _head_missing(missing):
        notes.append(deferred(N_("The checkpoint has no weights for its {task} head; showing the encoder only."),
                              task=task))
        task = "encoder"
        model = _load_weights(source, local_only, task)[0]
    if task == "pretraining" and any("seq_relationship" in k for k in missing):
        task = "masked-lm"
        model = _load_weights(source, local_only, task)[0]
    tokenizer = _with_clear_errors(
        source, local_only, lambda lo: AutoTokenizer.from_pretrained(source, local_files_only=lo)
    )
    labels = _labels(model.config) if task.endswith("classification") else ()
    return ModelBundle(
        name=name or source,
        source=source,
        tokenizer=tokenizer,
        model=prepare_model(model),
        task=task,
        labels=labels,
        notes=tuple(notes),
    )


def _check_folder(folder: str) -> None:
    files = set(os.listdir(folder))
    if "config.json" not in files:
        raise ModelLoadError(_("'{folder}' is not a model checkpoint: it has no config.json.").format(folder=folder))
    try:
        model_type = json.loads(Path(folder, "config.json").read_text()).get("model_type")
    except (OSError, ValueError, AttributeError):
        raise ModelLoadError(_("The config.json in '{folder}' is not readable JSON.").format(folder=folder)) from None
    try:
        arch_of(str(model_type))
    except ValueError as err:
        raise ModelLoadError(_(_UNSUPPORTED).format(reason=err)) from None
    if not any(f.endswith(".safetensors") for f in files):
        pickled = sorted(f for f in files if f.endswith((".bin", ".pt", ".pth", ".ckpt")))
        if pickled:
            raise ModelLoadError(_(
                "'{folder}' holds only pickle weights ({files}). Pickle files can run code when loaded, so BERT Lens "
                "reads safetensors only. Convert once with {command} in a trusted environment."
            ).format(folder=folder, files=", ".join(pickled),
                     command="`AutoModel.from_pretrained(folder).save_pretrained(folder)`"))
        raise ModelLoadError(_("'{folder}' has a config.json but no model.safetensors weights.").format(folder=folder))


_reachability: dict[str, tuple[float, bool]] = {}


def _hub_unreachable(timeout: float = 1.5) -> bool:
    """True when HF_HUB_OFFLINE is set or the hub host does not answer (checked at most once a minute)."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return True
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    host = re.sub(r"^https?://", "", endpoint).split("/")[0]
    checked = _reachability.get(host)
    if checked and time.monotonic() - checked[0] < 60:
        return not checked[1]
    try:
        hostname, _colon, port = host.partition(":")
        socket.create_connection((hostname, int(port or 443)), timeout=timeout).close()
        ok = True
    except OSError:
        ok = False
    _reachability[host] = (time.monotonic(), ok)
    return not ok


def _with_clear_errors(source: str, local_only: bool, load):
    """Call load(local_files_only) first on the local cache, then online; turn failures into ModelLoadError."""
    try:
        try:
            return load(True)
        except OSError:
            if local_only:
                raise
            return load(False)
    except ModelLoadError:
        raise
    except OSError as err:
        if local_files.is_folder(source):
            raise ModelLoadError(_("Could not read the checkpoint in '{source}': {reason}").format(
                source=source, reason=_first_line(err))) from None
        if local_only:
            raise ModelLoadError(_(
                "'{source}' is not in the local Hugging Face cache and the hub cannot be reached "
                "(no network, or HF_HUB_OFFLINE=1). Download it once where there is a network "
                "({command}) and copy the cache, give the path of a local "
                "checkpoint folder, or use the offline default model."
            ).format(source=source, command=f"`hf download {source}`")) from None
        raise ModelLoadError(_("'{source}' was not found on the Hugging Face hub: {reason}").format(
            source=source, reason=_first_line(err))) from None
    except ValueError as err:
        raise ModelLoadError(_("'{source}' could not be loaded: {reason}").format(
            source=source, reason=_first_line(err))) from None


def _load_weights(source: str, local_only: bool, task: str) -> tuple[PreTrainedModel, list[str]]:
    cls = _TASK_CLASSES[task]

    def load(lo: bool):
        return cls.from_pretrained(
            source,
            local_files_only=lo,
            attn_implementation="eager",
            use_safetensors=True,
            trust_remote_code=False,
            output_loading_info=True,
        )

    try:
        model, info = _with_clear_errors(source, local_only, load)
    except ModelLoadError:
        raise
    except Exception as err:  # safetensors raises its own error types on damaged files
        raise ModelLoadError(_(
            "The weights in '{source}' could not be read ({error}). The file may be damaged or truncated; download "
            "it again."
        ).format(source=source, error=f"{type(err).__name__}: {_first_line(err)}")) from None
    return model, list(info.get("missing_keys", []))


def _task_from_architectures(config) -> str:
    names = " ".join(getattr(config, "architectures", None) or [])
    if "ForPreTraining" in names or (config.model_type == "bert" and "ForMaskedLM" in names):
        return "pretraining"  # BERT checkpoints usually keep the NSP head too; dropped below if absent
    for marker, task in (
        ("ForMaskedLM", "masked-lm"),
        ("ForSequenceClassification", "sequence-classification"),
        ("ForTokenClassification", "token-classification"),
    ):
        if marker in names:
            return task
    return "encoder"


def _head_missing(missing: list[str]) -> bool:
    """True when weights outside the encoder (the head's) were absent and got a random init."""
    heads = ("cls.", "lm_head.", "classifier.", "vocab_", "generator_", "pre_classifier.")
    return any(k.startswith(heads) and "seq_relationship" not in k for k in missing)


def _labels(config) -> tuple[str, ...]:
    id2label = getattr(config, "id2label", None) or {}
    return tuple(str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(config.num_labels))


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:300]

