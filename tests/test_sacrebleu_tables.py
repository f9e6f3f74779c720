"""sacrebleu's own value tables, through summ's API and through ``summ evaluate``.

Every row below is a (hypotheses, references, settings, expected) case rebuilt from
mjpost/sacrebleu's test suite at v2.6.0 (the file and table are named in each block); the
expected values, and the precision each is checked to, are those tests' own. Each row runs
twice: ``summ.metrics.score(..., bleu=/chrf=/ter=)`` and ``summ evaluate`` on files written here,
with sacrebleu's flag names. Rows sacrebleu computes from statistics rather than text
(``test_scoring``, ``test_degenerate_statistics`` in test_bleu.py) have no hypotheses to pass and
are not here; test_significance.py's rows need WMT17 system outputs that are not in this
repository (eval/sacrebleu_significance/ runs them from a copy of that file).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from summ.cli import main
from summ.errors import ConfigError
from summ.metrics import compare, score


@dataclass(frozen=True)
class Row:
    """One case of sacrebleu's tests.

    Attributes:
        source: sacrebleu test file and table the case comes from.
        hyps: hypotheses, one per line.
        refs: reference streams, each as long as ``hyps``.
        metric: summ metric name.
        expected: the value sacrebleu's test expects, on summ's 0-100 scale.
        tolerance: sacrebleu's EPSILON on that scale; ``None`` = compared as "%.2f" strings.
        level: ``corpus`` or ``sentence``.
        settings: summ's ``bleu``/``chrf``/``ter`` tables.
        details: expected BLEU ``counts``/``totals`` (test_statistics) instead of a score check.
    """

    source: str
    hyps: tuple[str, ...]
    refs: tuple[tuple[str, ...], ...]
    metric: str
    expected: float
    tolerance: float | None
    level: str = "corpus"
    settings: dict = field(default_factory=dict, hash=False)
    details: dict = field(default_factory=dict, hash=False)


def _streams(refs) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(stream) for stream in refs)


# sacrebleu.compat.raw_corpus_bleu(hyps, refs, smooth_value): BLEU with these settings.
def _raw(smooth_value: float | None = 0.01) -> dict:
    bleu = {"smooth_method": "floor", "force": True, "tokenize": "none", "effective_order": True}
    if smooth_value is not None:
        bleu["smooth_value"] = smooth_value
    return {"bleu": bleu}


ROWS: list[Row] = []

# --- test/test_bleu.py ----------------------------------------------------------------------
# test_raw_bleu: raw_corpus_bleu(h, r, .01).score / 100 == expected, EPSILON 1e-8.
for hyps, refs, expected in [
    (["this is a test", "another test"], [["ref1", "ref2"]], 0.0),
    (["this is a test"], [["this is a test"]], 1.0),
    (["this is a fest"], [["this is a test"]], 0.223606797749979),
]:
    ROWS.append(
        Row(
            "test_bleu.py test_raw_bleu",
            tuple(hyps),
            _streams(refs),
            "bleu",
            100 * expected,
            1e-6,
            settings=_raw(),
        )
    )

_REFS = [
    ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
    ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
]
_HYPS = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]

# test_corpus_bleu: corpus_bleu(h, r, **kwargs).score == expected, EPSILON 1e-8.
for hyps, kwargs, expected in [
    (_HYPS, {}, 48.530827),
    (["", "", ""], {}, 0.0),
    (_HYPS, {"tokenize": "none"}, 49.1919566),
    (_HYPS, {"tokenize": "13a"}, 48.530827),
    (_HYPS, {"tokenize": "intl"}, 43.91623493),
    (_HYPS, {"smooth_method": "none"}, 48.530827),
]:
    ROWS.append(
        Row(
            "test_bleu.py test_corpus_bleu",
            tuple(hyps),
            _streams(_REFS),
            "bleu",
            expected,
            1e-8,
            settings={"bleu": kwargs} if kwargs else {},
        )
    )

# test_offset: raw_corpus_bleu with smooth_value 0.0, None (BLEU's default 0.1) and the default.
_OFFSET = (("am I am a character sequence",), (("I am a symbol string sequence a a",),))
for smooth_value, expected in [(0.0, 0.0), (None, 0.1555722182), (0.1, 0.1555722182)]:
    ROWS.append(
        Row(
            "test_bleu.py test_offset",
            *_OFFSET,
            "bleu",
            100 * expected,
            1e-6,
            settings=_raw(smooth_value),
        )
    )

# test_statistics: raw_corpus_bleu(h, r, .01) counts/totals.
ROWS.append(
    Row(
        "test_bleu.py test_statistics",
        *_OFFSET,
        "bleu",
        float("nan"),
        None,
        settings=_raw(),
        details={"counts": [4, 2, 1, 0], "totals": [6, 5, 4, 3]},
    )
)

# test_effective_order: raw_corpus_bleu(h, r, .01).score / 100, EPSILON 1e-8.
for hyps, refs, expected in [
    (["test"], [["a test"]], 0.3678794411714425),
    (["a test"], [["a test"]], 1.0),
    (["a little test"], [["a test"]], 0.03218297948685433),
]:
    ROWS.append(
        Row(
            "test_bleu.py test_effective_order",
            tuple(hyps),
            _streams(refs),
            "bleu",
            100 * expected,
            1e-6,
            settings=_raw(),
        )
    )

# test_max_ngram_order: f"{BLEU(max_ngram_order=order).corpus_score(h, r).score:.2f}" == expected.
for order, expected in [
    (1, "77.65"),
    (2, "60.50"),
    (3, "53.93"),
    (4, "48.53"),
    (5, "46.14"),
    (6, "43.28"),
]:
    ROWS.append(
        Row(
            "test_bleu.py test_max_ngram_order",
            tuple(_HYPS),
            _streams(_REFS),
            "bleu",
            float(expected),
            None,
            settings={"bleu": {"max_ngram_order": order}},
        )
    )

# --- test/test_chrf.py ----------------------------------------------------------------------
# test_chrf_sentence_level: sentence_chrf(h, refs, eps_smoothing=True), EPSILON 1e-4.
for hyp, refs, expected in [
    (
        "Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.",
        ["Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře."],
        39.14078509,
    ),
    (
        "Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.",
        ["A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři."],
        31.22557079,
    ),
    (
        "Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.",
        [
            "Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, "
            "připomněli."
        ],
        57.15704367,
    ),
]:
    ROWS.append(
        Row(
            "test_chrf.py test_chrf_sentence_level",
            (hyp,),
            _streams([refs]),
            "chrf",
            expected,
            1e-4,
            level="sentence",
            settings={"chrf": {"eps_smoothing": True}},
        )
    )

# test_chrf: corpus_chrf(h, [r], char_order=6, word_order=0, beta=3, eps_smoothing=True), 1e-4.
for hyps, refs, expected in [
    (["abcdefg"], ["hijklmnop"], 0.0),
    (["a"], ["b"], 0.0),
    ([""], ["b"], 0.0),
    ([""], ["ref"], 0.0),
    ([""], ["reference"], 0.0),
    (["aa"], ["ab"], 8.3333),
    (["a", "b"], ["a", "c"], 8.3333),
    (["a"], ["a"], 16.6667),
    (["a b c"], ["a b c"], 50.0),
    (["a b c"], ["abc"], 50.0),
    (
        [
            " risk assessment must be made of those who are qualified and expertise in the "
            "sector - these are the "
            "scientists ."
        ],
        [
            "risk assessment has to be undertaken by those who are qualified and expert in "
            "that area - that is the "
            "scientists ."
        ],
        63.361730,
    ),
    (
        [" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "],
        ["Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."],
        64.1302698,
    ),
    (
        ["Niemand hat die Absicht, eine Mauer zu errichten"],
        ["Niemand hat die Absicht, eine Mauer zu errichten"],
        100.0,
    ),
]:
    ROWS.append(
        Row(
            "test_chrf.py test_chrf",
            tuple(hyps),
            _streams([refs]),
            "chrf",
            expected,
            1e-4,
            settings={
                "chrf": {"char_order": 6, "word_order": 0, "beta": 3, "eps_smoothing": True}
            },
        )
    )

# test_chrf_eff_order: the same with eps_smoothing=False (sacreBLEU < 2.0 behaviour), 1e-4.
for hyps, refs, expected in [
    (["a"], ["a"], 100.0),
    ([""], ["reference"], 0.0),
    (["a b c"], ["a b c"], 100.0),
    (["a b c"], ["abc"], 100.0),
    ([""], ["c"], 0.0),
    (["a", "b"], ["a", "c"], 50.0),
    (["aa"], ["ab"], 25.0),
]:
    ROWS.append(
        Row(
            "test_chrf.py test_chrf_eff_order",
            tuple(hyps),
            _streams([refs]),
            "chrf",
            expected,
            1e-4,
            settings={
                "chrf": {"char_order": 6, "word_order": 0, "beta": 3, "eps_smoothing": False}
            },
        )
    )

# test_chrf_keep_whitespace: remove_whitespace=False (CHRF whitespace=True), beta=3, 1e-4.
for hyps, refs, expected in [
    (
        ["Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich."],
        ["Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."],
        67.3481606,
    ),
    (
        [
            "risk assessment must be made of those who are qualified and expertise in the "
            "sector - these are the "
            "scientists ."
        ],
        [
            "risk assessment has to be undertaken by those who are qualified and expert in "
            "that area - that is the "
            "scientists ."
        ],
        65.2414427,
    ),
]:
    ROWS.append(
        Row(
            "test_chrf.py test_chrf_keep_whitespace",
            tuple(hyps),
            _streams([refs]),
            "chrf",
            expected,
            1e-4,
            settings={"chrf": {"char_order": 6, "word_order": 0, "beta": 3, "whitespace": True}},
        )
    )

# --- test/test_ter.py -----------------------------------------------------------------------
# test_ter: TER().corpus_score(h, [r]).score == 100 * expected, EPSILON 1e-3.
_TER_HYPS = [
    'wählen Sie " Bild neu berechnen , " um beim Ändern der Bildgröße Pixel hinzuzufügen oder '
    'zu entfernen , damit '
    "das Bild ungefähr dieselbe Größe aufweist wie die andere Größe .",
    "wenn Sie alle Aufgaben im aktuellen Dokument aktualisieren möchten , wählen Sie im Menü des "
    'Aufgabenbedienfelds die Option " Alle Aufgaben aktualisieren . "',
    'klicken Sie auf der Registerkarte " Optionen " auf die Schaltfläche " Benutzerdefiniert " '
    'und geben Sie Werte '
    'für " Fehlerkorrektur-Level " und " Y / X-Verhältnis " ein .',
    "Sie können beispielsweise ein Dokument erstellen , das ein Auto über die Bühne enthält .",
    'wählen Sie im Dialogfeld " Neu aus Vorlage " eine Vorlage aus und klicken Sie auf " Neu . "',
]
_TER_REFS = [
    'wählen Sie " Bild neu berechnen , " um beim Ändern der Bildgröße Pixel hinzuzufügen oder '
    'zu entfernen , damit '
    "die Darstellung des Bildes in einer anderen Größe beibehalten wird .",
    "wenn Sie alle Aufgaben im aktuellen Dokument aktualisieren möchten , wählen Sie im Menü des "
    'Aufgabenbedienfelds die Option " Alle Aufgaben aktualisieren . "',
    'klicken Sie auf der Registerkarte " Optionen " auf die Schaltfläche " Benutzerdefiniert " '
    'und geben Sie für " '
    'Fehlerkorrektur-Level " und " Y / X-Verhältnis " niedrigere Werte ein .',
    "Sie können beispielsweise ein Dokument erstellen , das ein Auto enthalt , das sich über "
    "die Bühne bewegt .",
    'wählen Sie im Dialogfeld " Neu aus Vorlage " eine Vorlage aus und klicken Sie auf " Neu . "',
]
for hyps, refs, expected in [
    (["aaaa bbbb cccc dddd"], ["aaaa bbbb cccc dddd"], 0),
    (["dddd eeee ffff"], ["aaaa bbbb cccc"], 1),
    ([""], ["a"], 1),
    (["a"], [""], 1),
    ([""], [""], 0),
    (["d e f g h a b c"], ["a b c d e f g h"], 1 / 8),
    (_TER_HYPS, _TER_REFS, 0.136),
]:
    ROWS.append(
        Row("test_ter.py test_ter", tuple(hyps), _streams([refs]), "ter", 100 * expected, 1e-3)
    )

# --- test/test_sentence_bleu.py -------------------------------------------------------------
# BLEU(lowercase, force=False, tokenize, smooth_method, smooth_value, effective_order=True)
# .sentence_score(SYS, [REF]), EPSILON 1e-3 (test_api_sentence_bleu and its zero-BLEU table).
_SB = [
    (
        "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;",
        "producţia de zahăr brut se exprimă în zahăr alb;",
        [
            ("exp", None, False, "13a", 8.493),
            ("none", None, False, "13a", 0.0),
            ("floor", None, False, "13a", 4.51688),
            ("floor", 0.1, False, "13a", 4.51688),
            ("floor", 0.5, False, "13a", 10.10),
            ("add-k", None, False, "13a", 14.882),
            ("add-k", 1, False, "13a", 14.882),
            ("add-k", 2, False, "13a", 21.389),
            ("exp", None, False, "none", 7.347),
            ("exp", None, False, "intl", 8.493),
            ("exp", None, False, "char", 40.8759),
            ("exp", None, True, "char", 42.0267),
        ],
    ),
    (
        "this is a cat",
        "okay thanks",
        [
            ("exp", None, False, "13a", 0.0),
            ("none", None, False, "13a", 0.0),
            ("floor", None, False, "13a", 0.0),
            ("floor", 0.1, False, "13a", 0.0),
            ("add-k", None, False, "13a", 0.0),
            ("add-k", 1, False, "13a", 0.0),
        ],
    ),
]
for sys_line, ref_line, cases in _SB:
    for method, value, lowercase, tok, expected in cases:
        bleu = {
            "lowercase": lowercase,
            "force": False,
            "tokenize": tok,
            "smooth_method": method,
            "effective_order": True,
        }
        if value is not None:
            bleu["smooth_value"] = float(value)
        ROWS.append(
            Row(
                "test_sentence_bleu.py test_api_sentence_bleu",
                (sys_line,),
                ((ref_line,),),
                "bleu",
                expected,
                1e-3,
                level="sentence",
                settings={"bleu": bleu},
            )
        )

# --- test/test_tokenizer_ter.py, as scores --------------------------------------------------
# Its (input, expected tokenisation) pairs under TER settings; scored as hypothesis = input,
# reference = the expected tokenisation, TER must be 0 (no edit once both are tokenised).
TOKENIZER_ROWS = [
    ({}, "a b c d", "a b c d"),
    ({}, "", ""),
    ({}, "a b c d.", "a b c d."),
    ({}, "A B C D.", "a b c d."),
    ({"no_punct": True}, "a b c d.", "a b c d"),
    ({"no_punct": True}, "A ; B ) C : D.", "a b c d"),
    ({"normalized": True}, "a b (c) d.", "a b ( c ) d ."),
    ({"normalized": True}, "Jim's car.", "jim 's car ."),
    ({"normalized": True}, "4.2", "4.2"),
    ({"normalized": True, "asian_support": True}, "美众院公布对特", "美 众 院 公 布 对 特"),
    ({"normalized": True, "asian_support": True}, "りの拳銃を持", "りの 拳 銃 を 持"),
]
for ter, text, tokens in TOKENIZER_ROWS:
    ROWS.append(
        Row(
            "test_tokenizer_ter.py (as TER = 0)",
            (text,),
            ((tokens,),),
            "ter",
            0.0,
            1e-9,
            settings={"ter": ter} if ter else {},
        )
    )


# --------------------------------------------------------------------------- the checks

ROW_IDS = [
    f"{i:02d}-{r.source.split()[1] if ' ' in r.source else r.source}" for i, r in enumerate(ROWS)
]

# summ evaluate flags for each setting: sacrebleu's own flag names.
_FLAGS = {
    ("bleu", "tokenize"): "--tokenize",
    ("bleu", "smooth_method"): "--smooth-method",
    ("bleu", "smooth_value"): "--smooth-value",
    ("bleu", "max_ngram_order"): "--max-ngram-order",
    ("chrf", "char_order"): "--chrf-char-order",
    ("chrf", "word_order"): "--chrf-word-order",
    ("chrf", "beta"): "--chrf-beta",
}
_SWITCHES = {  # boolean settings: (flag when true, flag when false or None for sacrebleu's default)
    ("bleu", "lowercase"): ("--lowercase", None),
    ("bleu", "force"): ("--force", None),
    ("bleu", "effective_order"): ("--effective-order", "--no-effective-order"),
    ("chrf", "eps_smoothing"): ("--chrf-eps-smoothing", None),
    ("chrf", "whitespace"): ("--chrf-whitespace", None),
    ("ter", "normalized"): ("--ter-normalized", None),
    ("ter", "no_punct"): ("--ter-no-punct", None),
    ("ter", "asian_support"): ("--ter-asian-support", None),
}


def cli_flags(settings: dict) -> list[str]:
    flags: list[str] = []
    for table, values in settings.items():
        for key, value in values.items():
            if (table, key) in _SWITCHES:
                on, off = _SWITCHES[(table, key)]
                flag = on if value else off
                if flag:
                    flags.append(flag)
            else:
                flags += [_FLAGS[(table, key)], str(value)]
    return flags


def check(row: Row, value: float, details: dict) -> None:
    if row.details:
        assert {k: details[k] for k in row.details} == row.details
    elif row.tolerance is None:
        assert f"{value:.2f}" == f"{row.expected:.2f}"
    else:
        assert abs(value - row.expected) < row.tolerance, (value, row.expected)


def write_files(folder: Path, row: Row) -> tuple[Path, list[Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    hyp = folder / "hyp.txt"
    hyp.write_text("".join(f"{h}\n" for h in row.hyps), encoding="utf-8")
    refs = []
    for i, stream in enumerate(row.refs):
        ref = folder / f"ref{i}.txt"
        ref.write_text("".join(f"{r}\n" for r in stream), encoding="utf-8")
        refs.append(ref)
    return hyp, refs


def test_the_table_has_the_rows_of_sacrebleus_tests():
    by_file = {}
    for row in ROWS:
        by_file[row.source.split()[0]] = by_file.get(row.source.split()[0], 0) + 1
    assert by_file == {
        "test_bleu.py": 22,
        "test_chrf.py": 25,
        "test_ter.py": 7,
        "test_sentence_bleu.py": 18,
        "test_tokenizer_ter.py": 11,
    }
    # Most rows need a setting summ did not expose before; the count is the point of the table.
    assert sum(1 for r in ROWS if r.settings) == 70


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_row_through_the_api(row):
    refs = [list(s) for s in row.refs]
    (result,) = score(
        list(row.hyps),
        refs if len(refs) > 1 else refs[0],
        [row.metric],
        level=row.level,
        **row.settings,
    )
    check(row, result.score, result.details)


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_row_through_summ_evaluate(row, tmp_path, capsys):
    hyp, refs = write_files(tmp_path, row)
    argv = [
        "evaluate",
        "--hyp",
        str(hyp),
        *(a for r in refs for a in ("--ref", str(r))),
        "--metrics",
        row.metric,
        "--level",
        row.level,
        "--format",
        "json",
        *cli_flags(row.settings),
    ]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    (result,) = data["scores"]
    if row.details:  # the JSON has no BLEU counts: the same file through the library reader
        from summ.data import read_scored_lines

        (found,) = score(
            read_scored_lines(hyp), [read_scored_lines(r) for r in refs], ["bleu"], **row.settings
        )
        assert found.score == result["score"]
        check(row, found.score, found.details)
    else:
        check(row, result["score"], {})


def test_settings_change_the_score_and_show_in_the_signature():
    """The rows would pass vacuously if settings were dropped on the way; they are not."""
    base = score(list(_HYPS), [list(s) for s in _REFS], ["bleu", "chrf", "ter"])
    tuned = score(
        list(_HYPS),
        [list(s) for s in _REFS],
        ["bleu", "chrf", "ter"],
        bleu={"tokenize": "intl", "max_ngram_order": 2},
        chrf={"beta": 3, "whitespace": True},
        ter={"normalized": True, "case_sensitive": True},
    )
    for b, t in zip(base, tuned):
        assert b.score != t.score, b.metric
    assert "tok:intl" in tuned[0].signature and "|maxngram:2|" in tuned[0].signature
    assert "space:yes" in tuned[1].signature and "|beta:3|" in tuned[1].signature
    assert "case:mixed" in tuned[2].signature and "norm:yes" in tuned[2].signature
    # At sacrebleu's defaults the signature is sacrebleu's own, without summ's additions.
    assert "maxngram" not in base[0].signature and "beta" not in base[1].signature


def test_chrf_plus_plus_takes_the_other_chrf_settings_and_keeps_word_order_2():
    (plain, plus) = score(
        list(_HYPS),
        [list(s) for s in _REFS],
        ["chrf", "chrf++"],
        chrf={"beta": 3, "word_order": 1},
    )
    assert plain.details == {"char_order": 6, "word_order": 1, "beta": 3}
    assert plus.details == {"char_order": 6, "word_order": 2, "beta": 3}


def test_explicit_effective_order_wins_over_summs_sentence_rule():
    hyps, refs = ["the cat sat"], ["the cat sat on the mat"]
    assert (
        score(hyps, refs, ["bleu"], level="sentence")[0].score > 0
    )  # summ's rule: on at sentence level
    off = score(hyps, refs, ["bleu"], level="sentence", bleu={"effective_order": False})[0]
    assert off.score == 0.0 and "eff:no" in off.signature


@pytest.mark.parametrize(
    "settings,message",
    [
        (
            {"bleu": {"tokenise": "none"}},
            "unknown bleu setting 'tokenise' (sacrebleu.BLEU takes: lowercase, force, "
            "tokenize, smooth_method, smooth_value, max_ngram_order, effective_order, "
            "trg_lang)",
        ),
        ({"bleu": {"references": [["x"]]}}, "unknown bleu setting 'references'"),
        ({"bleu": {"tokenize": "moses"}}, "bleu.tokenize = 'moses' is not a sacrebleu tokenizer"),
        ({"bleu": {"smooth_method": "laplace"}}, "is not a smoothing method"),
        ({"bleu": {"max_ngram_order": 0}}, "bleu.max_ngram_order must be an integer >= 1"),
        ({"chrf": {"beta": 2.5}}, "chrf.beta must be an integer >= 0"),
        ({"chrf": {"whitespace": "yes"}}, "chrf.whitespace must be true or false"),
        ({"ter": {"normalised": True}}, "unknown ter setting 'normalised'"),
        ({"ter": ["normalized"]}, "ter settings must be a table"),
    ],
)
def test_bad_settings_are_config_errors_naming_the_allowed_keys(settings, message):
    with pytest.raises(ConfigError) as err:
        score(["a b"], ["a b"], ["bleu", "chrf", "ter"], **settings)
    assert message in str(err.value)
    with pytest.raises(ConfigError):
        compare({"a": ["a b"], "b": ["a c"]}, ["a b"], "a", ["bleu"], **settings)


def test_a_misspelt_flag_is_refused_by_the_cli(tmp_path, capsys):
    row = ROWS[0]
    hyp, refs = write_files(tmp_path, row)
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--hyp", str(hyp), "--ref", str(refs[0]), "--tokenize", "moses"])
    assert exc.value.code == 2 and "invalid choice: 'moses'" in capsys.readouterr().err


def test_the_installed_command_takes_sacrebleus_short_flags(tmp_path):
    """One real subprocess (the other CLI rows run main() in-process): -tok, -s, -sv, -cc, -cw."""
    row = next(r for r in ROWS if r.source.endswith("test_corpus_bleu") and r.settings)
    hyp, refs = write_files(tmp_path, row)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "summ",
            "evaluate",
            "--hyp",
            str(hyp),
            *(a for r in refs for a in ("--ref", str(r))),
            "--metrics",
            "bleu",
            "chrf",
            "-tok",
            "none",
            "-s",
            "floor",
            "-sv",
            "0.2",
            "-cc",
            "4",
            "-cw",
            "1",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got = {s["metric"]: s for s in json.loads(proc.stdout)["scores"]}
    want = {
        s.metric: s
        for s in score(
            list(row.hyps),
            [list(s) for s in row.refs],
            ["bleu", "chrf"],
            bleu={"tokenize": "none", "smooth_method": "floor", "smooth_value": 0.2},
            chrf={"char_order": 4, "word_order": 1},
        )
    }
    for m in ("bleu", "chrf"):
        assert got[m]["score"] == want[m].score and got[m]["signature"] == want[m].signature
    assert (
        "tok:none|smooth:floor[0.20]" in got["bleu"]["signature"]
        and "nc:4|nw:1" in got["chrf"]["signature"]
    )


# ------------------------------------------------------------------ significance with settings


def _sacrebleu_cli(*args: str | Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "sacrebleu", *map(str, args), "-w", "4", "-q", "-nc"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**__import__("os").environ, "SACREBLEU_SEED": "12345"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def paired_files(tmp_path_factory, data_dir: Path) -> dict[str, Path]:
    from summ.data import read_lines

    d = tmp_path_factory.mktemp("paired")
    ref = read_lines(data_dir / "ntrex128" / "newstest2019-src.eng.txt")[:150]
    # Lowercased, detokenised-looking variants: tokenize=none and lowercase change their scores.
    variants = {
        "base": [r.lower() if i % 3 == 0 else r for i, r in enumerate(ref)],
        "close": [r.replace(",", " ,") if i % 4 == 0 else r for i, r in enumerate(ref)],
        "worse": [" ".join(r.split()[: max(1, len(r.split()) * 3 // 4)]) for r in ref],
    }
    files = {"ref": d / "ref.txt"}
    files["ref"].write_text("".join(f"{r}\n" for r in ref), encoding="utf-8")
    for name, lines in variants.items():
        files[name] = d / f"{name}.txt"
        files[name].write_text("".join(f"{x}\n" for x in lines), encoding="utf-8")
    return files


@pytest.mark.parametrize("method", ["bs", "ar"])
def test_paired_test_with_settings_equals_sacrebleus_cli_and_summ_evaluate(
    paired_files, method, capsys
):
    from summ.data import read_scored_lines

    names = ["base", "close", "worse"]
    systems = {paired_files[n].name: read_scored_lines(paired_files[n]) for n in names}
    settings = {
        "bleu": {"tokenize": "none", "lowercase": True},
        "chrf": {"beta": 1, "whitespace": True},
    }
    ours = compare(
        systems,
        read_scored_lines(paired_files["ref"]),
        paired_files["base"].name,
        ("bleu", "chrf"),
        method=method,
        n_samples=200,
        seed=12345,
        **settings,
    )
    latex = _sacrebleu_cli(
        paired_files["ref"],
        "-i",
        *(paired_files[n] for n in names),
        "-m",
        "bleu",
        "chrf",
        "-tok",
        "none",
        "-lc",
        "--chrf-beta",
        "1",
        "--chrf-whitespace",
        f"--paired-{method}",
        f"--paired-{method}-n",
        "200",
        "-f",
        "latex",
    )
    rows = {}
    for line in latex.splitlines():
        if "&" in line and "System" not in line:
            cells = [c.strip() for c in line.rstrip("\\ ").split("&")]
            rows[Path(cells[0].removeprefix("Baseline: ")).name] = [
                [float(x) for x in re.findall(r"\d+\.\d+", cell)] for cell in cells[1:]
            ]
    sigs = [
        line.split()[-1]
        for line in latex.splitlines()
        if line.startswith(" - ") and "nrefs:" in line
    ]
    for c in ours:
        col = ("bleu", "chrf").index(c.metric)
        expected = (
            [c.score]
            + ([c.mean, c.ci] if method == "bs" else [])
            + ([c.p_value] if c.p_value is not None else [])
        )
        assert [f"{x:.4f}" for x in expected] == [f"{x:.4f}" for x in rows[c.system][col]], (
            c.system,
            c.metric,
        )
        # sacrebleu names chrF's beta in the score name (chrF1), summ in the signature.
        assert c.signature == (
            sigs[col].replace("|version:", "|beta:1|version:") if c.metric == "chrf" else sigs[col]
        )
    assert "tok:none" in ours[0].signature and "case:lc" in ours[0].signature
    # The same through summ evaluate.
    argv = [
        "evaluate",
        *(a for n in names for a in ("--hyp", str(paired_files[n]))),
        "--ref",
        str(paired_files["ref"]),
        "--metrics",
        "bleu",
        "chrf",
        "--baseline",
        "base",
        "--method",
        method,
        "--n-samples",
        "200",
        "--seed",
        "12345",
        "-tok",
        "none",
        "-lc",
        "--chrf-beta",
        "1",
        "--chrf-whitespace",
        "--format",
        "json",
    ]
    assert main(argv) == 0
    got = json.loads(capsys.readouterr().out)["comparisons"]
    assert [(c["metric"], c["p_value"], c["signature"]) for c in got] == [
        (c.metric, c.p_value, c.signature) for c in ours
    ]
    # And the settings matter here: without them the p-values are not those.
    plain = compare(
        systems,
        read_scored_lines(paired_files["ref"]),
        paired_files["base"].name,
        ("bleu",),
        method=method,
        n_samples=200,
        seed=12345,
    )
    assert [c.score for c in plain] != [c.score for c in ours if c.metric == "bleu"]
