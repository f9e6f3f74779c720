"""The prompts causal language models get: named, versioned templates in one table.

A prompt's name, version and text are part of every cache key (through the engine's
``settings()``) and run manifest, so a changed wording never returns outputs cached under the
old one. Change a template's text only together with its version.

Placeholders (``str.format`` syntax): ``{source}`` (required), ``{src_name}`` and
``{tgt_name}`` (English language names, "Arabic"), ``{lines}`` (non-empty lines of the
source, document-level translation) and ``{sentences}`` (summary length).

``format`` says how the filled text reaches the model: ``chat`` as the one user message of
its chat template (``tokenizer.apply_chat_template``, generation prompt added), ``plain`` as
raw text after the special tokens (models trained on a fixed prompt, such as GemmaX2-28).

``prompt = "NAME"`` picks a row of :data:`PROMPTS`; ``prompt = "text with {source}"`` is a
custom template (named ``custom``, versioned by a hash of its text).
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import asdict, dataclass, field, replace
from pathlib import PurePath

from summ.errors import ConfigError

#: English names of the languages a prompt can mention (LLMs are prompted in English).
LANGUAGE_NAMES: dict[str, str] = {"ar": "Arabic", "en": "English", "fr": "French"}

#: The placeholders a template may contain.
PLACEHOLDERS: tuple[str, ...] = ("source", "src_name", "tgt_name", "lines", "sentences")

FORMATS: tuple[str, ...] = ("chat", "plain")
TASKS: tuple[str, ...] = ("translate", "document", "summarise")


@dataclass(frozen=True)
class Prompt:
    """One prompt template.

    Attributes:
        name: its key in :data:`PROMPTS` (``custom`` for a user's text).
        version: bumped whenever ``text`` changes (part of the cache key).
        task: ``translate`` (one segment), ``document`` (several lines, one per output line)
            or ``summarise``.
        format: ``chat`` (the model's chat template) or ``plain`` (raw text).
        values: fixed placeholder values (``sentences`` for summaries), bound by :meth:`bind`.
    """

    name: str
    version: int | str
    task: str
    format: str
    text: str
    values: tuple[tuple[str, int | str], ...] = field(default=())

    def __post_init__(self) -> None:
        problems = []
        fields = [f for _, f, _, _ in string.Formatter().parse(self.text) if f is not None]
        if "source" not in fields:
            problems.append("it has no {source} placeholder")
        unknown = sorted(set(fields) - set(PLACEHOLDERS))
        if unknown:
            problems.append(
                f"unknown placeholder(s) {', '.join(unknown)} (allowed: {', '.join(PLACEHOLDERS)})"
            )
        if self.format not in FORMATS:
            problems.append(f"format {self.format!r} is not one of {', '.join(FORMATS)}")
        if self.task not in TASKS:
            problems.append(f"task {self.task!r} is not one of {', '.join(TASKS)}")
        if problems:
            raise ConfigError(f"prompt {self.name!r}: {'; '.join(problems)}")

    def bind(self, **values: int | str) -> Prompt:
        """The same template with placeholders fixed (e.g. ``sentences=3``)."""
        merged = {**dict(self.values), **values}
        return replace(self, values=tuple(sorted(merged.items())))

    def fill(self, source: str, src_lang: str, tgt_lang: str) -> str:
        """The prompt text for one source.

        Raises:
            ConfigError: a language without a name, or a placeholder with no value.
        """
        values = {
            "source": source,
            "src_name": language_name(src_lang),
            "tgt_name": language_name(tgt_lang),
            "lines": sum(1 for line in source.split("\n") if line.strip()),
            **dict(self.values),
        }
        try:
            return self.text.format(**values)
        except KeyError as exc:
            raise ConfigError(
                f"prompt {self.name!r} needs a value for {{{exc.args[0]}}}"
            ) from None

    def fixed_lines(self, src_lang: str, tgt_lang: str) -> tuple[str, ...]:
        """The lines of the filled template that do not come from the source: what a model
        that echoes its prompt repeats (the ``prompt-echo`` check looks for them)."""
        marker = "\x00SOURCE\x00"
        filled = self.fill(marker, src_lang, tgt_lang)
        parts = (part.strip() for line in filled.split("\n") for part in line.split(marker))
        # Short fragments ("Arabic:", "English:") occur in honest outputs too.
        return tuple(part for part in parts if len(part.split()) >= 4)

    def as_dict(self) -> dict:
        """What the cache key and the manifest record."""
        return {**asdict(self), "values": dict(self.values)}


# Wording choices, kept short and explicit: "only" lines discourage the chatter ("Here is the
# translation:") that the pipeline would otherwise have to strip.
PROMPTS: dict[str, Prompt] = {
    p.name: p
    for p in (
        Prompt(
            "translate", 1, "translate", "chat",
            "Translate the following {src_name} text into {tgt_name}. Reply with the "
            "translation only, without notes or explanations.\n\n{source}",
        ),
        Prompt(
            "translate-document", 1, "document", "chat",
            "Translate the following {src_name} text into {tgt_name}. It has {lines} lines: "
            "reply with exactly {lines} lines, the translation of each line on its own line, "
            "in the same order, and nothing else.\n\n{source}",
        ),
        # The prompt GemmaX2-28 was fine-tuned on (its model card): raw text, no chat template.
        Prompt(
            "gemmax2", 1, "translate", "plain",
            "Translate this from {src_name} to {tgt_name}:\n{src_name}: {source}\n{tgt_name}:",
        ),
        # Language-neutral about the input: the second round of a chunked summary summarises
        # English chunk summaries with the same prompt.
        Prompt(
            "summarise", 1, "summarise", "chat",
            "Summarise the following news article in {tgt_name} in {sentences} sentences. "
            "Reply with the summary only.\n\n{source}",
        ),
    )
}

#: Default prompt per task and model, by the model folder's or hub id's last component
#: (case-insensitive prefix): models trained on one fixed prompt get theirs.
MODEL_PROMPTS: dict[str, dict[str, str]] = {
    "gemmax2": {"translate": "gemmax2"},
}

#: The default template of each task for chat models.
DEFAULTS: dict[str, str] = {
    "translate": "translate",
    "document": "translate-document",
    "summarise": "summarise",
}


def language_name(code: str) -> str:
    """English name of an ISO 639-1 code, as prompts use it.

    Raises:
        ConfigError: a code without a name in :data:`LANGUAGE_NAMES`.
    """
    try:
        return LANGUAGE_NAMES[code]
    except KeyError:
        raise ConfigError(
            f"no language name for {code!r} in prompts; known: {', '.join(LANGUAGE_NAMES)}"
        ) from None


def custom_prompt(text: str, task: str = "translate", format: str = "chat") -> Prompt:
    """A user's template, versioned by the hash of its text (so an edit is a new key)."""
    version = hashlib.sha256(f"{format}\0{text}".encode()).hexdigest()[:12]
    return Prompt("custom", version, task, format, text)


def default_prompt(task: str, model: str) -> Prompt:
    """The template a model gets for ``task`` when none is asked for."""
    if task not in TASKS:
        raise ConfigError(f"unknown prompt task {task!r}; choose {', '.join(TASKS)}")
    name = PurePath(model.rstrip("/")).name.lower()
    for prefix, by_task in MODEL_PROMPTS.items():
        if name.startswith(prefix) and task in by_task:
            return PROMPTS[by_task[task]]
    return PROMPTS[DEFAULTS[task]]


def resolve_prompt(
    spec: str | Prompt | None, task: str, model: str, format: str | None = None
) -> Prompt:
    """The :class:`Prompt` for an option value.

    Args:
        spec: ``None`` (the default for ``task`` and ``model``), a name in :data:`PROMPTS`,
            a template text containing ``{source}``, or a :class:`Prompt`.
        model: the model id or path (some models have their own default).
        format: ``chat`` or ``plain`` for a custom text (default ``chat``).

    Raises:
        ConfigError: an unknown name, a text without ``{source}``, a named prompt of another
            task, or ``format`` given with a named prompt.
    """
    if isinstance(spec, Prompt):
        return spec
    if spec is None:
        if format is not None:
            raise ConfigError("prompt_format applies to a custom prompt text; give prompt too")
        return default_prompt(task, model)
    if not isinstance(spec, str):
        raise ConfigError(f"prompt must be a name or a template text, not {type(spec).__name__}")
    if spec in PROMPTS:
        if format is not None:
            raise ConfigError(
                f"prompt {spec!r} has its own format ({PROMPTS[spec].format}); "
                "prompt_format applies to a custom prompt text"
            )
        found = PROMPTS[spec]
        if found.task != task:
            raise ConfigError(
                f"prompt {spec!r} is a {found.task} prompt, not a {task} prompt; "
                f"choose one of {', '.join(n for n, p in PROMPTS.items() if p.task == task)}"
            )
        return found
    if "{source}" not in spec:
        raise ConfigError(
            f"unknown prompt {spec!r}: give one of {', '.join(PROMPTS)}, or a "
            "template text containing {source}"
        )
    return custom_prompt(spec, task, format or "chat")
