"""The other `summ` commands as a researcher calls them: summarise, evaluate, run, report, data."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from summ import segment as seg
from summ.cli import main
from summ.data import read_lines

from .conftest import ROOT, SEED_ARTICLE
from .sacrebleu_cli import cli_all_metrics, fmt


@pytest.fixture()
def cli(capsys):
    def _cli(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _cli


# summ translate: engine flags ---------------------------------------------------------------


@pytest.mark.parametrize(("engine", "flag", "value", "names"), [
    ("hf", "--compute-type", "int8", "--compute-type applies to --engine ct2"),
    ("ct2", "--dtype", "float16", "--dtype applies to --engine hf"),
    ("hf", "--dtype", "float16", None),  # the engine's own flag passes (then fails on the missing model)
])
def test_engine_flags_for_the_other_engine_are_errors(cli, tmp_path, engine, flag, value, names):
    code, out, err = cli("translate", str(SEED_ARTICLE), "--model", str(tmp_path / "no-model"), "--engine", engine,
                         flag, value, "--no-cache")
    assert code != 0 and out == ""
    if names:
        assert code == 2 and names in err
    else:
        assert "applies to" not in err and "no-model" in err


# summ summarise ---------------------------------------------------------------------------


def test_summarise_textrank_prints_three_sentences_of_the_seed_article(cli, seed_text):
    code, out, _ = cli("summarise", str(SEED_ARTICLE), "--strategy", "textrank", "--sentences", "3")
    assert code == 0
    lines = out.strip().split("\n")
    sentences = {s.text for s in seg.segment(seed_text)}
    assert len(lines) == 3 and all(line in sentences for line in lines)


def test_summarise_with_translator_prints_translations(cli, tiny_models, tmp_path):
    out_file = tmp_path / "s.jsonl"
    code, _, _ = cli("summarise", str(SEED_ARTICLE), "--strategy", "textrank", "--sentences", "3",
                     "--translator", str(tiny_models["marian"]), "--output", str(out_file))
    assert code == 0
    record = json.loads(read_lines(out_file)[0])
    assert record["id"] == SEED_ARTICLE.stem
    assert len(record["sentences"]) == len(record["source_sentences"]) == 3
    assert all(seg.is_arabic(s) for s in record["source_sentences"])


def test_summarise_reference_ids_must_match(cli, tmp_path):
    articles = tmp_path / "a.jsonl"
    articles.write_text('{"id": "a1", "text": "جملة أولى. جملة ثانية."}\n', encoding="utf-8")
    refs = tmp_path / "r.jsonl"
    refs.write_text('{"id": "zz", "text": "x", "summary": "y"}\n', encoding="utf-8")
    code, _, err = cli("summarise", str(articles), "--strategy", "lead", "--references", str(refs))
    assert code == 2 and "a1" in err and "zz" in err


# summ evaluate ----------------------------------------------------------------------------


@pytest.fixture()
def systems(tmp_path, ntrex_dir):
    refs = read_lines(ntrex_dir / "newstest2019-src.eng.txt")[:120]
    ref = tmp_path / "ref.en.txt"
    ref.write_text("\n".join(refs) + "\n", encoding="utf-8")
    good = tmp_path / "good.txt"
    good.write_text("\n".join(r.replace("the ", "a ", 1) for r in refs) + "\n", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(" ".join(r.split()[::2]) for r in refs) + "\n", encoding="utf-8")
    return ref, good, bad


def test_evaluate_matches_sacrebleus_cli_and_marks_significance(cli, systems):
    ref, good, bad = systems
    code, out, _ = cli("evaluate", "--hyp", str(good), "--hyp", str(bad), "--ref", str(ref), "--baseline", "good",
                       "--n-samples", "100", "--format", "json")
    assert code == 0
    data = json.loads(out)
    for name, path in (("good", good), ("bad", bad)):
        ours = {s["metric"]: s for s in data["scores"] if s["system"] == name}
        expected = cli_all_metrics([ref], path)  # sacrebleu's own command line
        assert {m: (fmt(s["score"]), s["signature"]) for m, s in ours.items()} == \
            {m: (fmt(r["score"]), r["signature"]) for m, r in expected.items()}
    worse = next(c for c in data["comparisons"] if c["system"] == "bad" and c["metric"] == "bleu")
    assert worse["significant"] and worse["delta"] < 0
    for form, marker in (("table", "|"), ("csv", ","), ("latex", "\\toprule")):
        code, out, _ = cli("evaluate", "--hyp", str(good), "--ref", str(ref), "--format", form)
        assert code == 0 and marker in out


def test_evaluate_line_count_mismatch_names_both_files(cli, systems, tmp_path):
    ref, good, _ = systems
    short = tmp_path / "short.txt"
    short.write_text("\n".join(read_lines(good)[:-1]) + "\n", encoding="utf-8")
    code, out, err = cli("evaluate", "--hyp", str(short), "--ref", str(ref))
    assert code == 2 and out == ""
    assert "119" in err and "120" in err and "short.txt" in err and "ref.en.txt" in err


def test_evaluate_non_utf8_gives_the_same_error_style_as_translate(cli, systems, tmp_path):
    ref, _, _ = systems
    hyp = tmp_path / "cp.txt"
    hyp.write_bytes("سطر\n".encode("cp1256"))
    code, _, err = cli("evaluate", "--hyp", str(hyp), "--ref", str(ref))
    assert code == 2 and f"{hyp}:1:" in err and "--encoding cp1256" in err


# summ run / summ report -------------------------------------------------------------------


def test_run_then_report_twice_is_byte_identical(cli, tmp_path):
    out = tmp_path / "smoke"
    code, stdout, _ = cli("run", str(ROOT / "eval/configs/smoke.toml"), "--output", str(out), "--documents", "1",
                          "--systems", "marian", "nllb", "--no-progress")
    assert code == 0 and "| marian (baseline) |" in stdout
    first = {p.name: p.read_bytes() for p in (out / "report").iterdir()}
    code, listed, _ = cli("report", str(out))
    assert code == 0 and {os.path.basename(x) for x in listed.split()} == set(first)
    assert {p.name: p.read_bytes() for p in (out / "report").iterdir()} == first


def test_run_config_problems_are_listed_together(cli, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(
        'metrics = ["bleu", "meteor"]\n'
        '[[systems]]\nname = "a"\nmodel = "./no/such/model"\nengine = "fast"\n'
        '[[datasets]]\nname = "d"\ntype = "parallel"\nsrc = "missing.ar"\nrefs = ["missing.en"]\n',
        encoding="utf-8",
    )
    code, _, err = cli("run", str(config))
    assert code == 2
    for problem in ("meteor", "no/such/model", "fast", "missing.ar"):
        assert problem in err


def test_shipped_real_config_offline_fails_per_system_with_clear_errors(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run(
        [sys.executable, "-m", "summ", "run", str(ROOT / "eval/configs/ntrex128-ar-en.toml"), "--documents", "1",
         "--output", str(tmp_path / "real"), "--no-progress"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 5, proc.stderr
    failures = [line for line in proc.stdout.splitlines() if line.startswith("FAILED ")]
    assert len(failures) == 7  # every system of the config, each with its own one-line reason
    assert all("--model DIR" in line for line in failures)
    manifest = json.loads((tmp_path / "real" / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["failed"]) == {line.split(":")[0].removeprefix("FAILED ") for line in failures}


# summ data --------------------------------------------------------------------------------


def test_data_fetch_with_a_valid_local_copy_only_checks(cli, data_dir):
    code, out, _ = cli("data", "fetch", "ntrex128", "--dest", str(data_dir))
    assert code == 0 and out.strip() == str(data_dir / "ntrex128")


def test_version_and_help():
    proc = subprocess.run([sys.executable, "-m", "summ", "--help"], capture_output=True, text=True, check=True)
    for command in ("translate", "summarise", "evaluate", "run", "report", "data"):
        assert command in proc.stdout


def test_interrupt_mentions_the_cache_only_where_there_is_one(cli, monkeypatch, tmp_path):
    import summ.report
    import summ.translate

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(summ.report, "build_report", interrupt)
    monkeypatch.setattr(summ.translate, "load_translator", interrupt)
    code, _, err = cli("report", str(tmp_path))
    assert code == 130 and err.strip() == "summ: interrupted"
    code, _, err = cli("translate", str(SEED_ARTICLE), "--model", "m", "--no-cache")
    assert code == 130 and err.strip() == "summ: interrupted"
    code, _, err = cli("translate", str(SEED_ARTICLE), "--model", "m", "--cache", str(tmp_path / "c.sqlite"))
    assert code == 130 and "rerun to resume" in err
