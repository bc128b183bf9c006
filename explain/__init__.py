"""BERT Lens analysis library: models in, plain arrays and dataclasses out. No UI code here.

The public names below are imported lazily (PEP 562): `import explain` costs nothing, and
`from explain import attribute` imports Captum only then.
"""

from __future__ import annotations

__version__ = "0.2.0"

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "DEFAULT_MODEL": "explain.models.catalog",
    "builtin_models": "explain.models.catalog",
    "load_model": "explain.models.catalog",
    "ModelBundle": "explain.models.checkpoint",
    "load_checkpoint": "explain.models.checkpoint",
    "BertLensError": "explain.errors",
    "InputError": "explain.errors",
    "ModelLoadError": "explain.errors",
    "ModelRun": "explain.run",
    "run_model": "explain.run",
    "METHODS": "explain.attribution.methods",
    "Attribution": "explain.attribution.methods",
    "WordScores": "explain.attribution.words",
    "attribute": "explain.attribution.methods",
    "merge_words": "explain.attribution.words",
    "LayerAttribution": "explain.attribution.layers",
    "head_importance": "explain.attribution.layers",
    "layer_attributions": "explain.attribution.layers",
    "compare_methods": "explain.attribution.faithfulness",
    "completeness": "explain.attribution.faithfulness",
    "faithfulness_curves": "explain.attribution.faithfulness",
    "TrainConfig": "explain.training.trainer",
    "TrainedHead": "explain.training.trainer",
    "train_head": "explain.training.trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'explain' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and IDEs; never executed
    from explain.attribution.faithfulness import compare_methods, completeness, faithfulness_curves  # noqa: F401
    from explain.attribution.layers import LayerAttribution, head_importance, layer_attributions  # noqa: F401
    from explain.attribution.methods import METHODS, Attribution, attribute  # noqa: F401
    from explain.attribution.words import WordScores, merge_words  # noqa: F401
    from explain.errors import BertLensError, InputError, ModelLoadError  # noqa: F401
    from explain.models.catalog import DEFAULT_MODEL, builtin_models, load_model  # noqa: F401
    from explain.models.checkpoint import ModelBundle, load_checkpoint  # noqa: F401
    from explain.run import ModelRun, run_model  # noqa: F401
    from explain.training.trainer import TrainConfig, TrainedHead, train_head  # noqa: F401
