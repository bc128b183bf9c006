"""The command line: `python -m explain <command> ...`.

Each command lives in its own module, next to the library code it drives, and exposes
`add_arguments(parser)` and `run(args) -> int`; it is imported only when named (or for --help), so
`python -m explain` starts fast. A BertLensError becomes one clear line on stderr and exit code 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from explain.errors import BertLensError
from explain.i18n import N_, _, language, normalize_language

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "compare": ("explain.compare.cli", N_("what fine-tuning changed: models A and B side by side, per text and over a data set")),
    "evaluate": ("explain.dataset.cli", N_("a classifier on a labelled file: predictions, metrics, errors, attributions, heads, report")),
    "stress": ("explain.behaviour.cli", N_("behavioural tests of a classifier: a suite of MFT, INV and DIR tests, failure rates, report")),
    "prefetch": ("explain.models.prefetch", N_("store real BERT models in the local Hugging Face cache, for offline use")),
}


def build_parser() -> argparse.ArgumentParser:
    """The parser, its help in the current language (main() builds it inside the --lang context)."""
    parser = argparse.ArgumentParser(prog="python -m explain", description=_("BERT Lens from the command line."))
    parser.add_argument("--lang", default=None, help=_("language of messages: en or zh (default: from $LANG)"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=_(help_text), description=_(help_text))
        importlib.import_module(module).add_arguments(cmd)
        cmd.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    import os

    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--lang", default=None)
    lang = early.parse_known_args(argv)[0].lang  # first, so that --help is in that language too
    with language(normalize_language(lang or os.environ.get("LANG"))):
        args = build_parser().parse_args(argv)
        try:
            from explain.settings import apply_torch_threads

            apply_torch_threads()  # the server's settings (explain.settings) hold for the CLI too
            return int(importlib.import_module(args._module).run(args) or 0)
        except BertLensError as err:
            print(_("error: {message}").format(message=err), file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(_("interrupted"), file=sys.stderr)
            return 130
