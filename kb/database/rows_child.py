"""The claims' rows of a large build made by a forked child while this process makes and
inserts the other tables' rows, and inserts the claims' as they come.

A clean build at 100k claims spent 16 s on the claims table alone, all in one process: about
10 s making the rows in Python (citations, CSL JSON, the figures' columns) and 5-7 s of SQLite
inserting them, while the second core had nothing to do. Here a child forked after the
analysis (it has the analysis as the parent has it, copy-on-write) makes the claims' rows
(:func:`kb.database.rows.rows`, the same generator) and sends them in batches of plain tuples
down a pipe; the parent makes the other tables' rows meanwhile, a chunk at a time, and between
two chunks inserts the batches that came (:func:`kb.database.build._insert_forked`). Sending
every table from the child left the parent idle two thirds of the time (its unpickling and
inserting 6 s of CPU, the child's 15 s). The pipe holds a batch or two: the child waits when the
parent is behind, so no table is ever held whole by either; the claims' rowids are those of a
build in one process (only the child's rows go into that table, in its order).

Nothing is lost when the child cannot be forked (another thread runs: ``kb serve``), dies, or
sends something unreadable: :class:`ChildFailed` is raised, and :func:`kb.database.build`
writes the database again from the start, making the rows itself.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
from typing import TYPE_CHECKING

from kb.database.rows import rows
from kb.inputs import fork_writer

if TYPE_CHECKING:
    from kb.analyse import Analysis

__all__ = ["BATCH", "FORK_ROWS_AT", "TABLE", "ChildFailed", "RowsChild"]

# claims and sources: below, a fork and the rows' way through the pipe cost more than they save
FORK_ROWS_AT = 20_000
TABLE = "claims"  # the table whose rows the child makes
BATCH = 500  # rows per pickle: cheap to pickle, quick to insert between two chunks of the parent's
PIPE_BYTES = 1 << 20  # (Linux: the pipe's buffer raised from 64 KiB, so the child runs ahead)
_END = "end"


class ChildFailed(Exception):
    """The child could not be forked, or did not send every row (the build starts over)."""


class RowsChild:
    """A forked child making the rows of :data:`TABLE`: :meth:`ready` says whether a batch
    (or the end) has come, :meth:`next` gives it (its columns and its rows as tuples in that
    order), None once every row has come. :meth:`close` (on every way out) kills a child
    still running. Raises :class:`ChildFailed` when no child can be forked, or from
    :meth:`next` when the child stopped before the end."""

    def __init__(self, analysis: Analysis):
        import threading

        self.child = 0
        self.done = False
        if not hasattr(os, "fork") or threading.active_count() > 1:
            raise ChildFailed("no fork beside threads")
        forked = fork_writer(_send, analysis, pipe_bytes=PIPE_BYTES)
        if forked is None:
            raise ChildFailed("the fork failed")
        child, read = forked
        self.child = child
        self.pipe = open(read, "rb")  # noqa: SIM115 (closed by close())

    def ready(self) -> bool:
        return not self.done and bool(select.select([self.pipe], [], [], 0)[0])

    def next(self) -> tuple[list[str], list[tuple]] | None:
        if self.done:
            return None
        try:
            batch = pickle.load(self.pipe)
        except Exception as exc:  # the child died, or wrote something that is not a batch
            raise ChildFailed(f"the rows' child stopped: {exc!r}") from None
        if batch != _END:
            return batch
        self.done = True
        _, status = os.waitpid(self.child, 0)
        self.child = 0
        if status != 0:
            raise ChildFailed(f"the rows' child ended with status {status}")
        return None

    def close(self) -> None:
        if self.child:
            with contextlib.suppress(OSError):
                os.kill(self.child, signal.SIGKILL)
                os.waitpid(self.child, 0)
            self.child = 0
        if not self.pipe.closed:
            self.pipe.close()


def _send(out, analysis: Analysis) -> None:
    def dump(value) -> None:  # each batch pickled on its own: the parent unpickles one at a time
        out.write(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    for table, records in rows(analysis):  # (the tables before it cost nothing made lazily)
        if table != TABLE:
            continue
        columns: list[str] | None = None
        batch: list[tuple] = []
        for record in records:
            if columns is None:
                columns = list(record)
            # by name, as the parent's insert would bind a dict: a missing key is an error
            batch.append(tuple([record[column] for column in columns]))
            if len(batch) == BATCH:
                dump((columns, batch))
                batch = []
        if batch:
            dump((columns, batch))
        break  # (the tables after it: the parent's; kb_build's row would run git here)
    dump(_END)
    out.flush()
