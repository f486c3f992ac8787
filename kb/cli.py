"""The ``kb`` command: a thin click layer over the library.

Exit codes, as ruff's: 0 no errors, 1 errors found (warnings too with ``--strict``),
2 usage, configuration or internal failure. A traceback is never the answer to bad input
(set ``KB_DEBUG=1`` to see one for an internal failure).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kb import __version__
from kb.cache import cache_enabled
from kb.findings import printable
from kb.inputs import QUICK_READS, current_files
from kb.progress import Progress
from kb.report import FORMATS, render, render_bytes, render_step_summary
from kb.rules import RULES, lookup, render_rule
from kb.settings_file import QuickSettings, SettingsError, find_root, quick_settings
from kb.suggest import did_you_mean

if TYPE_CHECKING:
    from kb.analyse import Analysis
    from kb.database.errors import UnpublishedErrors
    from kb.settings import Settings

# kb.settings (pydantic) is imported when the settings are read in full: a `kb build` with
# nothing to do compares the inputs' fingerprint with the database's from kb.settings_file.

# kb.analyse (networkx, the pydantic models, PyYAML) is imported when a command analyses: a
# `kb check` or `kb build` with nothing changed answers from the cache without it.

# kb.database (sqlite-utils, markdown-it, kb.cite) is imported by the commands that write a
# database, not by `kb check`, `kb rule` or `kb show`: these wrappers import it on first call.


def build_database(*args, **kwargs) -> Path:
    from kb.database import build_database as build

    return build(*args, **kwargs)


def is_stale(*args, **kwargs) -> bool:
    from kb.database.state import is_stale as stale

    return stale(*args, **kwargs)


def up_to_date(*args, **kwargs):
    from kb.database.state import up_to_date as current

    return current(*args, **kwargs)


def left_out(*args, **kwargs):
    from kb.database import left_out as left

    return left(*args, **kwargs)


def update_database(*args, **kwargs):
    from kb.database.update import update_database as update

    return update(*args, **kwargs)


def begin_build_states(*args, **kwargs):
    from kb.database.update import begin_build_states as begin

    return begin(*args, **kwargs)


def start_check_state(*args, **kwargs) -> None:
    from kb.database.update import start_check_state as start

    start(*args, **kwargs)


def abandon_build_states(*args, **kwargs) -> None:
    from kb.database.update import abandon_build_states as abandon

    abandon(*args, **kwargs)


def save_build_state(*args, **kwargs) -> None:
    from kb.database.update import save_build_state as save

    save(*args, **kwargs)


__all__ = ["main"]


class KbError(click.ClickException):
    """A failure reported in one sentence, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"kb: error: {self.format_message()}", err=True)


def _root_option(command):
    return click.option(
        "--root",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=None,
        help="Knowledge base root (default: the nearest folder upward with kb.toml, "
        "a pyproject.toml with [tool.kb], or a claims/ folder).",
    )(command)


def _today_option(command):
    return click.option(
        "--today",
        type=click.DateTime(["%Y-%m-%d"]),
        default=None,
        help="Date for time rules (default: `today` in the settings, else the current date).",
    )(command)


def _settings(root: Path | None, *, need_claims: bool = True) -> Settings:
    """The settings; with ``need_claims``, a missing claims folder is an error (exit 2), so
    that a wrong --root or a misspelt folder never passes CI with nothing checked."""
    from kb.settings import load_settings

    try:
        settings = load_settings((root or find_root()).resolve())
    except SettingsError as exc:
        raise KbError(str(exc)) from None
    if need_claims and not settings.claims_dir.is_dir():
        raise KbError(f"no claims folder at {settings.claims_dir} (set `claims` in the settings, or pass --root)")
    return settings


def _analyse(
    settings: Settings,
    today,
    require_snapshots: bool = False,
    progress: Progress | None = None,
    cache: bool | None = None,
    render: bool = False,
    annotate: bool = True,
    incremental: bool = False,
) -> Analysis:
    """The analysis; ``render`` for the commands that write a database (Markdown bodies),
    not ``annotate`` for those that need the findings only."""
    from kb.analyse import analyse_settings

    try:
        return analyse_settings(
            settings,
            today=today.date() if today else None,
            require_snapshots=require_snapshots,
            progress=progress,
            cache=cache,
            render=render,
            annotate=annotate,
            incremental=incremental,
            keep_hashes=False,  # (a build's state takes them from the cache's manifest)
        )
    except SettingsError as exc:
        raise KbError(str(exc)) from None
    finally:
        if progress is not None:
            progress.clear()


