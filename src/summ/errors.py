"""Exceptions that carry a one-line, actionable message; the CLI maps them to exit codes."""

from __future__ import annotations


class SummError(Exception):
    """Base class: ``str(error)`` is a complete one-line message for the user."""

    exit_code = 1


class InputError(SummError):
    """Bad input data (encoding, format, mismatched lengths); names the file, line and fix."""

    exit_code = 2


class ConfigError(SummError):
    """A configuration or command line that cannot work; lists every problem at once."""

    exit_code = 2


class ModelNotFoundError(SummError):
    """A model id that is neither a local directory, nor cached, nor reachable on the hub."""

    exit_code = 3


class MissingDependencyError(SummError):
    """An optional library is not installed; the message gives the exact ``pip install``."""

    exit_code = 4


def require(module: str, pip_name: str | None = None, extra: str | None = None):
    """Import ``module`` or raise :class:`MissingDependencyError` with the install line.

    Args:
        module: dotted module name to import.
        pip_name: the distribution to install, if it differs from ``module``.
        extra: the ``summ`` extra that provides it, if any.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = f'pip install "summ[{extra}]"' if extra else f"pip install {pip_name or module}"
        raise MissingDependencyError(f"{module} is required for this step: {what} "
                                     f"({exc})") from exc
