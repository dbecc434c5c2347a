"""How the CLI fails: one line on stderr, a non-zero exit status, never a traceback for a known problem.

Anything the user can cause (a missing socket, a refused login, an unknown
project, a server that is down) is raised as ``CliError`` (or one of the
Workload API errors) and reported by ``reports_failures``; a traceback means
a bug in Strongroom.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from strongroom.spiffe.workload_client import WorkloadApiError

# soft_wrap: an error is one line however narrow the terminal (or pipe) is.
err = Console(stderr=True, highlight=False, soft_wrap=True)

_P = ParamSpec("_P")
_R = TypeVar("_R")


class CliError(Exception):
    """A problem to report to the user in one line."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(one_line(message))}")
    return typer.Exit(1)


def reports_failures(command: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn the errors a user can cause into ``error: …`` and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return command(*args, **kwargs)
        except CliError as exc:
            err.print(f"[red]error:[/red] {escape(one_line(exc.message))}")
            raise typer.Exit(exc.exit_code) from None
        except WorkloadApiError as exc:
            err.print(f"[red]error:[/red] {escape(one_line(str(exc)))}")
            raise typer.Exit(1) from None

    return wrapper
