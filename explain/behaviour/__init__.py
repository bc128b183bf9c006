"""Behavioural testing of a classifier (CheckList, Ribeiro et al. 2020) and counterfactuals (HotFlip).

    suite = load_suite("sentiment")                # assets/suites/sentiment.yaml, or any YAML/JSON file
    result = run_suite(bundle, suite)              # every case in one batched pass -> SuiteResult
    perturb("add_negation", "The plot is clever.") # one perturbation, deterministic under a seed
    counterfactual(bundle, text, mlm=mlm_bundle)   # the fewest word substitutions that flip the prediction

Modules: lexicons (shipped word lists and their sources), edits, perturb (+ perturb_text,
perturb_words), sources + suite (suite files), predict (batched predictions), runner (scoring),
results, export (JSON, CSV, report), counterfactual, cli (python -m explain stress), ray_engine.
Imports are lazy: `import explain.behaviour` loads no model code.
"""

from __future__ import annotations

import importlib

_NAMES = {
    "load_suite": "explain.behaviour.suite",
    "run_suite": "explain.behaviour.runner",
    "perturb": "explain.behaviour.perturb",
    "PERTURBATIONS": "explain.behaviour.perturb",
    "counterfactual": "explain.behaviour.counterfactual",
    "SuiteResult": "explain.behaviour.results",
}

__all__ = list(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(name)
