"""The set-up paths a researcher takes: the README's two commands, environment.yml, imports."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import yaml

from .conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def readme_commands() -> list[str]:
    """The README's shell blocks, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [block.strip() for block in re.findall(r"```(?:bash|sh)\n(.*?)```", text, flags=re.S)]


def test_readme_opens_with_exactly_two_commands_and_ci_runs_the_second():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    head = text.split("\n## ", 1)[0]  # everything before the first section
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", head, flags=re.S)
    assert len(blocks) == 2
    main_job, tests = (b.strip() for b in blocks)
    assert "\n" not in main_job and "\n" not in tests  # one command each
    assert main_job.endswith("summ run eval/configs/main.toml")
    assert tests.endswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == tests
    # Both start from nothing: a fresh venv, torch first, then this package.
    for command in (main_job, tests):
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e ")


def test_readme_main_job_runs_on_a_tiny_model(tmp_path):
    """The main command's `summ run` part, with --model pointing at a tiny model (offline)."""
    main_job = readme_commands()[0]
    summ_part = main_job.rsplit("&& ", 1)[1].split()
    assert summ_part[:2] == ["summ", "run"]
    proc = subprocess.run(
        [sys.executable, "-m", "summ", *summ_part[1:], "--model", "tiny:marian",
         "--summary-model", "tiny:bart", "--documents", "1",
         "--output", str(tmp_path / "main"), "--no-progress"],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| opus-mt (baseline) |" in proc.stdout  # the score table
    assert "textrank3" in proc.stdout and "distilbart" in proc.stdout  # the summary table
    assert "=== seed / opus-mt / putin-assad-2023-03-15.ar ===" in proc.stdout  # the English article
    assert (tmp_path / "main" / "manifest.json").is_file() and (tmp_path / "main" / "scores.csv").is_file()


def test_environment_yml_installs_this_package_and_adds_nothing():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(_name(d.split("=")[0]) for d in conda) == ["pip", "python"]
    assert any(d.startswith("python=3.11") for d in conda)
    assert len(pip) == 1 and pip[0].startswith("-e .")
    extras = re.findall(r"\[(.*)\]", pip[0])
    for extra in (extras[0].split(",") if extras else []):
        assert extra.strip() in PYPROJECT["project"]["optional-dependencies"]


def test_console_script_and_python_version():
    assert PYPROJECT["project"]["scripts"]["summ"] == "summ.cli:main"
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"


def test_import_summ_is_light():
    code = (
        "import sys, summ\n"
        "heavy = [m for m in ('torch', 'transformers', 'ctranslate2', 'matplotlib', 'sacrebleu',\n"
        "         'pandas', 'ray', 'pydantic') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_public_api_resolves_and_is_what_the_notebooks_use():
    import summ

    # Every exported name resolves lazily to its definition.
    for name in summ.__all__:
        assert getattr(summ, name) is not None, name
    assert summ.summarise.__module__ == "summ.summary" and callable(summ.summarise)
    # The notebooks import from summ and at most three submodules each.
    for notebook in sorted((ROOT / "notebooks").glob("*.py")):
        text = notebook.read_text(encoding="utf-8")
        modules = set(re.findall(r"^\s*from (summ\.[\w.]+) import", text, flags=re.M))
        for names in re.findall(r"^\s*from summ import ([^\n]+)", text, flags=re.M):
            modules |= {n.split(" as ")[0].strip() for n in names.split(",")} - set(summ.__all__)
        assert len(modules) <= 3, (notebook.name, sorted(modules))


def test_cli_modules_import_without_heavy_libraries():
    code = (
        "import sys, summ.cli, summ.segment, summ.translate, summ.data, summ.cache, summ.metrics, summ.config, summ.experiment, summ.report\n"
        "summ.cli.build_parser()\n"
        "print(','.join(m for m in ('torch', 'transformers', 'ctranslate2', 'matplotlib') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_readme_python_example_runs(tiny_models, tmp_path, monkeypatch, capsys):
    """The README's Python block, verbatim but for the model (a tiny one) and the cache folder."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, flags=re.S).group(1)
    assert '"Helsinki-NLP/opus-mt-ar-en"' in code
    code = code.replace('"Helsinki-NLP/opus-mt-ar-en"', repr(str(tiny_models["marian"])))
    code = code.replace('"runs/cache.sqlite"', repr(str(tmp_path / "cache.sqlite")))
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the documented example itself
    out = capsys.readouterr().out
    assert len(namespace["english"]) == 2 and namespace["english"][1] == ""
    assert namespace["result"].texts[0].count("\n\n") > 5
    assert len(namespace["summary"].sentences) == 3
    assert "bleu" in out and "nrefs:1" in out


def _subparsers(parser):
    import argparse

    for action in parser._actions:  # argparse has no public accessor for its subcommands
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def test_readme_command_line_block_names_only_options_that_exist():
    """A renamed or removed flag fails here instead of leaving the README's usage block stale."""
    import summ.cli

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Command line", 1)[1].split("```", 2)[1]
    commands = _subparsers(summ.cli.build_parser())
    checked = 0
    command = None
    for line in block.splitlines():
        if m := re.match(r"summ (\w+)(?: (\w+))?", line):
            command = commands[m.group(1)]
            if m.group(2) in _subparsers(command):
                command = _subparsers(command)[m.group(2)]
        elif line.startswith("python"):
            command = None
        if command is None:
            continue
        known = {s for a in command._actions for s in a.option_strings}
        for flag in re.findall(r"(?<![\w-])--[a-z][\w-]*", line):
            assert flag in known, f"README names {flag}, which `{command.prog}` does not take"
            checked += 1
    assert checked > 40
