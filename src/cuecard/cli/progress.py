"""Progress of a long command on stderr: a bar on a terminal, plain lines otherwise.

A CI log or a redirected stderr cannot show a bar (rich disables it), which left a long sync
silent until it ended. Without a terminal a line `Syncing: 40/200` is printed at most every
`interval` seconds, and always once at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def progress(label: str, total: int, *, interval: float = 1.0) -> Iterator[Callable[[], None]]:
    """Yields the function to call once per finished step."""
    console = Console(stderr=True)
    if total == 0:
        yield lambda: None
        return
    if console.is_terminal:
        bar = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        with bar:
            task = bar.add_task(label, total=total)
            yield lambda: bar.advance(task)
        return
    done = 0
    last = time.monotonic()

    def advance() -> None:
        nonlocal done, last
        done += 1
        now = time.monotonic()
        if now - last >= interval and done < total:
            last = now
            typer.echo(f"{label}: {done}/{total}", err=True)

    try:
        yield advance
    finally:
        typer.echo(f"{label}: {done}/{total}", err=True)
