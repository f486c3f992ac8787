"""The rows of a large build made by a forked child while this process inserts them.

A clean build at 100k claims spent 16 s on the claims table alone, all in one process: 9 s
making the rows in Python (citations, CSL JSON, the figures' columns) and 7 s of SQLite
inserting them, while the second core had nothing to do. Here a child forked after the
analysis (it has the analysis as the parent has it, copy-on-write) makes every table's rows
(:func:`kb.database.rows.rows`, the same generator) and sends them in batches of plain tuples
down a pipe; the parent only unpickles and inserts them. The pipe holds one batch or so: the
child waits when the parent is behind, so no table is ever held whole by either.

Nothing is lost when the child cannot be forked (another thread runs: ``kb serve``), dies, or
sends something unreadable: :class:`ChildFailed` is raised, and :func:`kb.database.build`
writes the database again from the start, making the rows itself.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING

from kb.database.rows import rows

if TYPE_CHECKING:
    from kb.analyse import Analysis

__all__ = ["BATCH", "FORK_ROWS_AT", "ChildFailed", "forked_rows"]

# claims and sources: below, a fork and the rows' way through the pipe cost more than they save
FORK_ROWS_AT = 20_000
BATCH = 1_000  # rows per pickle: big enough that pickling is cheap, small enough to stream
_END = "end"


class ChildFailed(Exception):
    """The child could not be forked, or did not send every row (the build starts over)."""


def forked_rows(analysis: Analysis) -> Iterator[tuple[str, list[str], list[tuple]]]:
    """(table, its columns, a batch of its rows as tuples in that order), for every batch of
    every table, in the order of :func:`kb.database.rows.rows`: made by a forked child. Raises
    :class:`ChildFailed` (before the first batch when no child can be forked). The child is
    killed when the caller stops early (an error, Ctrl-C)."""
    import threading

    if not hasattr(os, "fork") or threading.active_count() > 1:
        raise ChildFailed("no fork beside threads")
    read, write = os.pipe()
    # Ctrl-C is held back across the fork, so that the child is inside its try (which always
    # ends in os._exit) before it can be interrupted (as kb.inputs.Forked does)
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        child = os.fork()
    except OSError as exc:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(read)
        os.close(write)
        raise ChildFailed(str(exc)) from None
    if child == 0:
        status = 1
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # the parent decides; it kills this child
            os.close(read)
            with open(write, "wb") as out:
                _send(analysis, out)
            status = 0
        finally:
            os._exit(status)
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    os.close(write)
    try:
        with open(read, "rb") as pipe:
            while True:
                try:
                    batch = pickle.load(pipe)
                except Exception as exc:  # the child died, or wrote something that is not a batch
                    raise ChildFailed(f"the rows' child stopped: {exc!r}") from None
                if batch == _END:
                    break
                yield batch
        _, status = os.waitpid(child, 0)
        child = 0
        if status != 0:
            raise ChildFailed(f"the rows' child ended with status {status}")
    finally:
        if child:
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)


def _send(analysis: Analysis, out) -> None:
    def dump(value) -> None:  # each batch pickled on its own: the parent unpickles one at a time
        out.write(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    for table, records in rows(analysis):
        columns: list[str] | None = None
        batch: list[tuple] = []
        for record in records:
            if columns is None:
                columns = list(record)
            # by name, as the parent's insert would bind a dict: a missing key is an error
            batch.append(tuple([record[column] for column in columns]))
            if len(batch) == BATCH:
                dump((table, columns, batch))
                batch = []
        if batch:
            dump((table, columns, batch))
    dump(_END)
    out.flush()
