"""The notebooks: paired with their py:percent twins, committed clean, and executed on tiny models.

Each notebook runs headless through nbclient, as papermill would run it: a cell that overrides
the ``parameters`` cell is inserted right after it, replacing the real model ids with tiny
copy-trained models (the ``tiny_models`` fixture), the data sizes with a few documents, the
generation settings with greedy search and a small cap (most outputs run to it; those of
short sources stop with ``</s>``), and every output location with a temporary folder.

Set ``SUMM_NOTEBOOK_OUTPUTS=DIR`` to keep the executed notebooks there
(``tests/tools/render_views.py`` renders their views and plots to images).
"""

from __future__ import annotations

import ast
import json
import os
import sys
import time
from pathlib import Path

import pytest

# Not importorskip: these are test dependencies (".[test]"), and a missing one must fail CI
# rather than skip every notebook silently.
import jupytext  # noqa: E402
import nbformat  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
NAMES = ("00_quickstart", "01_data", "02_translate", "03_summarise", "04_evaluate", "05_error_analysis")

# Greedy search and a small cap: tiny models copy their input, most of it up to the cap.
TINY_DECODE = {"BEAM_SIZE": 1, "MAX_NEW_TOKENS": 8, "DEVICE": "cpu"}
# Seconds one cell may take before the run fails (a hang, not a slow machine).
CELL_TIMEOUT = 300
# What each notebook must show once executed: a side-by-side Arabic/English view, plots.
SHOWS = {
    "00_quickstart": {"side-by-side"},
    "01_data": {"side-by-side", "plot"},
    "02_translate": {"side-by-side"},
    "03_summarise": {"side-by-side", "plot"},
    "04_evaluate": {"markdown", "plot"},
    "05_error_analysis": {"side-by-side", "plot"},
}


def injected_parameters(name: str, tiny: dict[str, Path], work: Path) -> dict:
    """What CI puts in place of each notebook's real parameters."""
    marian = str(tiny["marian"])
    work_dir = str(work / "work")
    return {
        "00_quickstart": {"MODEL": marian, **TINY_DECODE},
        "01_data": {"N_DOCUMENTS": 3, "WORK_DIR": work_dir},
        "02_translate": {"MODEL": marian, "N_DOCUMENTS": 3, "CT2_CACHE_DIR": str(work / "ct2"), "WORK_DIR": work_dir,
                         "LLM_MODEL": str(tiny["qwen2"]), **TINY_DECODE},
        "03_summarise": {"TRANSLATOR": marian, "EN_SUMMARISER": str(tiny["bart"]), "AR_SUMMARISER": str(tiny["mt5"]),
                         "CROSS_SUMMARISER": str(tiny["mt5-crosssum"]), "N_DOCUMENTS": 2, "MAX_TOKENS": 8,
                         "SUMMARY_BEAM_SIZE": 1, **TINY_DECODE},
        "04_evaluate": {"SYSTEMS": {"marian": marian, "m2m100": str(tiny["m2m100"])}, "CT2_SYSTEM": True,
                        "N_DOCUMENTS": 2, "BOOTSTRAP_SAMPLES": 100, "OUTPUT_DIR": str(work / "results"),
                        **TINY_DECODE},
        "05_error_analysis": {"MODEL": marian, "N_DOCUMENTS": 3, "SUMMARY_MODEL": str(tiny["bart"]),
                              "SUMMARY_MAX_TOKENS": 8, "WORK_DIR": work_dir, **TINY_DECODE},
    }[name]


def _read(name: str):
    return nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)


def _parameters_cell(nb) -> tuple[int, object]:
    for i, cell in enumerate(nb.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return i, cell
    raise AssertionError("no cell tagged 'parameters'")


def _assigned(source: str) -> dict[str, object]:
    """Names assigned in a parameters cell, with their literal values."""
    values = {}
    for node in ast.parse(source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name), (
            f"the parameters cell may only assign literals to names, not: {ast.unparse(node)}"
        )
        values[node.targets[0].id] = ast.literal_eval(node.value)  # papermill can only replace literals
    return values


# --------------------------------------------------------------------------------------
# Static checks (fast).
# --------------------------------------------------------------------------------------


def test_every_notebook_has_its_twin_and_nothing_else_is_there() -> None:
    assert sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb")) == list(NAMES)
    for name in NAMES:
        assert (NOTEBOOKS_DIR / f"{name}.py").is_file(), f"{name}.ipynb has no py:percent twin"


@pytest.mark.parametrize("name", NAMES)
def test_twin_is_in_sync(name: str) -> None:
    nb = _read(name)
    rendered = jupytext.writes(nb, fmt="py:percent")
    twin = (NOTEBOOKS_DIR / f"{name}.py").read_text(encoding="utf-8")
    assert rendered == twin, (
        f"notebooks/{name}.ipynb and notebooks/{name}.py differ: edit one, then run "
        f"`jupytext --sync notebooks/{name}.py` (or .ipynb) to update the other"
    )


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name: str) -> None:
    nb = _read(name)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"{name}: cell {i} has outputs; clear them before committing"
            assert cell.execution_count is None, f"{name}: cell {i} has an execution count"
    assert set(nb.metadata) <= {"jupytext", "kernelspec"}, f"{name}: unexpected notebook metadata {sorted(nb.metadata)}"


