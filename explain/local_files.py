"""Questions about paths a user typed (a model folder, a data file, an output folder) that never raise.

`Path.is_dir()` raises OSError for a name longer than the file system allows ("File name too long",
e.g. a 5,000-character `?model=` in a link) and for some permission problems; for BERT Lens such a
name is simply not a folder, and the caller says so in its usual message.
"""

from __future__ import annotations

import os
from pathlib import Path

from explain.errors import InputError
from explain.i18n import _


def _expanded(path: str | os.PathLike) -> Path:
    return Path(os.path.expanduser(os.fspath(path)))


def is_folder(path: str | os.PathLike) -> bool:
    """True when `path` (with ~ expanded) is an existing folder; False for any name the OS refuses."""
    try:
        return _expanded(path).is_dir()
    except (OSError, ValueError):
        return False


def is_file(path: str | os.PathLike) -> bool:
    """True when `path` (with ~ expanded) is an existing file; False for any name the OS refuses."""
    try:
        return _expanded(path).is_file()
    except (OSError, ValueError):
        return False


def shown(value: str, limit: int = 80) -> str:
    """A user's value as it goes into a message: control characters escaped, and a long value cut in the
    middle with its length ("aaaa…aaaa (5,000 characters)"), so that a message stays one readable line."""
    text = "".join(repr(c)[1:-1] if ord(c) < 32 or ord(c) == 127 else c for c in value)
    if len(text) <= limit:
        return text
    half = (limit - 1) // 2
    return _("{start}…{end} ({n:,} characters)").format(start=text[:half], end=text[-half:], n=len(value))


def existing_file(path: str | os.PathLike) -> Path:
    """`path` (with ~ expanded) when it is a file; InputError 'No file at ...' otherwise."""
    if not is_file(path):
        raise InputError(_("No file at '{path}'.").format(path=shown(os.fspath(path))))
    return _expanded(path)


def output_folder(path: str | os.PathLike, create: bool = False) -> Path:
    """`path` (with ~ expanded) as a folder to write into, created when `create`; InputError when it is a
    file or cannot be made (a name too long, no permission, a read-only disk)."""
    folder = _expanded(path)
    if is_file(folder):
        raise InputError(_("--out '{path}' is a file; give a folder.").format(path=shown(os.fspath(path))))
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (OSError, ValueError) as err:
            raise InputError(_("Cannot make the folder '{path}': {reason}").format(
                path=shown(os.fspath(path)), reason=getattr(err, "strerror", None) or err)) from None
    return folder
