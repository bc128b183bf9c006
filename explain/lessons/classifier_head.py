"""The classification head recomputed from its weights: P(y | X) = softmax(W h + b).

h is what the head really reads (explain.models.arch.classifier_features): BERT's pooled [CLS]
tanh(W_p h_[CLS] + b_p) (Devlin et al. 2019, sec. 3 and fig. 4), DistilBERT's relu(pre_classifier([CLS])),
RoBERTa-like tanh(dense(<s>)), ELECTRA gelu(dense([CLS])), or each token's last hidden state for token
classification (NER). Recomputed here in float64 with numpy from the weights and the run's last hidden
states, then checked against the model's own logits (`run.head_logits`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explain.errors import InputError
from explain.i18n import _
from explain.models.arch import encoder_of, final_linear, head_input_name
from explain.models.checkpoint import ModelBundle
from explain.run import ModelRun, _frozen

HEAD_TASKS = ("sequence-classification", "token-classification")


@dataclass(frozen=True)
class ClassifierArithmetic:
    """One classification head on one input, every array float64 and read-only.

    Sequence heads: `h_cls` (D,), `features` (D',), `logits`/`probs`/`model_logits` (C,).
    Token heads: `features` (T, D), `logits`/`probs`/`model_logits` (T, C); `h_cls` is None.
    `pooler_w` (D', D) and `pooler_b` (D',) are the dense layer between [CLS] and the classifier
    (None for token heads); `w` (C, D'), `b` (C,) the final linear layer.
    """

    task: str
    labels: tuple[str, ...]
    reads: str  # what h is, in words (arch.head_input_name)
    activation: str | None  # "tanh", "relu", "gelu" or None
    h_cls: np.ndarray | None
    pooler_w: np.ndarray | None
    pooler_b: np.ndarray | None
    features: np.ndarray
    w: np.ndarray
    b: np.ndarray
    logits: np.ndarray
    probs: np.ndarray
    model_logits: np.ndarray

    @property
    def max_abs_error(self) -> float:
        """max |recomputed logits - model's logits|."""
        return float(np.max(np.abs(self.logits - self.model_logits)))

    @property
    def predicted(self) -> np.ndarray | int:
        """Argmax class: an int for a sequence head, (T,) for a token head."""
        p = np.argmax(self.probs, axis=-1)
        return int(p) if p.ndim == 0 else p


def _np(t) -> np.ndarray:
    return t.detach().to("cpu").double().numpy()


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum for stability."""
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


_ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0))),  # exact (erf) GELU, as in BERT's config
}


def _erf(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # scipy only when an ELECTRA head is recomputed

    return erf(x)


def _dense_before(model) -> tuple[str, object] | None:
    """(activation, Linear) between the [CLS] vector and the final linear layer of a sequence head."""
    if hasattr(model, "pre_classifier"):  # DistilBERT
        return "relu", model.pre_classifier
    head = getattr(model, "classifier", None)
    if head is not None and hasattr(head, "out_proj"):  # RoBERTa-like: tanh; ELECTRA: its activation (gelu)
        return ("gelu" if hasattr(head, "activation") else "tanh"), head.dense
    pooler = getattr(encoder_of(model), "pooler", None)
    if pooler is not None:  # BERT
        return "tanh", pooler.dense
    return None


def classifier_arithmetic(bundle: ModelBundle, run: ModelRun) -> ClassifierArithmetic:
    """Recompute the head's logits and P(y | X) from its weights and `run.hidden_states[-1]`.

    Raises InputError when the model has no classification head.
    """
    if bundle.task not in HEAD_TASKS or run.head_logits is None:
        raise InputError(_("{model} has no classification head: choose a model fine-tuned for a task "
                           "(e.g. the sentiment head).").format(model=bundle.name))
    model = bundle.model
    last = run.hidden_states[-1].astype(np.float64)  # (T, D)
    linear = final_linear(model)
    w, b = _np(linear.weight), _np(linear.bias)
    h_cls = pooler_w = pooler_b = None
    activation = None
    if bundle.task == "token-classification":
        features = last
    else:
        dense = _dense_before(model)
        if dense is None:
            raise InputError(_("{model}: BERT Lens does not know this classification head.").format(model=bundle.name))
        activation, layer = dense
        h_cls = last[0]
        pooler_w, pooler_b = _np(layer.weight), _np(layer.bias)
        features = _ACTIVATIONS[activation](pooler_w @ h_cls + pooler_b)
    logits = features @ w.T + b
    frozen = {k: None if v is None else _frozen(np.asarray(v, dtype=np.float64))
              for k, v in {"h_cls": h_cls, "pooler_w": pooler_w, "pooler_b": pooler_b, "features": features, "w": w, "b": b,
                               "logits": logits, "probs": softmax(logits),
                               "model_logits": np.asarray(run.head_logits, dtype=np.float64)}.items()}
    return ClassifierArithmetic(task=bundle.task, labels=tuple(bundle.labels), reads=head_input_name(model),
                                activation=activation, **frozen)