@pytest.mark.parametrize("name", NAMES)
def test_parameters_come_first_with_real_defaults(name: str, tmp_path) -> None:
    nb = _read(name)
    index, cell = _parameters_cell(nb)
    assert all(c.cell_type == "markdown" for c in nb.cells[:index]), f"{name}: the parameters cell must be the first code cell"
    defaults = _assigned(cell.source)
    text = json.dumps(defaults)
    assert "tiny" not in text, f"{name}: defaults must be the real models, not tiny test models"
    fake = {family: Path("/tiny") / family for family in ("marian", "m2m100", "nllb", "t5", "bart", "mt5", "mt5-crosssum",
                                                          "qwen2", "gemma")}
    unknown = set(injected_parameters(name, fake, tmp_path)) - set(defaults)
    assert not unknown, f"{name}: CI overrides {sorted(unknown)}, which the parameters cell does not define"


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_import_only_summ_and_the_standard_library(name: str) -> None:
    for cell in _read(name).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for module in modules:
                top = module.split(".")[0]
                assert top == "summ" or top in sys.stdlib_module_names, (
                    f"{name}: imports {module}; notebooks import from summ (helpers belong in the package)"
                )


# --------------------------------------------------------------------------------------
# Execution.
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernelspec for this interpreter, so the notebooks run in the environment under test
    (a ``python3`` kernelspec elsewhere on the machine may point at another Python)."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "summ-tests"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "summ tests", "language": "python",
    }))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [str(root), os.environ.get("JUPYTER_PATH")])))
        yield "summ-tests"


def _repository_files() -> set[Path]:
    """Files under the folders a notebook might write to by mistake (its own, and eval/results)."""
    return {p for folder in ("notebooks", "eval/results") for p in (ROOT / folder).rglob("*")
            if ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts}


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes(name: str, tiny_models, data_dir, kernel_name, tmp_path, monkeypatch) -> None:
    from nbclient import NotebookClient

    nb = _read(name)
    index, _ = _parameters_cell(nb)
    params = injected_parameters(name, tiny_models, tmp_path)
    source = "# Parameters injected by tests/test_notebooks.py (tiny models, small data)\n" + "\n".join(
        f"{key} = {value!r}" for key, value in params.items()
    )
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]}))

    # The kernel inherits this environment: data from the shared folder, tiny models where the
    # fixture built them (for tiny:FAMILY ids), every cache in the test's temporary folder.
    monkeypatch.setenv("SUMM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SUMM_TINY_MODELS", str(next(iter(tiny_models.values())).parent))
    monkeypatch.setenv("SUMM_CT2_CACHE", str(tmp_path / "ct2"))
    monkeypatch.setenv("SUMM_CACHE", str(tmp_path / "translations.sqlite"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # tiny models are local: nothing may be downloaded

    before = _repository_files()
    started = time.perf_counter()
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    try:
        client.execute()
    finally:
        keep = os.environ.get("SUMM_NOTEBOOK_OUTPUTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, Path(keep) / f"{name}.ipynb")
    seconds = time.perf_counter() - started
    print(f"{name}: executed in {seconds:.1f} s")

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = set()
    for o in outputs:
        data = o.get("data", {})
        if 'class="summ-side-by-side"' in data.get("text/html", ""):
            shown.add("side-by-side")
        if "image/png" in data:
            shown.add("plot")
        if "text/markdown" in data:
            shown.add("markdown")
    assert SHOWS[name] <= shown, f"{name} shows {sorted(shown)}, expected at least {sorted(SHOWS[name])}"
    assert _repository_files() == before, "the notebook wrote into the repository; make the location a parameter"
