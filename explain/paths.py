"""Where BERT Lens finds what it ships (heads and their cards, examples, the viewers' JavaScript, the icon).

In a checkout they are in assets/ beside explain/; an installed wheel carries them as explain/assets/
(pyproject.toml maps the folder there). Everything that reads a shipped file goes through ASSETS.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
ASSETS: Path = _HERE / "assets" if (_HERE / "assets").is_dir() else _HERE.parent / "assets"
