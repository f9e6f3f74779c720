"""summ: Arabic→English translation and cross-lingual summarisation for research.

The public API is deliberately small::

    from summ import load_translator, translate_documents, summarise, score

Heavy libraries (torch, transformers, ctranslate2, matplotlib) are imported only when a
function that needs them runs, so ``import summ`` stays fast and works without them.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# The function summarise() shares its name with the module summ.summarise. Importing the
# module (anywhere, at any time) binds the attribute summ.summarise to it unless the function
# is bound first, here; the module imports no model library, so this stays light.
from summ.summarise import summarise  # noqa: E402

# name -> module that defines it; resolved on first attribute access (PEP 562).
_EXPORTS = {
    "load_translator": "summ.translate",
    "translate_documents": "summ.translate",
    "score": "summ.metrics",
}

__all__ = [*_EXPORTS, "summarise", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'summ' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
