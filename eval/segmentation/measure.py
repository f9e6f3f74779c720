"""Sentence splitting measured against human sentence boundaries.

Each gold document is a list of human sentences (or sentence groups). Its sentences are joined
with single spaces, the splitter cuts the joined text, and every cut is compared with the
places where one gold sentence ends and the next begins:

* a cut at a gold boundary is right (true positive), a cut elsewhere is a *wrong cut* (false
  positive), a gold boundary without a cut is a *miss* (false negative);
* precision, recall and F1 over all boundaries of the corpus, and the share of documents cut
  exactly as the gold is (single-sentence documents count: they are exact when left uncut);
* each wrong cut and miss is sorted into a *kind* read off the text before it (the stop and
  the closers there: ``؛``, an ellipsis, a quotation closed by a stop, a dot after a single
  letter, no stop at all ...), independently of the rules of any splitter.

Gold corpora (paths are arguments: nothing is downloaded, nothing of the gold is committed
apart from the short contexts in the results):

* ``--ntrex DIR``: NTREX-128 (the folder that holds ``ntrex128/``, as ``SUMM_DATA_DIR``),
  read with :func:`summ.data.load_ntrex128` (hashes checked). Each line is one human sentence
  or sentence group, documents come from ``DOCUMENT_IDS.tsv``; both the Arabic and the English
  side are measured.
* ``--ud FILE`` (repeatable): a UD treebank in CoNLL-U, e.g. ``ar_pud-ud-test.conllu`` from
  https://github.com/UniversalDependencies/UD_Arabic-PUD. Sentences are the ``# text =``
  comments (and ``# text_en =``, when every sentence has one, as a second, English corpus).
  Documents are the ``# newdoc`` groups; where every ``# newdoc`` holds a single sentence (PUD
  marks each sentence as a new document) the sentences are grouped by their ``# sent_id``
  without its last three digits, PUD's source-article number (``n01001011`` and
  ``n01001013`` are sentences 11 and 13 of article ``n01001``): the pairs are real sentence
  boundaries, though not always neighbours in the article.

Systems (``--system NAME=SPEC``, repeatable; a bare ``summ`` or ``pysbd`` names itself):

* ``summ``: :func:`summ.segment.split_sentences` as imported (your ``PYTHONPATH``);
* ``git:REV``: ``src/summ/segment.py`` as committed at ``REV`` in this repository, loaded on
  its own (the module imports only the standard library), for before/after comparisons;
* a path to a ``segment.py``-like file with a ``split_sentences(line)`` function;
* ``pysbd``: pySBD's ``Segmenter(language="ar"|"en", clean=False)``, if installed.

Usage, from the repository root (the command behind the committed results)::

    python eval/segmentation/measure.py --ntrex "$SUMM_DATA_DIR" \\
        --ud /path/to/UD_Arabic-PUD/ar_pud-ud-test.conllu \\
        --system before=git:0bb4a4d --system summ --system pysbd

It writes ``results.json`` (every count, every kind, up to ``MAX_EXAMPLES`` contexts per
kind) and ``results.md`` (the same as tables) into ``--out`` (default: beside this script),
and prints the summary table.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from summ.data import load_ntrex128, sha256_file
from summ.errors import InputError, SummError, require
from summ.segment import normalise

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# Contexts kept per kind of error, in the JSON and the Markdown: enough to see the pattern,
# short enough that the results never become a copy of the treebank.
MAX_EXAMPLES = 8
# Characters of context kept on each side of a boundary.
CONTEXT = 32

# The boundary kinds are read with these, not with any splitter's own tables, so that a rule
# change shows up as a change in the counts rather than in the categories.
_STOPS = ".!?؟؛…"
_CLOSERS = "»\"”’')]›"
_QUOTES = "»\"”’'›"
_OPENERS = "«\"“‘'([‹"
_INITIALS_RE = re.compile(r"(?:[^\W\d_]\.)*[^\W\d_]")

Splitter = Callable[[str], list[str]]


# --------------------------------------------------------------------------------------------
# Gold
# --------------------------------------------------------------------------------------------


@dataclass
class Gold:
    """One gold corpus: documents as lists of normalised human sentences."""

    name: str
    lang: str
    documents: list[list[str]]
    source: str
    grouping: str
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256


def _clean(sentence: str, where: str) -> str:
    text = normalise(sentence)
    if not text or "\n" in text:
        raise InputError(f"{where}: gold sentence is empty or spans lines after normalise()")
    return text


def load_ntrex(root: Path) -> list[Gold]:
    """NTREX-128's Arabic and English sides, one document per id, one sentence per line."""
    corpus = load_ntrex128(root)
    files = {Path(p).name: corpus.hashes[p] for p in corpus.files.values()}
    golds = []
    for lang, lines, path in (
        ("ar", corpus.src, corpus.files["src"]),
        ("en", corpus.refs[0], corpus.files["ref1"]),
    ):
        documents = [
            [_clean(lines[i], f"{path}:{i + 1}") for i in indices]
            for _, indices in corpus.documents()
        ]
        golds.append(
            Gold(f"ntrex128-{lang}", lang, documents, "NTREX-128 (newstest2019)",
                 "DOCUMENT_IDS.tsv; one line = one human sentence or sentence group", files)
        )  # fmt: skip
    return golds


