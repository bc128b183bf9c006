"""The command line's frame: `bert-lens` and `python -m explain` are one parser; `serve` hands Streamlit's
options to the server it starts and checks the settings before starting it."""

from __future__ import annotations

import argparse
import sys

import pytest

from bert_lens import launch
from explain import __version__
from explain.cli import main, program_name


def test_program_name_follows_how_it_was_started():
    assert program_name("/opt/venv/bin/bert-lens") == "bert-lens"
    assert program_name("/work/explain/__main__.py") == "python -m explain"


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"BERT Lens {__version__}"


def test_only_serve_takes_options_it_does_not_know(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", "--model", "m", "--data", "d", "--out", "o", "--server.port", "9000"])
    assert stop.value.code == 2 and "unrecognized arguments: --server.port 9000" in capsys.readouterr().err


def _serve_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    launch.add_arguments(parser)
    args, extra = parser.parse_known_args(list(argv))
    args.extra = extra
    return args


def test_serve_runs_the_installed_serve_script_with_streamlits_options():
    args = _serve_args("--port", "8080", "--server.address", "0.0.0.0", "--theme.base", "dark")
    command = launch.streamlit_command(args)
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert command[4] == str(launch.SERVE_SCRIPT) and launch.SERVE_SCRIPT.is_file()
    assert command[5:] == ["--server.port", "8080", "--server.address", "0.0.0.0", "--theme.base", "dark"]


def test_serve_hosted_and_settings_reach_the_servers_environment(tmp_path):
    settings = tmp_path / "class.toml"
    settings.write_text("max_pll_tokens = 12\n")
    env = launch.server_environment(_serve_args("--hosted", "--settings", str(settings)), environ={"PATH": "/bin"})
    assert env == {"PATH": "/bin", "BERT_LENS_HOSTED": "1", "BERT_LENS_SETTINGS": str(settings.resolve())}


@pytest.mark.parametrize(("argv", "expected"), [
    (["serve", "-x"], "'-x' is not an option of bert-lens serve"),
    (["serve", "--settings", "/no/such/class.toml"], "No settings file at '/no/such/class.toml'"),
    (["serve", "--settings", "/tmp/" + "s" * 5000], "characters)'"),
    (["serve", "--settings", "{bad}"], "unknown setting 'max_pll'"),
])
def test_serve_refuses_bad_options_and_settings_before_starting(tmp_path, capsys, argv, expected):
    bad = tmp_path / "bad.toml"
    bad.write_text("max_pll = 3\n")
    assert main([a.replace("{bad}", str(bad)) for a in argv]) == 2  # no server was started: it would block
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and expected in line, line
