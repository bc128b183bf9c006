"""BERT Lens analysis library: models in, plain arrays and dataclasses out. No UI code here."""

from explain.catalog import DEFAULT_MODEL, builtin_models, load_model
from explain.errors import BertLensError, InputError, ModelLoadError
from explain.models import ModelBundle, load_checkpoint
from explain.run import ModelRun, run_model

__all__ = [
    "DEFAULT_MODEL",
    "BertLensError",
    "InputError",
    "ModelBundle",
    "ModelLoadError",
    "ModelRun",
    "builtin_models",
    "load_checkpoint",
    "load_model",
    "run_model",
]
