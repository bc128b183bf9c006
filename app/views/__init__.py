"""The app's pages: a page is one file `views/<name>.py`, or a folder `views/<name>/` whose script is
`page.py` next to the modules only that page uses."""

from __future__ import annotations

from pathlib import Path

VIEWS = Path(__file__).resolve().parent


def page_script(name: str) -> Path:
    """The script Streamlit runs for page `name` ("attention", "dataset", ...)."""
    folder = VIEWS / name
    return folder / "page.py" if folder.is_dir() else VIEWS / f"{name}.py"


def page_file(name: str) -> str:
    """The page's script relative to app/ (what AppTest.switch_page takes): 'views/dataset/page.py'."""
    return page_script(name).relative_to(VIEWS.parent).as_posix()


def page_names() -> list[str]:
    """Every page, one-file and folder pages alike, sorted."""
    files = {p.stem for p in VIEWS.glob("*.py") if p.stem != "__init__"}
    folders = {p.parent.name for p in VIEWS.glob("*/page.py")}
    return sorted(files | folders)
