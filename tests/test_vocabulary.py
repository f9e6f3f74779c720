"""The target-script vocabulary: the rule on real piece conventions, and the option end to end.

The rule's expected answers below are written by hand (they are the specification); the checks
on the tiny models' real vocabularies use an oracle of their own (Unicode character *names*:
``ARABIC LETTER ...``, ``LATIN SMALL LETTER ...``), not the Script_Extensions data the rule
reads. Engine equivalence (HF == CTranslate2 under target-script) is in ``test_ct2.py``.
"""

from __future__ import annotations

import io
import json
import unicodedata

import pytest

from summ.cli import main
from summ.engines.vocab import (
    RULE_VERSION,
    TARGET_SCRIPTS,
    build_target_vocabulary,
    check_tokenizer,
    keeps,
    read_vmap,
    tokenizer_specials,
    vmap_text,
)
from summ.errors import ConfigError

from .conftest import ROOT

EN = TARGET_SCRIPTS["en"]
TRANSLATION_FAMILIES = ("marian", "m2m100", "nllb", "t5")

# (token, kept for an English output), as the real tokenizers spell their pieces.
RULE_TABLE = [
    ("▁the", True),
    ("▁", True),
    ("s", True),
    (".", True),
    ("▁2019", True),
    ("▁,", True),
    ("▁naïve", True),
    ("é", True),
    ("ß", True),
    ("▁Łódź", True),
    ("ø", True),
    ("Ö", True),
    ("e\u0301", True),  # e + combining acute accent (Inherited)
    ("“", True),
    ("—", True),
    ("€", True),
    ("%", True),
    ("©", True),
    ("½", True),
    ("▁$", True),
    ("▁ال", False),
    ("ة", False),
    ("▁الم", False),
    ("▁the،", False),
    ("٣", False),
    ("،", False),
    ("؟", False),
    ("ـ", False),
    ("▁Москва", False),
    ("中", False),
    ("。", False),
    ("ﷲ", False),
    # Language tokens and specials (kept by the letter rule even without the specials list).
    ("eng_Latn", True),
    ("__en__", True),
    ("<2en>", True),
    ("</s>", True),
    ("<unk>", True),
    ("<pad>", True),
    # Byte-fallback pieces: by the UTF-8 bytes of allowed characters.
    ("<0x41>", True),
    ("<0x0A>", True),
    ("<0x20>", True),
    ("<0xC3>", True),
    ("<0xA9>", True),  # é = C3 A9
    ("<0xC5>", True),  # ł = C5 82
    ("<0xE2>", True),  # “ — € = E2 80 9C / E2 80 94 / E2 82 AC
    ("<0xD0>", False),
    ("<0xD1>", False),  # Cyrillic letters only
    ("<0xE5>", False),
    ("<0xE9>", False),  # CJK ideographs only
    ("<0xD9>", False),
    ("<0xDA>", False),  # Arabic letters only (U+0640-U+06BF)
    ("<0xF8>", False),
    ("<0xFF>", False),  # never in UTF-8
    ("a b", False),
    ("", False),
    (None, True),
]


@pytest.mark.parametrize(("token", "kept"), RULE_TABLE)
def test_rule_table(token, kept):
    assert keeps(token, EN) is kept


def test_specials_are_kept_whatever_their_text():
    assert not keeps("<ع>", EN) and keeps("<ع>", EN, specials={"<ع>"})


def test_byte_pieces_of_a_real_byte_fallback_model():
    """A SentencePiece model trained with byte_fallback (MADLAD's convention) spells bytes
    as <0xNN>; the bytes of é are kept, those that only begin Cyrillic or CJK letters are not."""
    import sentencepiece as spm

    from summ.testing import corpus_lines

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus_lines()),
        model_writer=buf,
        vocab_size=600,
        model_type="unigram",
        byte_fallback=True,
        character_coverage=1.0,
        hard_vocab_limit=False,
        num_threads=1,
        minloglevel=2,
    )
    proc = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    pieces = [proc.id_to_piece(i) for i in range(proc.get_piece_size())]
    assert {f"<0x{b:02X}>" for b in range(256)} <= set(pieces)
    vocab = build_target_vocabulary(pieces, "en")
    kept = {pieces[i] for i in vocab.ids}
    for byte in "é".encode() + b"A":
        assert f"<0x{byte:02X}>" in kept
    for byte in ("ж".encode()[0], "字".encode()[0], "ك".encode()[0]):
        assert f"<0x{byte:02X}>" not in kept
    # Decoding the kept bytes of é gives é back: the pieces really are byte-fallback pieces.
    assert proc.decode_ids([proc.piece_to_id(f"<0x{b:02X}>") for b in "é".encode()]) == "é"