def _batch_gc() -> None:
    """Young-generation garbage collection only, for the one-shot commands (`kb check`,
    `kb build`): the older generations would be rescanned again and again as 100,000 records
    accumulate, which cost 15% of a build at 20k claims (measured: 24.3 s, 21.6 s with
    this, the same peak RSS). Short-lived cycles are still collected; `kb serve`, which
    lives on, keeps Python's defaults, and the previous thresholds come back when the
    command ends (a test runner invokes many commands in one process)."""
    import gc

    previous = gc.get_threshold()
    gc.set_threshold(50_000, 1_000_000, 1_000_000)
    click.get_current_context().call_on_close(lambda: gc.set_threshold(*previous))


def _no_cache_option(command):
    return click.option(
        "--no-cache",
        is_flag=True,
        help="Read and parse every file again, ignoring the cache in .kb-cache/ (as KB_NO_CACHE=1).",
    )(command)


def _guard(function):
    """Turn any unexpected exception into exit code 2 and one line, not a traceback."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # `kb rule --all | head`: the reader has gone, nothing to report
            sys.stderr.close()
            sys.exit(0)
        except Exception as exc:
            if os.environ.get("KB_DEBUG"):
                raise
            raise KbError(f"internal error: {type(exc).__name__}: {exc} (set KB_DEBUG=1 for details)") from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="kb")
def main() -> None:
    """kb: a claims-versus-evidence knowledge base.

    Claims and sources are Markdown files with YAML frontmatter; kb checks them as a
    graph, builds a SQLite database and serves it with Datasette.

    \b
    Example:
        kb check                 # lint the knowledge base
        kb build                 # write kb.db
        kb serve                 # browse it on http://127.0.0.1:8001/
    """


def _report_options(command):
    """--format, -o, --strict: the report options `kb check` and `kb check-draft` share."""
    for option in reversed(
        (
            click.option(
                "--format",
                "fmt",
                type=click.Choice(FORMATS),
                default=None,
                envvar="KB_OUTPUT_FORMAT",
                help="Output format (default: concise; env KB_OUTPUT_FORMAT).",
            ),
            click.option(
                "-o",
                "--output-file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write the report to a file.",
            ),
            click.option("--strict", is_flag=True, help="Fail on warnings too."),
        )
    ):
        command = option(command)
    return command


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_report_options
@click.option("--require-snapshots", is_flag=True, help="A source whose snapshot cannot be found is an error.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings fail the check.")
@click.option(
    "--show-acknowledged",
    is_flag=True,
    help="List acknowledged findings too (concise, full, github; json and sarif always carry them).",
)
@_no_cache_option
@_today_option
@_root_option
@_guard
def check(
    paths, fmt, output_file, strict, require_snapshots, exit_zero, show_acknowledged, no_cache, today, root
) -> None:
    """Check the knowledge base and report findings.

    PATHS limit the report to those files or folders (the whole knowledge base is
    always checked, since many rules relate files to each other).

    \b
    Example:
        kb check
        kb check claims/openai --format full
        kb check --strict --require-snapshots --format github
        kb check --format sarif -o kb.sarif
    """
    from kb.checking import start_walk

    # the files are walked (in a child, when worth it) while the full settings are read
    quick = None if no_cache or not cache_enabled() else _quick_settings(root)
    walk = start_walk(quick) if quick is not None else None
    try:
        settings = _settings(root)
        if walk is not None and not _same_inputs(quick, settings):  # type: ignore[arg-type]
            walk.close()
            walk = None
        _batch_gc()
        progress = Progress()
        findings = _checked(settings, today, require_snapshots, progress, no_cache, walk)
    finally:
        if walk is not None:
            walk.close()
    progress.write_timings()
    findings = _limit(findings, paths, settings.root)
    if output_file:
        _write_report(output_file, render_bytes(findings, fmt or "concise", settings.root, show_acknowledged))
    else:
        click.echo(render(findings, fmt or "concise", settings.root, show_acknowledged), nl=False)
    if (fmt or "concise") == "github" and os.environ.get("GITHUB_STEP_SUMMARY"):
        # GitHub shows only 10 annotations of each level per step: the summary lists them all.
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary_file:
            summary_file.write(render_step_summary(findings, show_acknowledged))
    failing = [f for f in findings if f.fails or (strict and f.severity == "warning" and not f.acknowledged)]
    if failing and not exit_zero:
        sys.exit(1)


def _checked(settings: Settings, today, require_snapshots: bool, progress: Progress, no_cache: bool, walk) -> list:
    """The findings of the whole knowledge base (kb.checking: the stored report, a re-check or
    a full analysis)."""
    from kb.checking import check_findings

    try:
        return check_findings(
            settings,
            today.date() if today else None,
            require_snapshots,
            progress,
            cache=False if no_cache else None,
            walk=walk,
        )
    except SettingsError as exc:
        raise KbError(str(exc)) from None
    finally:
        progress.clear()


def _write_report(path: Path, report: bytes) -> None:
    """Write the report (UTF-8), creating missing folders as ruff does for ``--output-file``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(report)
    except OSError as exc:
        raise KbError(f"cannot write the report to {path}: {exc.strerror or exc}") from None


