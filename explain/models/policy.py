"""Which models this server may load (explain.settings), checked before anything is downloaded.

Two independent rules: hub ids follow `Settings.models` (any, built-in only, or an allow-list) and
folders on the server follow `Settings.local_folders`. Built-in models are always allowed. The size
rule (`Settings.max_parameters`) is checked on config.json, before any weights are read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from explain.errors import ModelLoadError
from explain.i18n import _
from explain.models.size import human_count, parameter_count
from explain.settings import Settings, current_settings


def is_folder_spec(spec: str) -> bool:
    """True when `spec` names a folder (an existing one, or a path: '/x', './x', '~/x', 'a/b/c')."""
    spec = spec.strip()
    if spec.startswith(("/", ".", "~")) or spec.count("/") > 1 or "\\" in spec:
        return True
    return Path(os.path.expanduser(spec)).is_dir()


def check_model_allowed(spec: str, builtin_names: Iterable[str], settings: Settings | None = None) -> None:
    """Raise ModelLoadError when this server's settings forbid loading `spec` (a name, hub id or folder)."""
    s = settings or current_settings()
    spec = spec.strip()
    builtin = list(builtin_names)
    if spec in builtin:
        return
    if is_folder_spec(spec):
        if not s.local_folders:
            raise ModelLoadError(_(
                "This server does not open folders on its disk ('{spec}'). Choose one of the models it offers."
            ).format(spec=spec))
        return
    if s.models == "builtin":
        message = _("This server offers only its built-in models; '{spec}' is not one of them.").format(spec=spec)
        if builtin:
            message += " " + _("Choose one of: {names}.").format(names="; ".join(builtin))
        raise ModelLoadError(message)
    if s.models == "allow-list" and spec not in s.allowed_models:
        raise ModelLoadError(_(
            "'{spec}' is not on this server's list of models. Choose a built-in model or one of: {ids}."
        ).format(spec=spec, ids=", ".join(s.allowed_models)))


def check_model_size(config: Any, task: str, source: str, settings: Settings | None = None) -> int:
    """The model's parameter count from its config; ModelLoadError when it is over `max_parameters`."""
    s = settings or current_settings()
    count = parameter_count(config, task)
    if s.max_parameters is not None and count > s.max_parameters:
        raise ModelLoadError(_(
            "'{source}' has about {n} parameters; this server allows at most {limit}. Choose a smaller model."
        ).format(source=source, n=human_count(count), limit=human_count(s.max_parameters)))
    return count
