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


def test_summarise_output_is_text_unless_jsonl(cli, tmp_path):
    printed = cli("summarise", str(SEED_ARTICLE), "--sentences", "2")[1]
    text_file = tmp_path / "summary.txt"
    assert cli("summarise", str(SEED_ARTICLE), "--sentences", "2", "-o", str(text_file))[0] == 0
    # The file holds what would have been printed, byte for byte: text, not records.
    assert text_file.read_text(encoding="utf-8") == printed and not printed.startswith("{")
    records = tmp_path / "summary.jsonl"
    assert cli("summarise", str(SEED_ARTICLE), "--sentences", "2", "-o", str(records))[0] == 0
    assert json.loads(read_lines(records)[0])["text"] + "\n" == printed


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


def _sacrebleu_json(ref, hyp, *args) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sacrebleu",
            str(ref),
            "-i",
            str(hyp),
            "-f",
            "json",
            "-w",
            "4",
            "-q",
            "-nc",
            *args,
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    return {r["name"]: r for r in (out if isinstance(out, list) else [out])}


def test_evaluate_reads_files_as_sacrebleu_does(cli, tmp_path, caplog):
    """A lone CR inside a line is text (summ used to split there and refuse the file), CRLF is
    one line end, a leading BOM stays in line 1, trailing whitespace is dropped: the strings
    sacrebleu's command line scores, so the numbers agree with it even where whitespace counts."""
    ref = tmp_path / "ref.txt"
    ref.write_bytes(
        "The cat sat\ron the mat.\r\nIt is raining today.\r\nNo one came.  \r\n".encode()
    )
    hyp = tmp_path / "hyp.txt"
    hyp.write_bytes("\ufeffThe cat sat on a mat.\nIt rains today.   \nNobody came.\n".encode())
    with caplog.at_level("WARNING", logger="summ"):
        code, out, _ = cli(
            "evaluate",
            "--hyp",
            str(hyp),
            "--ref",
            str(ref),
            "--metrics",
            "bleu",
            "chrf",
            "--chrf-whitespace",
            "--format",
            "json",
        )
    assert code == 0
    ours = {s["metric"]: s for s in json.loads(out)["scores"]}
    theirs = _sacrebleu_json(ref, hyp, "-m", "bleu", "chrf", "--chrf-whitespace")
    assert f"{ours['bleu']['score']:.4f}" == f"{theirs['BLEU']['score']:.4f}"
    assert f"{ours['chrf']['score']:.4f}" == f"{theirs['chrF2']['score']:.4f}"
    assert (
        ours["chrf"]["signature"] == theirs["chrF2"]["signature"]
        and "space:yes" in ours["chrf"]["signature"]
    )
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert f"{ref}: 1 line(s) hold a lone carriage return" in messages
    assert f"{hyp} starts with a byte order mark" in messages
    # --encoding utf-8-sig drops the BOM, as sacrebleu's -e utf-8-sig does; the score changes.
    code, out, _ = cli(
        "evaluate",
        "--hyp",
        str(hyp),
        "--ref",
        str(ref),
        "--metrics",
        "chrf",
        "--chrf-whitespace",
        "--encoding",
        "utf-8-sig",
        "--format",
        "json",
    )
    sig_score = json.loads(out)["scores"][0]["score"]
    theirs_sig = _sacrebleu_json(ref, hyp, "-m", "chrf", "--chrf-whitespace", "-e", "utf-8-sig")[
        "chrF2"
    ]["score"]
    assert f"{sig_score:.4f}" == f"{theirs_sig:.4f}" and sig_score != ours["chrf"]["score"]


def test_evaluate_bad_setting_flag_value_is_a_one_line_error(cli, systems):
    ref, good, _ = systems
    code, out, err = cli(
        "evaluate", "--hyp", str(good), "--ref", str(ref), "--max-ngram-order", "0"
    )
    assert code == 2 and out == "" and "bleu.max_ngram_order must be an integer >= 1" in err
    assert err.count("\n") == 1


def test_evaluate_settings_reach_the_table_and_latex_renderings(cli, systems):
    ref, good, bad = systems
    code, out, _ = cli(
        "evaluate",
        "--hyp",
        str(good),
        "--hyp",
        str(bad),
        "--ref",
        str(ref),
        "--baseline",
        "good",
        "--n-samples",
        "50",
        "-tok",
        "intl",
        "--chrf-beta",
        "3",
        "--ter-normalized",
    )
    assert code == 0
    assert "tok:intl" in out and "|beta:3|" in out and "norm:yes" in out and "bad" in out
    code, out, _ = cli(
        "evaluate", "--hyp", str(good), "--ref", str(ref), "-tok", "char", "--format", "latex"
    )
    assert code == 0 and "tok:char" in out and "\\toprule" in out


