"""BERT Lens analysis library: models in, plain arrays and dataclasses out. No UI code here."""

from explain.attribution.faithfulness import compare_methods, completeness, faithfulness_curves
from explain.attribution.methods import (
    METHODS,
    Attribution,
    LayerAttribution,
    WordScores,
    attribute,
    head_importance,
    layer_attributions,
    merge_words,
)
from explain.errors import BertLensError, InputError, ModelLoadError
from explain.models.catalog import DEFAULT_MODEL, builtin_models, load_model
from explain.models.checkpoint import ModelBundle, load_checkpoint
from explain.run import ModelRun, run_model
from explain.training.trainer import TrainConfig, TrainedHead, train_head

__all__ = [
    "DEFAULT_MODEL",
    "METHODS",
    "Attribution",
    "BertLensError",
    "InputError",
    "LayerAttribution",
    "ModelBundle",
    "ModelLoadError",
    "ModelRun",
    "TrainConfig",
    "TrainedHead",
    "WordScores",
    "attribute",
    "builtin_models",
    "compare_methods",
    "completeness",
    "faithfulness_curves",
    "head_importance",
    "layer_attributions",
    "load_checkpoint",
    "load_model",
    "merge_words",
    "run_model",
    "train_head",
]