def _limit(findings, paths, root: Path):
    if not paths:
        return findings
    wanted = []
    for path in paths:
        absolute = path.resolve() if path.is_absolute() or path.exists() else (root / path).resolve()
        try:
            wanted.append(absolute.relative_to(root).as_posix())
        except ValueError:
            raise KbError(f"{path} is outside the knowledge base at {root}") from None
    return [
        f for f in findings if any(f.path == w or f.path.startswith(w.rstrip("/") + "/") or w == "." for w in wanted)
    ]


def _allow_errors_option(command):
    return click.option(
        "--allow-errors",
        is_flag=True,
        help="Publish even with unacknowledged errors (files that fail to load are left out, each named).",
    )(command)


def _lock_timeout_option(command):
    return click.option(
        "--lock-timeout",
        type=click.FloatRange(0),
        default=60,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait for another build of the same database to finish.",
    )(command)


@main.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Database file (default: `database` setting).",
)
@click.option(
    "--export",
    "exports_",
    multiple=True,
    type=click.Choice(["csl-json", "bibtex", "json", "graphml", "claimreview"]),
    help="Also write this export next to the database (kb.csl.json, kb.bib, kb.graph.json, kb.graphml, "
    "kb.claimreview.jsonld); repeatable.",
)
@_allow_errors_option
@_lock_timeout_option
@_no_cache_option
@_today_option
@_root_option
@_guard
def build(output, exports_, allow_errors, lock_timeout, no_cache, today, root) -> None:
    """Build the SQLite database from the claims and sources.

    The database is written to a temporary file and swapped in only when complete: a
    failed or interrupted build leaves the previous database untouched. A knowledge base
    with unacknowledged errors is not built (exit 1, the errors printed) unless
    --allow-errors. A second build of the same database waits for the first.

    \b
    Example:
        kb build
        kb build -o /tmp/kb.db
        kb build --allow-errors
        kb build --export csl-json --export bibtex    # also kb.csl.json and kb.bib

    Nothing changed since the last build (same files, settings, date, kb version): the
    database is left as it is ("up to date"); only notes, or claims' frontmatter (same path,
    id and subject), changed: it is copied with the rows they reach rewritten, not rebuilt;
    --no-cache builds anyway.
    """
    cache = False if no_cache else None
    day = today.date() if today else None
    # Nothing changed? Asked first with the settings the inputs depend on, read without
    # pydantic; the full settings then confirm that they name the same inputs.
    quick = files = None
    if not no_cache and cache_enabled() and not exports_:
        quick = _quick_settings(root)
        if quick is not None:  # (the files as they are now: what an update starts from too)
            files = current_files(quick, max_reads=QUICK_READS)
        current = up_to_date(quick, output or quick.database_path, day, files) if quick is not None else None
        if current is not None and quick.claims_dir.is_dir() and (allow_errors or not current["errors"]):
            _say_up_to_date(output or quick.database_path, current)
            return
    from kb.database.errors import BuildError, UnpublishedErrors

    settings = _settings(root)
    target = output or settings.database_path
    if quick is None or not _same_inputs(quick, settings):
        files = None
        current = None if no_cache or not cache_enabled() else up_to_date(settings, target, day)
    if current is not None and (allow_errors or not current["errors"]):
        _say_up_to_date(target, current)
        if exports_:
            _write_exports(_analyse(settings, today, cache=cache), target.resolve(), exports_)
        return
    _batch_gc()
    progress = Progress()
    if cache is None and cache_enabled() and not exports_:
        # only notes, or claims' frontmatter, changed? then the database is copied with their
        # rows rewritten (kb.database.update)
        try:
            updated = update_database(
                settings,
                target,
                day,
                files=files,
                allow_errors=allow_errors,
                lock_timeout=lock_timeout,
                on_wait=_say,
                progress=progress,
            )
        except BuildError as exc:
            raise KbError(str(exc)) from None
        finally:
            progress.clear()
        if updated is not None:
            progress.write_timings()
            _report_counts(target, updated, updated["left_out"])
            return
    analysis = _analyse(settings, today, progress=progress, cache=cache, render=True, incremental=cache_enabled(cache))
    began = _begin_build_states(analysis, cache)
    try:
        try:
            path = build_database(
                analysis,
                output,
                allow_errors=allow_errors,
                lock_timeout=lock_timeout,
                on_wait=_say,
                progress=progress,
                after_rows=lambda: start_check_state(analysis, began),
            )
        except UnpublishedErrors as exc:
            start_check_state(analysis, began)  # (what the `kb check` the refusal asks for starts from)
            _report_refusal(exc, target, analysis.settings.root)
            sys.exit(1)
        except BuildError as exc:
            raise KbError(str(exc)) from None
        finally:
            progress.clear()
            progress.write_timings()
        missing = _report_build(analysis, path)
        _write_exports(analysis, path, exports_)
        _keep_build_state(analysis, missing, began)
    except KeyboardInterrupt:  # (also once published: the exports, the wait for the child)
        abandon_build_states(analysis, began)
        raise