def _script(token: str) -> str:
    """An oracle by character names: 'arabic' if any Arabic letter, 'latin' if every letter is
    a Latin one and every other character is ASCII, SentencePiece's ▁ or Latin-1 punctuation."""
    letters = [c for c in token if unicodedata.category(c).startswith("L")]
    if any(unicodedata.name(c, "").startswith("ARABIC") for c in letters):
        return "arabic"
    others = [c for c in token if c not in letters]
    if all("LATIN" in unicodedata.name(c, "") for c in letters) and all(
        c.isascii() or c == "▁" or unicodedata.category(c)[0] in "PS" and ord(c) < 0x100
        for c in others
    ):
        return "latin"
    return "other"


@pytest.mark.parametrize("family", TRANSLATION_FAMILIES)
def test_real_tiny_vocabularies(family, tiny_models):
    """Every Latin/digit/punctuation piece is kept and no Arabic one, on the tokenizers the
    tiny models ship (both scripts, their own special and language tokens, Marian's layout)."""
    from transformers import AutoConfig, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_models[family])
    size = AutoConfig.from_pretrained(tiny_models[family]).vocab_size
    tokens = tok.convert_ids_to_tokens(list(range(size)))
    vocab = build_target_vocabulary(tokens, "en", tokenizer_specials(tok))
    kept = set(vocab.ids)
    by_script: dict[str, list[int]] = {"arabic": [], "latin": [], "other": []}
    for i, t in enumerate(tokens):
        if t is not None:
            by_script[_script(t)].append(i)
    assert (
        len(by_script["arabic"]) >= 100 and len(by_script["latin"]) >= 100
    )  # both scripts present
    assert not kept & set(by_script["arabic"])
    assert set(by_script["latin"]) <= kept
    musts = {
        "marian": ["</s>", "<unk>", "<pad>"],
        "m2m100": ["</s>", "<unk>", "<pad>", "__en__", "__ar__"],
        "nllb": ["</s>", "<unk>", "<pad>", "eng_Latn", "arb_Arab"],
        "t5": ["</s>", "<unk>", "<pad>", "<2en>"],
    }
    ids = tok.convert_tokens_to_ids(musts[family])
    assert all(i in kept for i in ids), [t for t, i in zip(musts[family], ids) if i not in kept]
    if family == "marian":  # opus-mt layout: </s>=0, <unk>=1, ..., <pad> last
        assert tokens[0] == "</s>" and tokens[1] == "<unk>" and tokens[-1] == "<pad>"
        assert {0, 1, size - 1} <= kept


def test_map_text_round_trips(tiny_models):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_models["nllb"])
    tokens = tok.convert_ids_to_tokens(list(range(len(tok))))
    vocab = build_target_vocabulary(tokens, "en", tokenizer_specials(tok))
    text = vmap_text(tokens, vocab)
    assert (
        text.startswith("\t") and text.count("\n") == 1
    )  # one line, empty source: always candidates
    again = read_vmap(text, {t: i for i, t in enumerate(tokens)}, "en")
    assert again.ids == vocab.ids and again.digest == vocab.digest
    with pytest.raises(ConfigError, match="not a target-script map"):
        read_vmap("▁a\t▁b\n", {"▁a": 0, "▁b": 1}, "en")
    settings = vocab.settings()
    assert (
        settings["vocabulary"] == "target-script" and settings["vocabulary_rule"] == RULE_VERSION
    )
    assert settings["vocabulary_kept"] == len(vocab.ids) < len(tokens)


def test_unknown_target_language_and_byte_level_tokenizers_are_refused(tiny_models):
    from transformers import AutoTokenizer

    with pytest.raises(ConfigError, match="no script rule for target language 'ar'"):
        build_target_vocabulary(["▁a"], "ar")
    with pytest.raises(ConfigError, match="byte-level BPE"):
        check_tokenizer(AutoTokenizer.from_pretrained(tiny_models["bart"]), "bart")
    check_tokenizer(
        AutoTokenizer.from_pretrained(tiny_models["nllb"]), "nllb"
    )  # SentencePiece: accepted


