"""`bert-lens serve`: start the app (app/serve.py) from any folder.

The server runs in a child process (`python -m streamlit run <installed serve.py>`), so that
`--hosted` and `--settings` reach it as environment variables before it reads its settings
(explain.settings reads them once per process). Options Streamlit knows pass through unchanged:
`bert-lens serve --port 8080 --server.address 0.0.0.0 --server.maxUploadSize 20`. The app's own
Streamlit defaults (theme, upload size, no usage statistics) are in app/.streamlit/config.toml, which
Streamlit reads next to the script; a flag or a STREAMLIT_* variable overrides them.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from explain.errors import InputError
from explain.i18n import _
from explain.local_files import is_file, shown
from explain.settings import load_settings

SERVE_SCRIPT = Path(__file__).resolve().with_name("serve.py")
ACCEPTS_EXTRA_ARGUMENTS = True  # explain/cli.py passes unknown --section.option flags on to Streamlit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=None, metavar="N", help=_("port to listen on (default 8501)"))
    parser.add_argument("--hosted", action="store_true",
                        help=_("safe defaults for a server shared by a class: built-in models only, no local "
                               "folders, work limits (BERT_LENS_HOSTED=1; see the README's hosting section)"))
    parser.add_argument("--settings", metavar="FILE",
                        help=_("a TOML file of BERT Lens settings (BERT_LENS_SETTINGS; see explain/settings.py)"))


def streamlit_command(args: argparse.Namespace) -> list[str]:
    """The child's command line: streamlit run on the installed serve.py, with the pass-through flags."""
    extra = list(getattr(args, "extra", []) or [])
    for flag in extra:
        if flag.startswith("-") and not flag.startswith("--") or flag == "--":
            raise InputError(_("'{flag}' is not an option of bert-lens serve; Streamlit options look like "
                               "--server.port 8080.").format(flag=flag))
    port = ["--server.port", str(args.port)] if args.port is not None else []
    return [sys.executable, "-m", "streamlit", "run", str(SERVE_SCRIPT), *port, *extra]


def server_environment(args: argparse.Namespace, environ: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if environ is None else environ)
    if args.hosted:
        env["BERT_LENS_HOSTED"] = "1"
    if args.settings:
        if not is_file(args.settings):
            raise InputError(_("No settings file at '{path}'.").format(path=shown(args.settings)))
        env["BERT_LENS_SETTINGS"] = str(Path(args.settings).expanduser().resolve())
    return env


def run(args: argparse.Namespace) -> int:
    command, env = streamlit_command(args), server_environment(args)
    load_settings(env)  # a bad settings file or variable: one line and exit 2 here, not a page that cannot start
    child = subprocess.Popen(command, env=env)
    # A supervisor (systemd, a container runtime, a test) stops the server with SIGTERM: pass it on, or the
    # Streamlit child would keep serving, orphaned, after `bert-lens serve` has gone.
    signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
    try:
        return child.wait()
    except KeyboardInterrupt:  # Ctrl-C reached the child too (same process group); let it finish shutting down
        return child.wait()
