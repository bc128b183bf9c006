"""Which models this server may load (explain.settings), checked before anything is downloaded.

Two independent rules: hub ids follow `Settings.models` (any, built-in only, or an allow-list) and
folders on the server follow `Settings.local_folders`. Built-in models are always allowed. The size
rule (`Settings.max_parameters`) is checked on config.json, before any weights are read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from explain.errors import ModelLoadError
from explain.i18n import N_, _
from explain.local_files import is_folder, shown
from explain.models.size import human_count, parameter_count
from explain.settings import Settings, current_settings

MAX_SPEC_CHARS = 1024  # hub ids have at most 96 characters; a longer folder path is not one a person typed
NOT_A_MODEL = N_("'{source}' is neither a folder nor a Hugging Face model id such as 'bert-base-uncased'.")


def check_spec(spec: str) -> str:
    """`spec` stripped; ModelLoadError (the message any unusable model name gets) when it is over
    MAX_SPEC_CHARS or holds control characters: such a name can be neither a hub id nor a folder."""
    spec = spec.strip()
    if len(spec) > MAX_SPEC_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in spec):
        raise ModelLoadError(_(NOT_A_MODEL).format(source=shown(spec)))
    return spec


def is_folder_spec(spec: str) -> bool:
    """True when `spec` names a folder (an existing one, or a path: '/x', './x', '~/x', 'a/b/c')."""
    spec = spec.strip()
    if spec.startswith(("/", ".", "~")) or spec.count("/") > 1 or "\\" in spec:
        return True
    return is_folder(spec)


def check_model_allowed(spec: str, builtin_names: Iterable[str], settings: Settings | None = None) -> None:
    """Raise ModelLoadError when this server's settings forbid loading `spec` (a name, hub id or folder)."""
    s = settings or current_settings()
    builtin = list(builtin_names)
    if spec.strip() in builtin:
        return
    spec = check_spec(spec)
    if is_folder_spec(spec):
        if not s.local_folders:
            raise ModelLoadError(_(
                "This server does not open folders on its disk ('{spec}'). Choose one of the models it offers."
            ).format(spec=shown(spec)))
        return
    if s.models == "builtin":
        message = _("This server offers only its built-in models; '{spec}' is not one of them.").format(spec=shown(spec))
        if builtin:
            message += " " + _("Choose one of: {names}.").format(names="; ".join(builtin))
        raise ModelLoadError(message)
    if s.models == "allow-list" and spec not in s.allowed_models:
        raise ModelLoadError(_(
            "'{spec}' is not on this server's list of models. Choose a built-in model or one of: {ids}."
        ).format(spec=shown(spec), ids=", ".join(s.allowed_models)))


def check_model_size(config: Any, task: str, source: str, settings: Settings | None = None) -> int:
    """The model's parameter count from its config; ModelLoadError when it is over `max_parameters`."""
    s = settings or current_settings()
    count = parameter_count(config, task)
    if s.max_parameters is not None and count > s.max_parameters:
        raise ModelLoadError(_(
            "'{source}' has about {n} parameters; this server allows at most {limit}. Choose a smaller model."
        ).format(source=source, n=human_count(count), limit=human_count(s.max_parameters)))
    return count
