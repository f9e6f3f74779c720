"""summ.config: a config's every problem found in one pass, each at its place in the file.

The expected messages are written out by hand from the rules (DecodeConfig, BatchConfig,
SummaryConfig, the table shapes); each case breaks one thing and must give exactly its own
problems, no more (a problem must not hide another, nor fake one). The GPU checks rely on
conftest.py hiding every GPU (CUDA_VISIBLE_DEVICES=""), as on a laptop without one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from summ.cli import main
from summ.config import DatasetConfig, SignificanceConfig, SystemConfig, load_config
from summ.errors import ConfigError
from summ.metrics import LEVELS, METRICS
from summ.summary import SummaryConfig
from summ.engines.base import BatchConfig, DecodeConfig

from .conftest import ROOT

NO_GPU = "cuda requested but no CUDA GPU is visible"


def config_text(top: str = "", system: str = "", dataset: str = "", tail: str = "") -> str:
    """A valid config (one tiny system, one parallel dataset) with lines added in four places."""
    return (f'{top}\n[[systems]]\nname = "a"\nmodel = "tiny:marian"\n{system}\n'
            f'[[datasets]]\nname = "p"\ntype = "parallel"\nsrc = "src.ar"\nrefs = "ref.en"\n'
            f'{dataset}\n{tail}\n')


@pytest.fixture()
def write(tmp_path: Path):
    (tmp_path / "src.ar").write_text("مرحبا\nأهلا\n", encoding="utf-8")
    (tmp_path / "ref.en").write_text("hello\nwelcome\n", encoding="utf-8")

    def _write(text: str, name: str = "c.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def problems_of(path: Path, **overrides) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_config(path, **overrides)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}: {len(err.value.problems)} problem")
    return err.value.problems


BAD = [
    # DecodeConfig's and BatchConfig's own rules, located down to the field.
    (dict(system="[systems.decode]\nbeam_size = 0"),
     ["systems[0].decode.beam_size must be an integer >= 1 or None, got 0"]),
    (dict(top="[defaults.decode]\nlength_ratio = 0\nlength_margin = -1"),
     ["defaults.decode.length_ratio must be a number > 0, got 0",
      "defaults.decode.length_margin must be an integer >= 0, got -1"]),
    (dict(system="[systems.decode]\nbeam_size = 4.0\nearly_stopping = 1\nmax_new_tokens = 0"),
     ["systems[0].decode.beam_size must be an integer >= 1 or None, got 4.0",
      "systems[0].decode.early_stopping must be true or false or None, got 1",
      "systems[0].decode.max_new_tokens must be an integer >= 1 or None, got 0"]),
    (dict(system="[systems.batch]\nbatch_tokens = 0\nmax_batch_size = true\ncommit_every = 1.5\n"
                 "max_input_tokens = 0"),
     ["systems[0].batch.batch_tokens must be an integer >= 1, got 0",
      "systems[0].batch.max_batch_size must be an integer >= 1, got True",
      "systems[0].batch.max_input_tokens must be an integer >= 1 or None, got 0",
      "systems[0].batch.commit_every must be an integer >= 1, got 1.5"]),
    (dict(system="[systems.batch]\nbatch = 8"),
     ["systems[0].batch: unknown key 'batch' (allowed: batch_tokens, commit_every, "
      "max_batch_size, max_input_tokens)"]),
    # The tables' own shape.
    (dict(system='engine = 3\ndevice = ""'),
     ["systems[0].engine must be a string, got 3",
      "systems[0].device must be a non-empty string, got ''"]),
    (dict(tail='[[systems]]\nname = "b c"\nmodel = "tiny:marian"'),
     ["systems[1].name: name 'b c' must be letters, digits and . _ + - (it becomes a file name)"]),
    (dict(tail='[[systems]]\nname = "b"'),
     ["systems[1]: model is required (hub id, local directory or tiny:FAMILY)"]),
    (dict(dataset='documents = true\nencoding = "klingon"'),
     ["datasets[0].documents must be an integer, got True",
      "datasets[0].encoding: unknown encoding 'klingon' (try utf-8 or cp1256)"]),
    (dict(dataset='root = "."'),
     ["datasets[0]: unknown key 'root' (allowed: doc_ids, documents, encoding, name, refs, src, "
      "test_set, type)"]),
    (dict(tail='[[datasets]]\nname = "q"\ntype = "parallel"\nsrc = "src.ar"'),
     ["datasets[1]: refs is required (reference files, line-aligned with src)"]),
    (dict(top='[significance]\nn_samples = "1000"\nrounds = 3'),
     ["significance.n_samples must be an integer, got '1000'",
      "significance: unknown key 'rounds' (allowed: methods, metrics, n_samples, seed)"]),
    # A GPU this machine lacks, asked of each engine's library.
    (dict(system='device = "cuda"'), [f"systems[0].device: {NO_GPU}"]),
    (dict(system='engine = "ct2"\ndevice = "cuda:1"'), [f"systems[0].device: {NO_GPU}"]),
    (dict(system='engine = "ct2"\ndevice = "mps"'),
     ["systems[0].device: CTranslate2 runs on auto, cpu or cuda[:N], not 'mps' "
      "(use engine \"hf\")"]),
    # [[summaries]] options: SummaryConfig's fields and rules.
    (dict(tail='[[summaries]]\nname = "s"\nstrategy = "lead"\n'
               'options = { sentence = 2, lang = "en", beam_size = 0, damping = 1 }'),
     ["summaries[0].options: unknown key 'lang' (the experiment sets it)",
      "summaries[0].options: unknown key 'sentence' (allowed: beam_size, damping, device, dtype, "
      "engine, length_penalty, max_input_tokens, max_tokens, no_repeat_ngram_size, prompt, "
      "sentences, skip_duplicates, translate_decode)",
      "summaries[0].options.beam_size must be an integer >= 1 or None, got 0",
      "summaries[0].options.damping must be a number in (0, 1), got 1"]),
    (dict(tail='[[summaries]]\nname = "s"\nstrategy = "abstractive"\nmodel = "tiny:bart"\n'
               'options = { device = "cuda", translate_decode = { length_ratio = -1.0 } }'),
     ["summaries[0].options.translate_decode.length_ratio must be a number > 0, got -1.0",
      f"summaries[0].options.device: {NO_GPU}"]),
    # A system whose engine is wrong is still a system: the baseline names it, no second problem.
    (dict(top='baseline = "a"', system='engine = "onnx"'),
     ["systems[0].engine: unknown engine 'onnx' (choose hf, ct2)"]),
]


@pytest.mark.parametrize(("parts", "expected"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_each_problem_is_reported_once_at_its_place(write, parts, expected):
    assert problems_of(write(config_text(**parts))) == expected


def test_a_valid_config_gets_the_dataclasses_defaults(write, tmp_path):
    config = load_config(write(config_text()))
    assert config.systems == (SystemConfig(name="a", model="tiny:marian"),)
    assert config.datasets == (DatasetConfig(name="p", type="parallel", src=tmp_path / "src.ar",
                                             refs=(tmp_path / "ref.en",)),)
    assert (config.name, config.baseline) == ("c", "a")
    assert (config.metrics, config.levels) == (METRICS, LEVELS)
    assert config.significance == SignificanceConfig() and config.summaries == ()
    assert config.output == tmp_path.parent / "results" / "c"
    assert config.cache_path == config.output / "cache.sqlite" and config.published is None


def test_defaults_are_merged_under_each_system(write):
    config = load_config(write(config_text(
        top='[defaults]\nengine = "ct2"\ndevice = "cpu"\n'
            'options = { src_lang = "ar", tgt_lang = "en" }\n'
            '[defaults.decode]\nbeam_size = 2\n[defaults.batch]\ncommit_every = 7',
        system='engine = "hf"\noptions = { tgt_lang = "eng" }\n'
               '[systems.decode]\nmax_new_tokens = 8',
        tail='[[systems]]\nname = "b"\nmodel = "tiny:marian"\nrevision = "main"')))
    a, b = config.systems
    assert (a.engine, a.device, a.revision) == ("hf", "cpu", None)
    assert (b.engine, b.device, b.revision) == ("ct2", "cpu", "main")
    assert a.decode == DecodeConfig(beam_size=2, max_new_tokens=8)
    assert b.decode == DecodeConfig(beam_size=2)
    assert a.batch == b.batch == BatchConfig(commit_every=7)
    assert a.options == {"src_lang": "ar", "tgt_lang": "eng"}
    assert b.options == {"src_lang": "ar", "tgt_lang": "en"}


def test_paths_expand_home_and_variables_and_are_relative_to_the_config(tmp_path, monkeypatch):
    sub, home, data = tmp_path / "configs", tmp_path / "home", tmp_path / "data"
    for folder in (sub, home, data, tmp_path / "elsewhere"):
        folder.mkdir()
    (data / "src.ar").write_text("مرحبا\n", encoding="utf-8")
    (home / "ref.en").write_text("hello\n", encoding="utf-8")
    (tmp_path / "ref2.en").write_text("hi\n", encoding="utf-8")
    (sub / "ids.tsv").write_text("doc1\n", encoding="utf-8")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SUMM_TEST_DATA", str(data))
    monkeypatch.chdir(tmp_path / "elsewhere")  # relative paths must not depend on the cwd
    path = sub / "x.toml"
    path.write_text('output = "~/out"\ncache = "cache.sqlite"\n'
                    '[[systems]]\nname = "a"\nmodel = "tiny:marian"\n'
                    '[[datasets]]\nname = "p"\ntype = "parallel"\nsrc = "$SUMM_TEST_DATA/src.ar"\n'
                    'refs = ["~/ref.en", "../ref2.en"]\ndoc_ids = "ids.tsv"\n', encoding="utf-8")
    config = load_config(path)
    d = config.datasets[0]
    assert (d.src, d.doc_ids) == (data / "src.ar", sub / "ids.tsv")
    assert d.refs == (home / "ref.en", tmp_path / "ref2.en")
    assert (config.output, config.cache) == (home / "out", sub / "cache.sqlite")


def test_windows_arabic_dataset_names_the_fix_of_the_config_not_a_flag(write, tmp_path, capsys):
    (tmp_path / "src.ar").write_bytes("مرحبا\r\nأهلا\r\n".encode("cp1256"))
    path = write(config_text())
    [problem] = problems_of(path)
    assert problem.startswith(f"datasets[0].src: {tmp_path / 'src.ar'}:1: not valid utf-8")
    assert problem.endswith('Windows Arabic, set encoding = "cp1256" in its [[datasets]] table')
    assert "--encoding" not in problem  # `summ run` has no such flag
    code = main(["run", str(path), "--output", str(tmp_path / "out")])
    assert code == 2 and 'set encoding = "cp1256"' in capsys.readouterr().err
    fixed = load_config(write(config_text(dataset='encoding = "cp1256"')))
    assert fixed.datasets[0].encoding == "cp1256"


def test_device_override_is_checked_once_and_only_for_the_systems_that_run(write):
    two = config_text(tail='[[systems]]\nname = "b"\nmodel = "tiny:marian"\nengine = "ct2"')
    assert problems_of(write(two), device="cuda") == [f"--device: {NO_GPU}"]
    three = config_text(tail='[[systems]]\nname = "b"\nmodel = "tiny:marian"\ndevice = "cuda"\n'
                             '[[systems]]\nname = "c"\nmodel = "tiny:marian"')
    assert problems_of(write(three), systems=["b"]) == [f"systems[1].device: {NO_GPU}"]
    assert [s.name for s in load_config(write(three), systems=["c"]).systems] == ["a", "c"]


def test_checking_a_config_imports_no_model_library():
    code = ("import sys; from summ.config import load_config; "
            "load_config('eval/configs/main.toml'); "
            "print([m for m in ('torch', 'transformers', 'ctranslate2') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("cls", "kwargs", "problems"), [
    (DecodeConfig, dict(beam_size=True), ["beam_size must be an integer >= 1 or None, got True"]),
    (DecodeConfig, dict(length_ratio=float("nan"), repetition_penalty=0),
     ["repetition_penalty must be a number > 0 or None, got 0",
      "length_ratio must be a number > 0, got nan"]),
    (DecodeConfig, dict(length_penalty=float("inf"), no_repeat_ngram_size=-1, min_new_tokens=None),
     ["length_penalty must be a number or None, got inf",
      "no_repeat_ngram_size must be an integer >= 0 or None, got -1",
      "min_new_tokens must be an integer >= 0, got None"]),
    (BatchConfig, dict(batch_tokens=0, commit_every="256"),
     ["batch_tokens must be an integer >= 1, got 0",
      "commit_every must be an integer >= 1, got '256'"]),
    (SummaryConfig, dict(beam_size=0, length_penalty="2", dtype=None),
     ["dtype must be a dtype name, got None", "beam_size must be an integer >= 1 or None, got 0",
      "length_penalty must be a number or None, got '2'"]),
])
def test_settings_dataclasses_refuse_bad_values_themselves(cls, kwargs, problems):
    with pytest.raises(ConfigError) as err:
        cls(**kwargs)
    assert err.value.problems == problems and "\n" not in str(err.value)


def test_settings_dataclasses_accept_every_edge_of_their_ranges():
    DecodeConfig(beam_size=None, length_penalty=-0.5, repetition_penalty=None,
                 no_repeat_ngram_size=0, early_stopping=None, min_new_tokens=0, length_ratio=1,
                 length_margin=0, max_new_tokens=1)
    BatchConfig(batch_tokens=1, max_batch_size=1, max_input_tokens=None, commit_every=1)
    SummaryConfig(beam_size=1, length_penalty=2, no_repeat_ngram_size=0, max_input_tokens=8)


@pytest.mark.parametrize(("flag", "problem"), [
    # The dataclasses' rule, worded with the flag the user typed (summ.cli names it).
    ("--beam", "--beam must be an integer >= 1, got 0"),
    ("--batch-tokens", "--batch-tokens must be an integer >= 1, got 0"),
])
def test_the_cli_refuses_the_same_values_with_one_line(tmp_path, capsys, flag, problem):
    src = tmp_path / "in.ar"
    src.write_text("مرحبا\n", encoding="utf-8")
    assert main(["translate", str(src), "--model", "tiny:marian", "--no-cache", flag, "0"]) == 2
    assert capsys.readouterr().err == f"summ: error: {problem}\n"
