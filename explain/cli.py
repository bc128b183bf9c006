"""The command line: `bert-lens <command> ...`, the same as `python -m explain <command> ...`.

One parser for both. Each command lives in its own module, next to the code it drives, and exposes
`add_arguments(parser)` and `run(args) -> int`; it is imported only when named (or for --help), so the
command starts fast. `serve` is the app's (bert_lens.launch); a module with ACCEPTS_EXTRA_ARGUMENTS gets
the options it does not know in `args.extra` (Streamlit's --section.option flags). A BertLensError
becomes one clear line on stderr and exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from explain.errors import BertLensError
from explain.i18n import N_, _, language, normalize_language

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("bert_lens.launch", N_("start the app in the browser (any Streamlit option passes through)")),
    "compare": ("explain.compare.cli", N_("what fine-tuning changed: models A and B side by side, per text and over a data set")),
    "evaluate": ("explain.dataset.cli", N_("a classifier on a labelled file: predictions, metrics, errors, attributions, heads, report")),
    "stress": ("explain.behaviour.cli", N_("behavioural tests of a classifier: a suite of MFT, INV and DIR tests, failure rates, report")),
    "prefetch": ("explain.models.prefetch", N_("store real BERT models in the local Hugging Face cache, for offline use")),
}


def program_name(argv0: str | None = None) -> str:
    """'bert-lens' when started by the console script, else 'python -m explain'."""
    name = os.path.basename(argv0 if argv0 is not None else sys.argv[0])
    return "bert-lens" if name.startswith("bert-lens") else "python -m explain"


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The parser, its help in the current language (main() builds it inside the --lang context)."""
    from explain import __version__

    parser = argparse.ArgumentParser(prog=prog or program_name(), description=_("BERT Lens from the command line."))
    parser.add_argument("--version", action="version", version=f"BERT Lens {__version__}")
    parser.add_argument("--lang", default=None, help=_("language of messages: en or zh (default: from $LANG)"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=_(help_text), description=_(help_text))
        importlib.import_module(module).add_arguments(cmd)
        cmd.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--lang", default=None)
    lang = early.parse_known_args(argv)[0].lang  # first, so that --help is in that language too
    with language(normalize_language(lang or os.environ.get("LANG"))):
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(importlib.import_module(args._module), "ACCEPTS_EXTRA_ARGUMENTS", False):
            parser.error(_("unrecognized arguments: {args}").format(args=" ".join(extra)))
        args.extra = extra
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
