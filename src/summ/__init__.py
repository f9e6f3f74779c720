"""summ: Arabic→English translation and cross-lingual summarisation for research.

The public API is what the notebooks and the README use::

    from summ import load_translator, translate_documents, summarise, score, load_results

Heavy libraries (torch, transformers, ctranslate2, pandas, matplotlib) are imported only when
a function that needs them runs, so ``import summ`` stays fast and works without them.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> module that defines it; resolved on first attribute access (PEP 562).
_EXPORTS = {
    # errors worth catching: bad input files, bad settings
    "InputError": "summ.errors",
    "ConfigError": "summ.errors",
    # reading data
    "load_ntrex128": "summ.data",
    "read_text": "summ.data",
    # translating
    "DecodeConfig": "summ.engines.base",
    "BatchConfig": "summ.engines.base",
    "load_translator": "summ.translate",
    "translate_documents": "summ.translate",
    "translate_file": "summ.files",
    # summarising
    "summarise": "summ.summary",
    "Summariser": "summ.summary",
    "SummaryConfig": "summ.summary",
    # scoring
    "score": "summ.metrics",
    "compare": "summ.metrics",
    "rouge": "summ.metrics",
    "evaluate_files": "summ.metrics",
    # experiments and their results
    "run_experiment": "summ.experiment",
    "load_results": "summ.results",
    "build_report": "summ.report",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'summ' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