@dataclass
class _UDSentence:
    line: int
    newdoc: int
    sent_id: str = ""
    text: str | None = None
    text_en: str | None = None


def load_ud(path: Path) -> list[Gold]:
    """A CoNLL-U file's ``# text`` (and ``# text_en``) sentences, grouped into documents."""
    if not path.is_file():
        raise InputError(
            f"{path}: no such file; give a CoNLL-U file, e.g. ar_pud-ud-test.conllu from "
            "https://github.com/UniversalDependencies/UD_Arabic-PUD"
        )
    sentences: list[_UDSentence] = []
    newdoc = -1
    current: _UDSentence | None = None
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\n")
            if not line.strip():
                current = None
                continue
            if current is None:
                if line.startswith("# newdoc"):
                    newdoc += 1
                    continue
                current = _UDSentence(number, max(newdoc, 0))
                sentences.append(current)
            for key in ("sent_id", "text", "text_en"):
                if line.startswith(f"# {key} = "):
                    setattr(current, key, line[len(f"# {key} = ") :])
    missing = [s.line for s in sentences if s.text is None]
    if missing or not sentences:
        raise InputError(
            f"{path}:{missing[0] if missing else 1}: a sentence without '# text = ' "
            "(or no sentences at all); measure.py needs UD files with text comments"
        )
    by_newdoc = Counter(s.newdoc for s in sentences)
    if max(by_newdoc.values()) > 1:
        keys = [str(s.newdoc) for s in sentences]
        grouping = "# newdoc"
    else:
        if any(len(s.sent_id) <= 3 for s in sentences):
            raise InputError(f"{path}: one sentence per # newdoc and no sent_id to group by")
        keys = [s.sent_id[:-3] for s in sentences]
        grouping = "# sent_id without its last three digits (every # newdoc holds one sentence)"
    groups: dict[str, list[_UDSentence]] = defaultdict(list)
    for key, sentence in zip(keys, sentences, strict=True):
        groups[key].append(sentence)
    files = {path.name: sha256_file(path)}
    name = path.name.removesuffix(".conllu")
    golds = [
        Gold(name, "ar", [[_clean(s.text or "", f"{path}:{s.line}") for s in g]
                          for g in groups.values()], f"UD {path.name}", grouping, files)
    ]  # fmt: skip
    if all(s.text_en for s in sentences):
        golds.append(
            Gold(f"{name}-en", "en", [[_clean(s.text_en or "", f"{path}:{s.line}") for s in g]
                                      for g in groups.values()],
                 f"UD {path.name} (# text_en)", grouping, files)
        )  # fmt: skip
    return golds


# --------------------------------------------------------------------------------------------
# Systems
# --------------------------------------------------------------------------------------------