def test_summarise_references_with_rouge_stem_is_the_xlsum_variant(cli, tmp_path):
    from summ.metrics import rouge

    text = (
        "أعلنت وزارة الصحة اليوم عن حملة تطعيم جديدة. وقال الوزير إن الحملة تبدأ الأسبوع المقبل."
    )
    articles = tmp_path / "a.jsonl"
    articles.write_text(
        json.dumps({"id": "a1", "text": text}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    refs = tmp_path / "r.jsonl"
    summary = "أطلقت الوزارة حملة تطعيم تبدأ الأسبوع المقبل"
    refs.write_text(
        json.dumps({"id": "a1", "text": text, "summary": summary}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    code, out, err = cli(
        "summarise",
        str(articles),
        "--strategy",
        "lead",
        "--sentences",
        "1",
        "--lang",
        "ar",
        "--references",
        str(refs),
        "--rouge-stem",
    )
    assert code == 0
    lines = {line.split()[1]: line for line in err.splitlines() if line.startswith("summ: rouge")}
    expected = rouge([out.strip()], [summary], lang="ar", stem=True, types=("rouge1",))[0]
    assert (
        f"rouge1 {expected.score:.2f}" in lines["rouge1"]
        and "tok:xlsum-ar|stem:snowball-ar" in lines["rouge1"]
    )
    code, _, err = cli(
        "summarise",
        str(articles),
        "--strategy",
        "lead",
        "--sentences",
        "1",
        "--lang",
        "ar",
        "--references",
        str(refs),
    )
    assert code == 0 and "tok:summ-ar-v2|stem:no" in err


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


def test_run_with_metric_settings_scores_tests_and_records_them(cli, tmp_path):
    """[metric_settings] reaches scores, paired tests, summary ROUGE, manifest and report."""
    import csv

    from summ.metrics import compare, score

    config = tmp_path / "settings.toml"
    config.write_text(
        'name = "settings"\nbaseline = "marian"\nmetrics = ["bleu", "chrf"]\nlevels = ["corpus"]\n'
        "[significance]\nn_samples = 50\n"
        '[metric_settings.bleu]\ntokenize = "none"\nlowercase = true\n'
        "[metric_settings.chrf]\nbeta = 3\n"
        "[metric_settings.rouge]\nstem = false\n"
        '[defaults]\ndevice = "cpu"\n[defaults.decode]\nbeam_size = 1\nmax_new_tokens = 8\n'
        '[[systems]]\nname = "marian"\nmodel = "tiny:marian"\n'
        '[[systems]]\nname = "nllb"\nmodel = "tiny:nllb"\n'
        '[[datasets]]\nname = "ntrex128"\ntype = "ntrex128"\ndocuments = 1\n'
        '[[summaries]]\nname = "lead1"\nstrategy = "lead"\noptions = { sentences = 1 }\n',
        encoding="utf-8",
    )
    out = tmp_path / "run"
    code, stdout, _ = cli("run", str(config), "--output", str(out), "--no-progress")
    assert code == 0, stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["metric_settings"] == {
        "bleu": {"tokenize": "none", "lowercase": True},
        "chrf": {"beta": 3},
        "ter": {},
        "rouge": {"stem": False},
    }
    rows = {
        (r["system"], r["metric"]): r
        for r in csv.DictReader((out / "scores.csv").open(encoding="utf-8"))
    }
    hyps = {s: read_lines(out / "outputs" / "ntrex128" / f"{s}.txt") for s in ("marian", "nllb")}
    from summ.data import load_ntrex128

    corpus = load_ntrex128().select_documents(1)
    assert len(hyps["marian"]) == len(corpus)
    for system, lines in hyps.items():
        for s in score(
            lines,
            corpus.refs[0],
            ["bleu", "chrf"],
            bleu={"tokenize": "none", "lowercase": True},
            chrf={"beta": 3},
        ):
            row = rows[(system, s.metric)]
            assert float(row["score"]) == s.score and row["signature"] == s.signature
    assert (
        "tok:none" in rows[("marian", "bleu")]["signature"]
        and "case:lc" in rows[("marian", "bleu")]["signature"]
    )
    assert "|beta:3|" in rows[("marian", "chrf")]["signature"]
    sig_rows = list(csv.DictReader((out / "significance.csv").open(encoding="utf-8")))
    expected = compare(
        hyps,
        corpus.refs[0],
        "marian",
        ["bleu", "chrf"],
        n_samples=50,
        seed=12345,
        bleu={"tokenize": "none", "lowercase": True},
        chrf={"beta": 3},
    )
    assert [(r["system"], r["metric"], r["signature"]) for r in sig_rows] == [
        (c.system, c.metric, c.signature) for c in expected
    ]
    summary_sigs = {
        r["signature"]
        for r in csv.DictReader((out / "summary_scores.csv").open(encoding="utf-8"))
        if r["metric"].startswith("rouge")
    }
    assert summary_sigs and all("stem:no" in sig for sig in summary_sigs)
    report = (out / "report" / "tables.md").read_text(
        encoding="utf-8"
    )  # the report renders the signatures
    assert "tok:none" in report and "|beta:3|" in report


def test_run_metric_settings_problems_are_listed_together(cli, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(
        '[metric_settings.bleu]\ntokenise = "none"\nmax_ngram_order = 0\n'
        '[metric_settings.rouge]\nstem = "yes"\n'
        "[metric_settings.meteor]\nalpha = 1\n"
        '[[systems]]\nname = "a"\nmodel = "tiny:marian"\n'
        '[[datasets]]\nname = "ntrex128"\ntype = "ntrex128"\n',
        encoding="utf-8",
    )
    code, _, err = cli("run", str(config))
    assert code == 2
    for problem in (
        "unknown bleu setting 'tokenise' (sacrebleu.BLEU takes: lowercase",
        "bleu.max_ngram_order must be an integer >= 1",
        "stem must be true or false",
        "metric_settings: unknown key 'meteor'",
    ):
        assert problem in err, problem
    assert "4 problems" in err


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
