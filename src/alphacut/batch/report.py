"""What came of a batch: one :class:`FileReport` per input, in input order.

A :class:`BatchReport` is told each event as the batch runs (or, for photos cut out
elsewhere, replayed in input order once they are done); the command line's report is one
that also prints.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from alphacut.io.paths import display

__all__ = ["BatchReport", "FileReport"]


@dataclass
class FileReport:
    """What came of one input.

    Attributes
    ----------
    source : str
        The input as given.
    written : list of str
        Its outputs written by this run (an animation has one per frame).
    skipped : list of tuple
        ``(output, why)`` for outputs that existed and were left alone; ``why`` is None
        when the output looks finished (:func:`alphacut.batch.resume.unfinished`), else
        why it does not.
    problem : str or None
        Why it failed: one line.
    traceback : str or None
        The failure's traceback, when the batch kept them (``debug``).
    warnings : list of str
        One line each.
    edge_uncertainty : float or None
        The largest share of its outline the method was unsure of, over its frames.
    """

    source: str
    written: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str | None]] = field(default_factory=list)
    problem: str | None = None
    traceback: str | None = None
    warnings: list[str] = field(default_factory=list)
    edge_uncertainty: float | None = None

    @property
    def status(self) -> str:
        """``"failed"``, ``"written"`` (all its outputs to do), ``"skipped"`` (they all
        existed) or ``"pending"`` (not reached: the batch was stopped)."""
        if self.problem is not None:
            return "failed"
        if self.written:
            return "written"
        return "skipped" if self.skipped else "pending"


class BatchReport:
    """Every input's :class:`FileReport`, and the batch's own lists for its summary.

    Parameters
    ----------
    progress : bool
        Show a progress bar (tqdm, on standard error) while photos are cut out.

    Examples
    --------
    >>> report = BatchReport()
    >>> report.expect(["a.jpg", "b.jpg"])
    >>> report.fail("b.jpg", "empty file (0 bytes)")
    >>> [(f.source, f.status) for f in report]
    [('a.jpg', 'pending'), ('b.jpg', 'failed')]
    """

    def __init__(self, progress: bool = False) -> None:
        self.files: dict[str, FileReport] = {}
        self.failed: list[tuple[str, str, str | None]] = []  # (name, problem, traceback)
        self.skipped: list[tuple[str, str | None]] = []  # (output, why not finished)
        self.warned: dict[str, list[str]] = {}  # message -> the inputs that had it
        self.uncertain: list[tuple[float, str, str]] = []  # (share, input, which frame)
        self.model_line: str | None = None
        self.show_progress = progress
        self.bar: Any = None

    def __iter__(self) -> Iterator[FileReport]:
        return iter(self.files.values())

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, source: str) -> FileReport:
        return self.files[source]

    def counts(self) -> dict[str, int]:
        """How many inputs ended in each :attr:`FileReport.status`."""
        counts: dict[str, int] = {}
        for entry in self:
            counts[entry.status] = counts.get(entry.status, 0) + 1
        return counts

    def expect(self, sources: list[str]) -> None:
        """List ``sources`` in input order before any of them has news."""
        for source in sources:
            self.file(source)

    def file(self, source: str) -> FileReport:
        entry = self.files.get(source)
        if entry is None:
            entry = self.files[source] = FileReport(source)
        return entry

    # --- Events, as the batch tells them ---------------------------------------------------

    def fail(
        self, name: str, problem: str, output: str | None = None, detail: str | None = None
    ) -> None:
        """Input ``name`` failed; ``output`` when the problem is its output's; ``detail``:
        the traceback (``debug``)."""
        if output is not None:
            problem = f"{display(output)}: {problem}"
        self.failed.append((name, problem, detail))
        entry = self.file(name)
        if entry.problem is None:
            entry.problem, entry.traceback = problem, detail
        if self.bar is not None:
            self.bar.set_postfix(failed=len(self.failed), refresh=False)

    def skip(self, name: str, output: str, problem: str, why: str | None = None) -> None:
        """``output`` of input ``name`` exists and is left alone (``problem`` says so);
        ``why``: why it does not look finished, None when it does."""
        self.skipped.append((output, why))
        self.file(name).skipped.append((output, why))

    def warn(self, name: str, message: str) -> None:
        names = self.warned.setdefault(message, [])
        if name not in names:
            names.append(name)
        entry = self.file(name)
        if message not in entry.warnings:
            entry.warnings.append(message)

    def done(self, name: str, output: str, line: str, notes: list[str]) -> None:
        """``output`` of input ``name`` is written; ``line`` and ``notes`` say how."""
        self.file(name).written.append(output)

    def edge(self, name: str, share: float | None, which: str = "") -> None:
        """Note an outline's unsure share; ``which`` tells frames of one file apart."""
        if share is None:
            return
        self.uncertain.append((share, name, which))
        entry = self.file(name)
        entry.edge_uncertainty = max(share, entry.edge_uncertainty or 0.0)

    def model(self, where: str) -> None:
        """Where the batch's model runs (``"selfie on CPUExecutionProvider, ..."``)."""
        self.model_line = where

    # --- Progress --------------------------------------------------------------------------

    def say(self, line: str) -> None:
        """A line for whoever watches; kept off the bar's line."""
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def detail(self, text: str | None) -> None:
        """A traceback for whoever watches."""
        if text:
            self.say(text.rstrip("\n"))

    def failing(self, more: int) -> None:
        """Show ``more`` failures on the bar than are listed yet: a batch cut out elsewhere
        lists its photos' failures at the end, in input order."""
        if self.bar is not None:
            self.bar.set_postfix(failed=len(self.failed) + more, refresh=False)

    def progress(self, total: int) -> None:
        """``total`` frames are about to be cut out."""
        if self.show_progress and total > 1:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="photo", desc="alphacut", file=sys.stderr)

    def step(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