@dataclass
class System:
    name: str
    spec: str
    split: Callable[[str, str], list[str]]  # (text, lang) -> sentences
    version: str


def _module_from_file(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InputError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses in the module look themselves up here
    spec.loader.exec_module(module)
    if not hasattr(module, "split_sentences"):
        raise InputError(f"{path}: has no split_sentences(line) function")
    return module


def load_system(argument: str, workdir: Path) -> System:
    """``NAME=SPEC`` or a bare ``summ``/``pysbd`` (see the module docstring)."""
    name, _, spec = argument.partition("=")
    spec = spec or name
    if spec == "summ":
        import summ.segment as module

        source = Path(module.__file__)
        return System(name, spec, lambda t, _: module.split_sentences(t),
                      f"{source.relative_to(REPO) if source.is_relative_to(REPO) else source} "
                      f"sha256 {sha256_file(source)[:12]}")  # fmt: skip
    if spec == "pysbd":
        pysbd = require("pysbd", "pysbd")
        segmenters = {lang: pysbd.Segmenter(language=lang, clean=False) for lang in ("ar", "en")}
        return System(name, spec, lambda t, lang: segmenters[lang].segment(t),
                      f"pysbd {importlib.metadata.version('pysbd')}")  # fmt: skip
    if spec.startswith("git:"):
        revision = spec[len("git:") :]
        shown = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{revision}:src/summ/segment.py"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if shown.returncode != 0:
            raise InputError(f"git show {revision}:src/summ/segment.py: {shown.stderr.strip()}")
        safe = re.sub(r"\W", "_", revision)
        path = workdir / f"segment_{safe}.py"
        path.write_text(shown.stdout, encoding="utf-8")
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short=12", revision],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        version = f"src/summ/segment.py at {commit}"
    else:
        path = Path(spec)
        version = f"{path} sha256 {sha256_file(path)[:12]}"
    module = _module_from_file(path, f"_measured_segment_{len(sys.modules)}")
    return System(name, spec, lambda t, _: module.split_sentences(t), version)


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def gold_boundaries(sentences: Sequence[str]) -> tuple[str, set[int]]:
    """The document text and the offsets of the spaces that join its gold sentences."""
    text = " ".join(sentences)
    boundaries, offset = set(), 0
    for sentence in sentences[:-1]:
        offset += len(sentence)
        boundaries.add(offset)
        offset += 1
    return text, boundaries


def predicted_boundaries(text: str, sentences: Sequence[str]) -> set[int]:
    """Where each predicted sentence but the last ends, found in ``text`` in order.

    Raises:
        ValueError: if the sentences are not the text in order (a splitter lost or changed
            characters), since a boundary could then not be placed.
    """
    ends, cursor = [], 0
    for sentence in sentences:
        piece = sentence.strip()
        if not piece:
            continue
        start = text.find(piece, cursor)
        if start < 0 or text[cursor:start].strip():
            raise ValueError(f"splitter output is not the input in order near {piece[:40]!r}")
        cursor = start + len(piece)
        ends.append(cursor)
    if text[cursor:].strip():
        raise ValueError(f"splitter dropped the end of the text: {text[cursor:][:40]!r}")
    return set(ends[:-1])


def boundary_kind(text: str, offset: int) -> str:
    """What the text before ``offset`` ends with: the stop and closers, read independently."""
    before = text[:offset].rstrip()
    core = before.rstrip(_CLOSERS)
    closers = before[len(core) :]
    head = core.rstrip(_STOPS)
    stop = core[len(head) :]
    if not stop:
        return "no stop (headline, list item, ':' ...)"
    if "؛" in stop:
        return "semicolon ؛"
    if set(stop) <= set(".…") and (stop.count(".") >= 2 or "…" in stop):
        return "ellipsis ... …"
    if any(q in closers for q in _QUOTES):
        return "quotation closed by a stop"
    words = head.split()
    word = words[-1].lstrip(_OPENERS) if words and not head.endswith(" ") else ""
    if stop == "." and _INITIALS_RE.fullmatch(word):
        return "dot after a single letter or initials"
    if stop == ".":
        return "full stop"
    if set(stop) <= set("?؟"):
        return "question mark"
    if set(stop) <= set("!"):
        return "exclamation mark"
    return "other stop run"


def context(text: str, offset: int) -> str:
    left = text[max(0, offset - CONTEXT) : offset]
    right = text[offset : offset + CONTEXT + 1].strip()
    return f"{'…' if offset > CONTEXT else ''}{left} ‖ {right}…"


def measure(gold: Gold, split: Splitter) -> dict:
    """Boundary counts, P/R/F1, exact documents and the errors by kind, for one corpus."""
    tp = fp = fn = exact = cuts = 0
    right: Counter[str] = Counter()
    errors: dict[str, dict[str, list[str]]] = {"wrong_cuts": defaultdict(list),
                                               "misses": defaultdict(list)}  # fmt: skip
    for sentences in gold.documents:
        text, truth = gold_boundaries(sentences)
        predicted = predicted_boundaries(text, split(text))
        tp += len(predicted & truth)
        fp += len(predicted - truth)
        fn += len(truth - predicted)
        cuts += len(predicted)
        exact += predicted == truth
        right.update(boundary_kind(text, offset) for offset in predicted & truth)
        for label, offsets in (("wrong_cuts", predicted - truth), ("misses", truth - predicted)):
            for offset in sorted(offsets):
                errors[label][boundary_kind(text, offset)].append(context(text, offset))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "documents": len(gold.documents),
        "sentences": sum(len(d) for d in gold.documents),
        "gold_boundaries": tp + fn,
        "cuts": cuts,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "exact_documents": exact,
        "exact_share": round(exact / len(gold.documents), 4),
        "right_cuts": {kind: {"count": n} for kind, n in right.most_common()},
        **{
            label: {
                kind: {"count": len(found), "examples": found[:MAX_EXAMPLES]}
                for kind, found in sorted(by_kind.items(), key=lambda kv: -len(kv[1]))
            }
            for label, by_kind in errors.items()
        },
    }


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def render_markdown(results: dict) -> str:
    """The results as Markdown: one summary table, then the errors by kind per corpus."""
    out = [
        "# Sentence splitting against human sentence boundaries",
        "",
        "Written by `eval/segmentation/measure.py` (do not edit by hand); command:",
        "",
        f"    {results['command']}",
        "",
        "A document's gold sentences are joined with spaces and split again; a *wrong cut* is a",
        "cut inside a gold sentence, a *miss* a gold boundary left uncut. Kinds are read off",
        "the text before the boundary. NTREX-128 lines are sentence *groups* (a line can hold",
        "two sentences of the English original), so some wrong cuts there are real sentence",
        "ends; misses of kind *no stop* are headlines and list items without punctuation,",
        "which no punctuation-based splitter can find.",
        "",
        "## Gold",
        "",
        "| corpus | source | documents | sentences | grouping | files (sha256) |",
        "|---|---|---:|---:|---|---|",
    ]
    for name, gold in results["gold"].items():
        files = ", ".join(f"`{f}` {h[:12]}" for f, h in gold["files"].items())
        out.append(f"| {name} | {gold['source']} | {gold['documents']} | {gold['sentences']} "
                   f"| {gold['grouping']} | {files} |")  # fmt: skip
    out += ["", "## Systems", ""]
    out += [f"* `{name}`: {s['version']}" for name, s in results["systems"].items()]
    out += [
        "",
        "## Boundaries",
        "",
        (
            "| corpus | system | gold boundaries | cuts | right | wrong cuts | misses "
            "| P | R | F1 | exact documents |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for corpus in results["gold"]:
        for name, system in results["systems"].items():
            m = system["corpora"][corpus]
            out.append(
                f"| {corpus} | {name} | {m['gold_boundaries']} | {m['cuts']} | {m['tp']} "
                f"| {m['fp']} | {m['fn']} | {m['precision']:.4f} | {m['recall']:.4f} "
                f"| {m['f1']:.4f} | {m['exact_documents']}/{m['documents']} "
                f"({m['exact_share']:.1%}) |"
            )
    for corpus in results["gold"]:
        out += ["", f"## Cuts and misses by kind: {corpus}", ""]
        for label, title in (("right_cuts", "Right cuts"), ("wrong_cuts", "Wrong cuts"),
                             ("misses", "Misses")):  # fmt: skip
            kinds = sorted({k for s in results["systems"].values()
                            for k in s["corpora"][corpus][label]})  # fmt: skip
            names = list(results["systems"])
            out += [f"{title}:", "", "| kind | " + " | ".join(names) + " |",
                    "|---|" + "---:|" * len(names)]  # fmt: skip
            for kind in kinds:
                counts = [str(s["corpora"][corpus][label].get(kind, {}).get("count", 0))
                          for s in results["systems"].values()]  # fmt: skip
                out.append(f"| {kind} | " + " | ".join(counts) + " |")
            out.append("")
        for name, system in results["systems"].items():
            m = system["corpora"][corpus]
            for label, title in (("wrong_cuts", "wrong cuts"), ("misses", "misses")):
                if not m[label]:
                    continue
                count = m["fp"] if label == "wrong_cuts" else m["fn"]
                summary = f"{name}: {title} ({count}), up to {MAX_EXAMPLES} contexts per kind"
                out += [f"<details><summary>{summary}</summary>", ""]
                for kind, found in m[label].items():
                    out.append(f"* **{kind}** ({found['count']})")
                    out += [f"  * `{example}`" for example in found["examples"]]
                out += ["", "</details>", ""]
    return "\n".join(out).rstrip() + "\n"


def build_results(golds: Sequence[Gold], systems: Sequence[System], command: str) -> dict:
    """Every system measured on every gold corpus, with what was measured and how."""
    gold = {
        g.name: {
            "source": g.source,
            "lang": g.lang,
            "documents": len(g.documents),
            "sentences": sum(map(len, g.documents)),
            "grouping": g.grouping,
            "files": g.files,
        }
        for g in golds
    }
    measured = {}
    for system in systems:
        corpora = {}
        for g in golds:
            split = system.split
            corpora[g.name] = measure(g, lambda text, lang=g.lang, split=split: split(text, lang))
        measured[system.name] = {"spec": system.spec, "version": system.version, "corpora": corpora}
    return {"command": command, "gold": gold, "systems": measured}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ntrex", type=Path, help="folder that holds ntrex128/")
    parser.add_argument("--ud", type=Path, action="append", default=[], help="a .conllu file")
    parser.add_argument("--system", action="append", help="NAME=SPEC, summ or pysbd")
    parser.add_argument("--out", type=Path, default=HERE, help="where results.* go")
    args = parser.parse_args(argv)
    if args.ntrex is None and not args.ud:
        parser.error("give --ntrex and/or --ud: there is no gold to measure against")
    golds = (load_ntrex(args.ntrex) if args.ntrex else []) + [
        g for path in args.ud for g in load_ud(path)
    ]
    typed = argv if argv is not None else sys.argv[1:]
    command = "python eval/segmentation/measure.py " + " ".join(map(_portable, typed))
    with tempfile.TemporaryDirectory() as workdir:
        systems = [load_system(s, Path(workdir)) for s in (args.system or ["summ"])]
        results = build_results(golds, systems, command)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    markdown = render_markdown(results)
    (args.out / "results.md").write_text(markdown, encoding="utf-8")
    table = markdown.split("## Boundaries\n\n", 1)[1].split("\n\n", 1)[0]
    print(table)
    return 0


def _portable(argument: str) -> str:
    """Arguments as typed, but an absolute path as ``…/NAME``: where the gold lies is local."""
    path = Path(argument)
    return f"…/{path.name}" if path.is_absolute() else argument


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SummError as error:  # one line naming the file and the fix, as the summ CLI does
        print(f"error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