# --------------------------------------------------------------------------------------
# The option through summ translate, load_translator and summ run.
# --------------------------------------------------------------------------------------


def _has_arabic(text: str) -> bool:
    return any(unicodedata.name(c, "").startswith("ARABIC") for c in text)


@pytest.fixture()
def sources(ntrex_dir, tmp_path):
    path = tmp_path / "in.txt"
    lines = (ntrex_dir / "newstest2019-ref.arb.txt").read_text(encoding="utf-8").splitlines()[:6]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("family", ["marian", "m2m100", "nllb"])
@pytest.mark.parametrize("engine", ["ct2", "hf"])
def test_summ_translate_target_script(
    family, engine, tiny_models, sources, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("SUMM_CT2_CACHE", str(tmp_path / "ct2"))
    outs = {}
    for vocabulary in ("full", "target-script"):
        out = tmp_path / f"{vocabulary}.txt"
        code = main(
            [
                "translate",
                str(sources),
                "--model",
                str(tiny_models[family]),
                "--engine",
                engine,
                "--vocabulary",
                vocabulary,
                "--beam",
                "1",
                "--no-cache",
                "--no-progress",
                "-o",
                str(out),
            ]
        )
        assert code == 0, capsys.readouterr().err
        outs[vocabulary] = out.read_text(encoding="utf-8").splitlines()
    assert len(outs["target-script"]) == len(outs["full"]) == 6
    assert all(line.strip() for line in outs["target-script"])
    assert not any(_has_arabic(line) for line in outs["target-script"])
    if family in (
        "marian",
        "m2m100",
    ):  # these tiny models write Arabic pieces with the full vocabulary
        assert any(_has_arabic(line) for line in outs["full"])


def test_summ_translate_rejects_an_unknown_vocabulary(tiny_models, sources, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "translate",
                str(sources),
                "--model",
                str(tiny_models["marian"]),
                "--vocabulary",
                "latin",
            ]
        )
    assert exit_.value.code == 2 and "--vocabulary" in capsys.readouterr().err


def test_load_translator_names_the_vocabulary_in_the_cache_key(
    tiny_models, tmp_path, arabic_lines
):
    """Both settings share one cache file without serving each other's outputs."""
    from summ.engines.base import DecodeConfig
    from summ.translate import load_translator

    decode = DecodeConfig(beam_size=1, max_new_tokens=8)
    cache = str(tmp_path / "cache.sqlite")
    common = dict(decode=decode, cache=cache, cache_dir=tmp_path / "ct2", compute_type="float32")
    full = load_translator(str(tiny_models["marian"]), "ct2", **common)
    ts = load_translator(str(tiny_models["marian"]), "ct2", vocabulary="target-script", **common)
    assert ts.engine.folder != full.engine.folder and (ts.engine.folder / "vmap.txt").is_file()
    key_full, key_ts = full._key_parts()["settings"], ts._key_parts()["settings"]
    assert key_full["vocabulary"] == "full" and key_ts["vocabulary"] == "target-script"
    assert key_ts["vocabulary_rule"] == RULE_VERSION and key_ts["vocabulary_kept"] == len(
        ts.engine.target_vocabulary.ids
    )
    first = full.translate_segments(arabic_lines)
    second = ts.translate_segments(arabic_lines)
    assert (
        first.stats.translated > 0 and second.stats.cache_hits == 0
    )  # not served from full's entries
    assert ts.translate_segments(arabic_lines).stats.cache_hits == second.stats.translated
    hf = load_translator(
        str(tiny_models["marian"]), "hf", decode=decode, vocabulary="target-script"
    )
    assert hf.engine.settings()["vocabulary_rule"] == RULE_VERSION
    with pytest.raises(ConfigError, match="unknown vocabulary"):
        load_translator(str(tiny_models["marian"]), "hf", decode=decode, vocabulary="latin")


@pytest.fixture()
def arabic_lines(ntrex_dir) -> list[str]:
    return (ntrex_dir / "newstest2019-ref.arb.txt").read_text(encoding="utf-8").splitlines()[:5]


