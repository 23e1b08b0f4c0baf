"""What a newcomer meets first: the command line's help, and the README's commands checked against the tools."""

import argparse
import json
import os
import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from conftest import ROOT, grader_command, run_grader

from grader import cli, rubric


def subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(words, parser) for the parser and every subcommand below it, e.g. (("gradescope", "run"), ...)."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from subcommands(sub, (*path, name))


def modes(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for group in parser._mutually_exclusive_groups for a in group._group_actions]


def test_every_subcommand_describes_each_argument_and_its_default():
    checked = 0
    for path, parser in subcommands(cli.build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
                continue
            where = f"grader {' '.join(path)} {'/'.join(action.option_strings) or action.metavar or action.dest}"
            assert action.help and len(action.help.split()) >= 3, f"{where}: no description"
            if action in modes(parser):  # one of a choice of modes: the description says what runs without one
                assert parser.description and all(m.option_strings[0] in parser.description for m in modes(parser))
            elif action.option_strings and not action.required and action.nargs != 0:  # an option with a value
                assert "default" in action.help, f"{where}: the help does not say its default"
                if action.default is not None:  # the default it states is the one it has
                    assert str(action.default) in action.help, f"{where}: the help does not give {action.default!r}"
            checked += 1
        assert f"usage: grader {' '.join(path)}".rstrip() in parser.format_help()
    assert checked >= 25


def readme_block(after: str) -> list[str]:
    """The lines of the README's indented block that follows the paragraph holding ``after``."""
    text = (ROOT / "README.md").read_text()
    block = text[text.index(after):].split("\n\n", 2)[1]
    assert all(line.startswith("    ") for line in block.splitlines()), block
    return [line[4:] for line in block.splitlines()]


def test_the_readmes_gradescope_dry_run_runs_as_written(tmp_path):
    script = "\n".join(readme_block("The whole dry run, from this folder"))
    assert "AUTOGRADER_ROOT=" in script and "GRADER=" in script
    bin_dir = Path(grader_command()[0]).parent
    if len(grader_command()) > 1:
        pytest.skip("the grader command is not installed as a script here")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "TMPDIR": str(tmp_path)}
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    (dry,) = [p for p in tmp_path.iterdir() if (p / "source" / "run_autograder").is_file()]
    assert {p.name for p in (dry / "source").iterdir()} >= {"setup.sh", "run_autograder", "course"}
    results = json.loads((dry / "results" / "results.json").read_text())
    assert results["score"] == results["max_score"] == rubric.load("ex01").max_points(hidden=True)
    assert run.stdout.endswith((dry / "results" / "results.json").read_text())  # the block ends by showing it


def test_the_resolver_lines_the_readme_quotes_are_recboles_own_requirements():
    try:
        requires = metadata.requires("recbole") or []
    except metadata.PackageNotFoundError:
        pytest.skip("RecBole is not installed here")
    quoted = re.findall(r"^    recbole 1\.2\.1 requires (\S+), which is not installed\.$",
                        (ROOT / "README.md").read_text(), re.M)
    assert len(quoted) >= 3

    def key(requirement: str) -> tuple[str, str]:
        parsed = Requirement(requirement)
        return parsed.name.lower(), str(parsed.specifier)

    own = {Requirement(r).name.lower() for r in metadata.requires("torch-course-pack")}
    assert {key(q) for q in quoted} <= {key(r) for r in requires if "extra ==" not in r}
    assert not {key(q)[0] for q in quoted} & own  # none of them is one this course pack installs itself


@pytest.mark.parametrize("command", [
    ["grade", "SUBS", "--out", "OUT"], ["preflight"], ["similarity", "SUBS", "--out", "OUT"],
    ["gradescope", "build", "OUT/a.zip"], ["gradescope", "run", "--submission", "SUBS", "--results", "OUT/r.json"],
    ["bench", "--no-nbgrader"], ["calibrate", "--dry-run"], ["audit", "--out", "OUT"],
    ["release", "--nbgrader", "OUT/nb"],
])
def test_every_command_taking_only_names_an_unknown_exercise_without_a_traceback(tmp_path, command):
    (tmp_path / "SUBS" / "ada").mkdir(parents=True)
    args = [str(tmp_path / a) if a.split("/")[0] in ("SUBS", "OUT") else a for a in command]
    run = run_grader(*args, "--only", "ex42")
    assert run.returncode == 2 and "--only ex42: no exercise 'ex42'" in run.stderr, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