def _say_up_to_date(target: Path, current: dict) -> None:
    click.echo(
        f"{_shown(target)} is up to date: {current['claims']} claims, {current['sources']} sources, "
        f"{current['findings']} findings ({current['errors']} errors)."
    )


def _quick_settings(root: Path | None) -> QuickSettings | None:
    """:func:`kb.settings_file.quick_settings` of the knowledge base (None: only the full
    settings can say, and they report what is wrong)."""
    try:
        return quick_settings((root or find_root()).resolve())
    except (SettingsError, OSError):
        return None


def _same_inputs(quick: QuickSettings, settings: Settings) -> bool:
    """Whether the quick reading of the settings names the inputs the full one does."""
    return (quick.claims_dir, quick.sources_dir, quick.database_path, quick.snapshot_dirs, quick.today) == (
        settings.claims_dir,
        settings.sources_dir,
        settings.database_path,
        settings.snapshot_dirs,
        settings.today,
    )


def _write_exports(analysis: Analysis, path: Path, exports_) -> None:
    from kb.exports import SUFFIXES, export

    for fmt in dict.fromkeys(exports_):
        target = path.with_name(path.stem + SUFFIXES[fmt])
        _write_atomically(target, export(analysis, fmt))
        click.echo(f"Wrote {_shown(target)}")