def test_config_option_reaches_the_manifest(tiny_models, data_dir, tmp_path, monkeypatch):
    from summ.config import load_config
    from summ.experiment import run_experiment

    monkeypatch.setenv("SUMM_TINY_MODELS", str(tiny_models["marian"].parent))
    monkeypatch.setenv("SUMM_CT2_CACHE", str(tmp_path / "ct2"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    body = """
baseline = "full"
levels = ["corpus"]
[defaults.decode]
beam_size = 1
max_new_tokens = 4
[[systems]]
name = "full"
model = "tiny:marian"
engine = "ct2"
[[systems]]
name = "latin"
model = "tiny:marian"
engine = "ct2"
options = { vocabulary = "VOCAB" }
[[datasets]]
type = "ntrex128"
documents = 1
"""
    bad = tmp_path / "bad.toml"
    bad.write_text(body.replace("VOCAB", "latin-only"), encoding="utf-8")
    with pytest.raises(ConfigError, match="options.vocabulary must be one of full, target-script"):
        load_config(bad)
    good = tmp_path / "good.toml"
    good.write_text(body.replace("VOCAB", "target-script"), encoding="utf-8")
    result = run_experiment(good, output=tmp_path / "out", report=False)
    assert result.ok == ("full", "latin")
    manifest = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    settings = manifest["systems"]["latin"]["settings"]
    assert (
        settings["vocabulary"] == "target-script" and settings["vocabulary_rule"] == RULE_VERSION
    )
    assert manifest["systems"]["full"]["settings"]["vocabulary"] == "full"


# --------------------------------------------------------------------------------------
# The benchmark's planning and its synthetic vocabularies (eval/bench/bench_translate.py).
# --------------------------------------------------------------------------------------

BENCH = ROOT / "eval" / "bench" / "bench_translate.py"


def _bench():
    import importlib.util
    import sys

    if "bench_translate" in sys.modules:
        return sys.modules["bench_translate"]
    spec = importlib.util.spec_from_file_location("bench_translate", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_benchmark_fillers_have_the_planned_script_mix():
    """Every filler letter is of its script: the rule keeps just the Latin share of the fillers."""
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    bench = _bench()
    mix = bench.nllb_script_mix(list(FAIRSEQ_LANGUAGE_CODES))
    assert set(mix) <= set(bench.SCRIPT_LETTERS) and mix["Latn"] == pytest.approx(126 / 202)
    vocab = bench._pad_vocab({"<s>": 0, "▁the": 1}, 20_002, mix)
    fillers = list(vocab)[2:]
    assert len(fillers) == 20_000 and len(set(vocab.values())) == len(vocab) == 20_002
    assert (
        abs(sum(keeps(t, EN) for t in fillers) - 20_000 * mix["Latn"]) <= 1
    )  # largest-remainder rounding
    for script, letter in bench.SCRIPT_LETTERS.items():
        assert keeps(f"▁{letter}1", EN) is (script == "Latn"), script
    # Specials are not pieces.
    assert bench.latin_share(["▁the", "▁ال", "s", "ة", "<unk>"]) == 0.5


def test_benchmark_plans_list_the_new_rows():
    """--dry-run plans what the GPU command and the CPU runs would time, running nothing."""
    import subprocess
    import sys

    def dry(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, str(BENCH), *args, "--dry-run"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    gpu = dry("--gpu")
    for arch in ("opus-mt-ar-en", "nllb-600M"):
        block = gpu.split(f"{arch}:", 1)[1].split("nllb-600M:", 1)[0]
        together = [
            line.split("together", 1)[1].strip()
            for line in block.splitlines()
            if "together" in line
        ]
        assert together == [
            f"{e}{v}"
            for e in (
                "hf-cuda:float16",
                "hf-cuda:bfloat16",
                "ct2-cuda:float16",
                "ct2-cuda:int8_float16",
            )
            for v in ("", " +target-script")
        ]
        assert "greedy" in block and "beam4" in block
    quick = dry("--quick")
    assert (
        "together  ct2:int8 +target-script" in quick
        and "alone     ct2:int8 +target-script" in quick
    )
    assert "nllb-600M" not in quick and "int8/target-script on cpu" in quick
    full = dry()
    for row in (
        "ct2:int8 1x2 +target-script",
        "hf:float32 +target-script sliced",
        "ct2:float32 +target-script",
    ):
        assert row in full
    assert full.count("greedy size:64") >= 1 and "nllb-600M" in full
