"""Babel extractors for the text of JSON and YAML assets (sidebar examples, notes of shipped heads, shipped suites).

babel.cfg names it as `explain.i18n_extract:extract_json` with `keys = title, teaches`: every string
(or list of strings) under one of those keys, at any depth, becomes a message id; `top_keys = name`
takes only the top-level object's key (a card's own name, not the name of its data set). The app shows
them with `_()`, like any other message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator


def _strings(node, keys: set[str]) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys:
                values = value if isinstance(value, list) else [value]
                yield from (v for v in values if isinstance(v, str) and v.strip())
            else:
                yield from _strings(value, keys)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, keys)


def extract_json(fileobj, keywords, comment_tags, options) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel's extractor protocol: (line number, function name, message, comments) per message."""
    keys = {k.strip() for k in options.get("keys", "").split(",") if k.strip()}
    top = {k.strip() for k in options.get("top_keys", "").split(",") if k.strip()}
    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    lines = text.splitlines()
    data = json.loads(text)
    found = list(_strings({k: v for k, v in data.items() if k in top}, top)) if isinstance(data, dict) else []
    for message in found + list(_strings(data, keys)):
        needle = json.dumps(message, ensure_ascii=False)[1:-1]
        lineno = next((i + 1 for i, line in enumerate(lines) if needle in line), 0)
        yield lineno, None, message, []


def extract_yaml(fileobj, keywords, comment_tags, options) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """The same for YAML assets (the shipped behavioural suites: `keys = name, capability, description`);
    `skip` names keys whose values are not looked into (a suite's perturbation, data and expected)."""
    import yaml

    keys = {k.strip() for k in options.get("keys", "").split(",") if k.strip()}
    skip = {k.strip() for k in options.get("skip", "").split(",") if k.strip()}
    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    lines = text.splitlines()
    for message in _strings(_without(yaml.safe_load(text), skip), keys):
        lineno = next((i + 1 for i, line in enumerate(lines) if message in line), 0)
        yield lineno, None, message, []


def _without(node, skip: set[str]):
    """`node` with the keys in `skip` removed at any depth."""
    if isinstance(node, dict):
        return {k: _without(v, skip) for k, v in node.items() if k not in skip}
    if isinstance(node, list):
        return [_without(v, skip) for v in node]
    return node
