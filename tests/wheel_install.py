"""The wheel as a user gets it: built from a clean sdist and installed into a fresh virtual environment
outside the checkout (fixtures `wheel` and `installed_bin` in tests/conftest.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_wheel(out: Path) -> Path:
    """`python -m build`: the sdist first, then the wheel from the sdist (so the sdist must be complete)."""
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], check=True,
                   capture_output=True, text=True, timeout=900)
    (wheel,) = out.glob("*.whl")
    return wheel


def install(wheel: Path, venv: Path) -> Path:
    """A new virtual environment with the wheel and its dependencies (torch from the pinned CPU build); its bin/."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv / "bin"


def offline_env(**extra: str) -> dict[str, str]:
    """The environment of a user with no network: no hub, nothing from the checkout on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(command: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None):
    """Start a server command (`bert-lens serve ...`, with --server.port), yield its URL once /_stcore/health
    answers, stop it afterwards."""
    port = free_port()
    args = [*command, "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port)]
    with open(log, "w") as out:
        proc = subprocess.Popen(args, cwd=cwd, env=env or offline_env(), stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 90
            while True:
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                        break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        raise RuntimeError(f"the server did not start: {log.read_text()[-3000:]}") from None
                    time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    try:  # stopping the command (SIGTERM) stopped the server too: nothing answers on its port any more
        urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
    except OSError:
        return
    raise AssertionError(f"the server still answers after {command[0]} was stopped")