def _write_atomically(path: Path, text: str) -> None:
    """Write a file whole or not at all (a reader never sees half an export)."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        raise KbError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        temporary.unlink(missing_ok=True)


def _say(message: str) -> None:
    click.echo(f"kb: {message}", err=True)


def _shown(path: Path) -> str:
    path = path.resolve()
    return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)


def _report_refusal(exc: UnpublishedErrors, target: Path, root: Path, serving: str = "") -> None:
    """The errors (concise, one a line), then what happened to the database."""
    for line in render(exc.errors, "concise", root).splitlines()[: len(exc.errors)]:  # one line each
        click.echo(line, err=True)
    count = f"{len(exc.errors)} error{'s' if len(exc.errors) != 1 else ''}"
    files = f"{len(exc.files)} file{'s' if len(exc.files) != 1 else ''}"
    them = "it" if len(exc.errors) == 1 else "them"
    state = f"{_shown(target)} is unchanged" if target.is_file() else "no database was written"
    _say(f"not built: {count} in {files}; {state}{serving} (fix {them}, or pass --allow-errors)")


def _report_build(analysis: Analysis, path: Path) -> list[str]:
    """Say what was built; return the lines of the files left out."""
    codes = {}
    for finding in analysis.findings:
        if finding.code < "KB100":
            codes.setdefault(finding.path, f"{finding.code} {finding.name}")
    missing = [f"{path} ({codes[path]})" for path in left_out(analysis)]
    counts = {
        "claims": len(analysis.corpus.claims),
        "sources": len(analysis.corpus.sources),
        "findings": len(analysis.findings),
        "errors": sum(1 for f in analysis.findings if f.fails),
    }
    _report_counts(path, counts, missing)
    return missing


def _begin_build_states(analysis: Analysis, cache: bool | None = None):
    """Unless the cache is off, before the database is written: the files' hashes the build
    states need, and a large knowledge base's check state saved meanwhile
    (kb.database.update.begin_build_states)."""
    return begin_build_states(analysis) if cache_enabled(cache) else None


def _keep_build_state(analysis: Analysis, missing: list[str], began) -> None:
    """After a build that published: leave what a build that updates the database starts
    from (kb.database.update), once nothing else needs the analysis: its graph is freed
    first, so that the states' dictionaries reuse its memory (they raised a 100k build's peak
    by 31 MB). ``began``: what :func:`_begin_build_states` gave (None: the cache is off)."""
    if began is not None:
        analysis.graph.clear()
        save_build_state(analysis, missing, began)


def _report_counts(path: Path, counts: dict, missing: list[str]) -> None:
    click.echo(
        f"Built {_shown(path)}: {counts['claims']} claims, {counts['sources']} sources, "
        f"{counts['findings']} findings ({counts['errors']} errors)."
    )
    for line in missing:
        _say(f"left out {line}")
    if counts["errors"]:
        _say("published with errors: run `kb check` to see them")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Host to listen on.")
@click.option(
    "-p", "--port", default=8001, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free port)."
)
@click.option("--public", is_flag=True, help="Hardened public instance: no arbitrary SQL, no downloads, tight limits.")
@click.option("--watch/--no-watch", default=True, show_default=True, help="Rebuild and restart when a file changes.")
@_allow_errors_option
@_root_option
@_guard
def serve(host, port, public, watch, allow_errors, root) -> None:
    """Build if anything changed, then serve the database with Datasette.

    A rebuild that fails (unacknowledged errors, unless --allow-errors) prints the errors
    and leaves the last good build served. SIGTERM, SIGHUP and Ctrl-C stop Datasette too.

    \b
    Example:
        kb serve                       # http://127.0.0.1:8001/
        kb serve --port 8002
        kb serve --public --host 0.0.0.0 --no-watch
    """
    from kb.database.errors import BuildError, UnpublishedErrors
    from kb.serve import ServeError
    from kb.serve import serve as run

    settings = _settings(root)
    refused = []

    def rebuild() -> bool:
        try:
            current = _settings(root)  # kb.toml may have changed too
        except KbError as exc:
            _say(f"{exc.format_message()}; still serving the previous build")
            return False
        if not is_stale(current):
            return False
        try:  # only notes, or claims' frontmatter, changed? (kb.database.update)
            updated = update_database(current, current.database_path, allow_errors=allow_errors, on_wait=_say)
        except BuildError as exc:
            _say(f"build failed; still serving the previous build: {exc}")
            return False
        if updated is not None:
            _report_counts(current.database_path, updated, updated["left_out"])
            return True
        analysis = _analyse(current, None, render=True, incremental=cache_enabled())
        began = _begin_build_states(analysis)
        serving = "; still serving the previous build" if current.database_path.is_file() else ""
        try:
            path = build_database(
                analysis, allow_errors=allow_errors, on_wait=_say, after_rows=lambda: start_check_state(analysis, began)
            )
        except UnpublishedErrors as exc:
            start_check_state(analysis, began)
            refused.append(exc)
            _report_refusal(exc, current.database_path, current.root, serving)
            return False
        except BuildError as exc:
            _say(f"build failed{serving}: {exc}")
            return False
        _keep_build_state(analysis, _report_build(analysis, path), began)
        return True

    rebuild()
    if not settings.database_path.is_file():
        if refused:  # its errors are printed
            sys.exit(1)
        raise KbError("no database to serve")
    try:
        sys.exit(run(settings, host, port, public, watch, rebuild, click.echo))
    except ServeError as exc:
        raise KbError(str(exc)) from None


@main.command()
@click.argument("id_")
@_today_option
@_root_option
@_guard
def show(id_, today, root) -> None:
    """Show a claim or a source with its evidence, links and findings.

    \b
    Example:
        kb show openai-2024-net-loss-projected
    """
    settings = _settings(root)
    analysis = _analyse(settings, today)
    id_ = id_.removeprefix("claim:").removeprefix("source:")
    record = analysis.corpus.record(id_)
    if record is None:
        raise KbError(
            f"no claim or source `{printable(id_)}`"
            + did_you_mean(id_, [*analysis.corpus.claims, *analysis.corpus.sources])
        )
    lines = _show_claim(analysis, record) if record.kind == "claim" else _show_source(analysis, record)
    findings = [f for f in analysis.findings if id_ in (f.claim_id, f.source_id)]
    if findings:
        lines += ["", "Findings:"] + [
            f"  {f.code} [{f.severity}{', acknowledged' if f.acknowledged else ''}] {f.message}" for f in findings
        ]
    click.echo("\n".join(printable(line) for line in lines))  # no control character reaches the terminal


def _show_claim(analysis: Analysis, record) -> list[str]:
    claim = record.model
    lines = [f"claim {claim.id}  ({record.path})", f"  {claim.statement}", ""]
    fields = [
        ("kind", claim.kind),
        ("status", analysis.status[claim.id]),
        ("independent origins", analysis.origins[claim.id]),
        ("subject", claim.subject),
        ("metric", claim.metric),
        ("value", claim.figure()),
        ("period", claim.period),
        ("claimant", claim.claimant),
        ("stated", claim.stated),
        ("verdict", f"{claim.verdict.rating}: {claim.verdict.rationale or ''}" if claim.verdict else None),
    ]
    lines += [f"  {name:<20}{value}" for name, value in fields if value is not None]
    if claim.evidence:
        lines += ["", "Evidence:"]
        for item in claim.evidence:
            via = f" via {item.via}" if item.via else ""
            lines.append(f"  [{item.stance}] {item.source}{via}" + (f" ({item.locator})" if item.locator else ""))
            if item.quote:
                lines.append(f"      “{item.quote}”")
    links = [
        (d["relation"], v.removeprefix("claim:"), d.get("origin"), "->")
        for _, v, d in analysis.graph.out_edges(f"claim:{claim.id}", data=True)
        if v.startswith("claim:")
    ]
    links += [
        (d["relation"], u.removeprefix("claim:"), d.get("origin"), "<-")
        for u, _, d in analysis.graph.in_edges(f"claim:{claim.id}", data=True)
        if u.startswith("claim:")
    ]
    if links:
        lines += ["", "Links:"] + [
            f"  {arrow} {relation} {other} ({origin})" for relation, other, origin, arrow in sorted(links)
        ]
    lines += ["", f"Cite as: [@claim:{claim.id}]"]
    if analysis.settings.base_url:
        lines.append(f"URL:     {analysis.settings.base_url.rstrip('/')}/c/{claim.id}")
    return lines


def _show_source(analysis: Analysis, record) -> list[str]:
    source = record.model
    lines = [f"source {source.id}  ({record.path})", f"  {source.title}", ""]
    fields = [
        ("type", source.type),
        ("publisher", source.publisher),
        ("authors", ", ".join(source.authors) or None),
        ("published", source.published),
        ("language", source.language),
        ("url", source.url),
        ("translation of", source.translation_of),
        ("cites", ", ".join(source.cites) or None),
        ("snapshot", source.snapshot),
    ]
    lines += [f"  {name:<16}{value}" for name, value in fields if value is not None]
    cited_by = sorted(
        {
            u.removeprefix("claim:")
            for u, _, rel in analysis.graph.in_edges(f"source:{source.id}", data="relation")
            if rel == "evidence"
        }
    )
    if cited_by:
        lines += ["", f"Evidence for {len(cited_by)} claims:"] + [f"  {c}" for c in cited_by]
    return lines


@main.command()
@click.argument("code", required=False)
@click.option("--all", "all_", is_flag=True, help="List every rule.")
@_guard
def rule(code, all_) -> None:
    """Show the documentation of a rule, by code or name.

    \b
    Example:
        kb rule KB301
        kb rule numeric-conflict
        kb rule --all
    """
    if all_ or not code:
        for item in RULES.values():
            click.echo(f"{item.code}  {item.name:<26} {item.severity:<8} {item.summary.split('. ')[0].rstrip('.')}")
        return
    found = lookup(code)
    if found is None:
        hint = did_you_mean(code, [*RULES, *(item.name for item in RULES.values())])
        raise KbError(f"unknown rule `{code}`{hint}; see `kb rule --all`")
    click.echo(render_rule(found), nl=False)


@main.command()
@click.argument("kind", type=click.Choice(["claim", "source", "all"]), default="all")
@_guard
def schema(kind) -> None:
    """Print the JSON Schema (draft 2020-12) of claim or source frontmatter, or of either.

    For editor completion: point your YAML extension at the saved file.

    \b
    Example:
        kb schema claim > claim.schema.json
    """
    from kb.frontmatter_schema import json_schema

    click.echo(json.dumps(json_schema(kind), indent=2, ensure_ascii=False))


@main.command()
@click.argument("kind", type=click.Choice(["claim", "source"]))
@click.argument("id_")
@click.option("--folder", help="Subfolder (default: the subject or publisher, as a slug).")
@click.option("--subject", help="Claim: the entity it is about.")
@click.option("--publisher", help="Source: who published it.")
@_root_option
@_guard
def new(kind, id_, folder, subject, publisher, root) -> None:
    """Write a skeleton claim or source file that passes the schema.

    \b
    Example:
        kb new claim openai-2025-revenue --subject OpenAI
        kb new source reuters-2025-06-openai-revenue --publisher Reuters
    """
    from kb.graph import entity_id
    from kb.models import ID_PATTERN

    settings = _settings(root, need_claims=False)
    if folder is not None and not ID_PATTERN.match(folder):
        raise KbError(f"--folder must be a plain folder name such as `openai`, not `{folder}`")
    if not ID_PATTERN.match(id_) or len(id_) > 100:
        raise KbError(f"invalid id `{id_}`: use lower-case letters, digits and single hyphens")
    base = settings.claims_dir if kind == "claim" else settings.sources_dir
    group = folder or entity_id(subject or publisher or "misc")
    path = base / group / f"{id_}.md"
    if path.exists():
        raise KbError(f"{path.relative_to(settings.root)} already exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_skeleton(kind, id_, subject, publisher), encoding="utf-8")
    click.echo(f"Wrote {path.relative_to(settings.root)}")


def _skeleton(kind: str, id_: str, subject: str | None, publisher: str | None) -> str:
    today = date.today().isoformat()
    if kind == "claim":
        return (
            f"---\nid: {id_}\nstatement: TODO one English sentence.\nkind: fact\n"
            f"subject: {json.dumps(subject or 'TODO')}\nclaimant: TODO\nstated: {today}\n"
            'evidence: []\n# evidence:\n#   - source: SOURCE-ID\n#     quote: "verbatim excerpt"\n#     locator: line 1\n'
            "---\nNotes: context, how the period was resolved, caveats.\n"
        )
    return (
        f"---\nid: {id_}\ntitle: TODO\ntype: article\npublisher: {json.dumps(publisher or 'TODO')}\n"
        f"published: {today[:7]}\n---\nWhat this source is and where it was found.\n"
    )


def _resolve_keys(analysis: Analysis, ids) -> list[str]:
    from kb.cite import key_hint, resolve_key

    keys, unknown = [], []
    for text in ids:
        key = resolve_key(analysis, text)
        if key is None:
            unknown.append(f"kb: error: no claim or source `{text}`{key_hint(analysis, text)}")
        else:
            keys.append(key)
    if unknown:
        click.echo("\n".join(unknown), err=True)
        sys.exit(1)
    return keys


@main.command()
@click.argument("ids", nargs=-1, required=True)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["pandoc", "markdown", "text", "csl-json", "bibtex"]),
    default="pandoc",
    show_default=True,
    help="pandoc `[@claim:ID]`; markdown: the citation with a footnote of the evidence; text: a formatted "
    "reference; csl-json or bibtex items.",
)
@_today_option
@_root_option
@_guard
def cite(ids, fmt, today, root) -> None:
    """Cite claims or sources: `claim:ID`, `src:ID` or a bare ID.

    An unknown id is an error (exit 1) with the nearest known one.

    \b
    Example:
        kb cite openai-2024-net-loss-projected              # [@claim:openai-2024-net-loss-projected]
        kb cite claim:openai-2024-net-loss-projected -f markdown
        kb cite src:the-information-2024-07-24-why-openai-could-lose-5-billion -f bibtex
    """
    from kb.cite import cite_as

    analysis = _analyse(_settings(root), today)
    click.echo(cite_as(analysis, _resolve_keys(analysis, ids), fmt), nl=False)


@main.command("export")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(["csl-json", "bibtex", "json", "graphml", "claimreview"]))
@click.option("-o", "--output-file", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@_today_option
@_root_option
@_guard
def export_(fmt, output_file, today, root) -> None:
    """Export every claim and source: csl-json, bibtex, json, graphml or claimreview.

    \b
    csl-json     CSL-JSON for pandoc, Quarto and Zotero (keys claim:ID and src:ID)
    bibtex       BibTeX (@misc claims with status and figure in the note)
    json         the whole graph, round-trippable (kb.exports.graph_from_json)
    graphml      the graph for Gephi and networkx, scalar attributes only
    claimreview  schema.org ClaimReview JSON-LD for the claims with a verdict

    \b
    Example:
        kb export csl-json -o refs/kb.json
        kb export graphml -o kb.graphml
    """
    from kb.exports import export

    analysis = _analyse(_settings(root), today)
    text = export(analysis, fmt)
    if output_file:
        _write_atomically(output_file, text)
    else:
        click.echo(text, nl=False)


@main.command("check-draft")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_report_options
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings fail the check.")
@click.option("--no-database", is_flag=True, help="Analyse the knowledge base even when the database is current.")
@_today_option
@_root_option
@_guard
def check_draft(files, fmt, output_file, strict, exit_zero, no_database, today, root) -> None:
    """Check Markdown or Quarto drafts that cite claims (rules KB501-KB505).

    Unknown keys (KB501), contested (KB502), refuted or superseded claims (KB503), a figure
    beside a citation that disagrees with the claim (KB504), a figure of the knowledge base
    stated without its citation (KB505). Suppress a reviewed case in the draft with
    `<!-- kb: ignore KB502 reason -->`. Same formats, severities and exit codes as `kb check`.
    When the database is current (`kb build`), it is read instead of analysing the files.

    \b
    Example:
        kb check-draft examples/money-trap.md
        kb check-draft docs/*.qmd --format github
    """
    from kb.drafts import DraftIndex, check_drafts

    settings = _settings(root)
    # A current database answers without an analysis run (the same facts, written by kb build).
    index = None if today or no_database else DraftIndex.from_database(settings)
    if index is None:
        index = DraftIndex.build(_analyse(settings, today))
    shown = []
    for path in files:
        absolute = path.resolve()
        shown.append(
            absolute.relative_to(settings.root).as_posix() if absolute.is_relative_to(settings.root) else str(path)
        )
    findings = check_drafts(index, list(files), shown)
    _finish_report(findings, fmt, output_file, strict, exit_zero, settings.root)


def _finish_report(findings, fmt, output_file, strict, exit_zero, root: Path) -> None:
    if output_file:  # (as `kb check -o`: missing folders made, a located error if it cannot be)
        _write_report(output_file, render_bytes(findings, fmt or "concise", root))
    else:
        click.echo(render(findings, fmt or "concise", root), nl=False)
    if (fmt or "concise") == "github" and os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary_file:
            summary_file.write(render_step_summary(findings))
    failing = [f for f in findings if f.fails or (strict and f.severity == "warning" and not f.acknowledged)]
    if failing and not exit_zero:
        sys.exit(1)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--wheel",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="kb's wheel to ship (default: build it from the source tree kb runs from).",
)
@_root_option
@_guard
def package(directory, wheel, root) -> None:
    """Write a deploy directory: Dockerfile, database, metadata, kb's wheel, pinned constraints.

    Builds the database first if anything changed. Runs no docker: build the image with
    `docker build DIRECTORY`, or deploy with `gcloud run deploy --source DIRECTORY` or
    `fly launch` in it. The directory holds the database and must not be committed.

    \b
    Example:
        kb package /tmp/kb-site && docker build -t kb-site /tmp/kb-site
    """
    from kb.database.errors import BuildError
    from kb.publish import PublishError, write_package

    settings = _settings(root)
    if is_stale(settings):
        analysis = _analyse(settings, None, render=True, incremental=cache_enabled())
        began = _begin_build_states(analysis)
        try:
            path = build_database(analysis, after_rows=lambda: start_check_state(analysis, began))
            _keep_build_state(analysis, _report_build(analysis, path), began)
        except BuildError as exc:
            raise KbError(str(exc)) from None
    try:
        files = write_package(settings, directory, wheel)
    except PublishError as exc:
        raise KbError(str(exc)) from None
    click.echo(f"Wrote {directory}: " + ", ".join(path.name for path in files))


def run() -> None:
    """The ``kb`` command: :func:`main`, then a prompt exit. A large check or build leaves
    millions of objects that a normal interpreter exit frees one by one (0.1-0.2 s at 100k
    files, with nothing left to do: every file is closed and every child process stopped by
    then), so the output is flushed and the process ends at once, as mypy does. Tests call
    :func:`main` through click's runner, which this does not touch."""
    code: int = 0
    try:
        main()
    except SystemExit as exc:  # click ends every command with sys.exit
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # a message: printed, exit status 1, as the interpreter does
            print(exc.code, file=sys.stderr)
            code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that has gone, a stream already closed
            pass
    from kb.cache import wait_for_writers

    try:
        wait_for_writers()  # what the command stores in the cache is there when it has ended
    except KeyboardInterrupt:  # Ctrl-C (again) meanwhile: the children finish their writes alone
        code = 130
    os._exit(code)
