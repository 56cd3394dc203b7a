"""Command line: `python -m engine assess|explain|batch|rules|check|bench ...`.

Exit codes: 0 ok; 1 the check found problems; 2 the case (or the command line) is invalid, or
the output cannot be written (stdout closed, disk full); 3 the knowledge base is broken.
Messages go to stderr, never a traceback; every message and every text written is inert
(control characters shown as escapes, `engine.inert`).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from engine.answer_forms import date_questions, for_reasoning
from engine.assessment import assess
from engine.case import Case, load_text, parse_text, read_case, read_text_limited
from engine.errors import CaseError, KnowledgeBaseError, Problem
from engine.explain import resolve
from engine.inert import escape_controls
from engine.inference import Evaluator
from engine.json_io import dumps as json_dumps
from engine.kb_loader import DEFAULT_DIR, KnowledgeBase, load_cached
from engine.report import EngineError
from engine.sources import SOURCE_ENV, quote_problems, source_path
from engine.suggest import nearest
from engine.whatif import CONCLUSION_KINDS

if TYPE_CHECKING:
    from engine.batch import Row

# What a command does not need is imported by the command (start-up time is the user's):
# the batch, its table, the renderer (Jinja), the check and the benchmark.
TABLE_FORMATS: tuple[str, ...] = ("csv", "json", "markdown", "html")  # = engine.batch_table.FORMATS

EXIT_OK, EXIT_FOUND, EXIT_INVALID, EXIT_KB = 0, 1, 2, 3
_KEEP = "\n\t"


def _say(*lines: object) -> None:
    """Messages for the user, on stderr, inert."""
    for line in lines:
        sys.stderr.write(escape_controls(f"{line}\n", keep=_KEEP))


def _out(text: str) -> None:
    """Text output on stdout, inert."""
    sys.stdout.write(escape_controls(text, keep=_KEEP))


class _Parser(argparse.ArgumentParser):
    """argparse whose error messages (they echo the arguments) are inert."""

    def error(self, message: str) -> NoReturn:
        """Print the usage and the message to stderr; exit 2."""
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, escape_controls(f"{self.prog}: error: {message}\n", keep="\n"))


class _Closed(io.TextIOBase):
    """Stands for a standard stream that was closed when the process started (`>&-`): Python
    sets sys.stdout to None then. Writing raises EBADF, which main() reports."""

    def __init__(self, name: str) -> None:
        self.stream_name = name

    @property
    def buffer(self) -> _Closed:
        """Binary writes go to the same closed stream."""
        return self

    def write(self, text: Any) -> int:
        """Refuse: the stream is closed."""
        raise OSError(errno.EBADF, f"{self.stream_name} is closed")

    def isatty(self) -> bool:
        """Not a terminal."""
        return False


class _Discard(io.TextIOBase):
    """Stands for a closed stderr: messages have nowhere to go."""

    def write(self, text: Any) -> int:
        """Drop the text."""
        return len(text)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m engine",
        description="Emotional detachment decision support. Supports clinical judgment; "
        "does not replace it.",
    )
    parser.add_argument("--kb", type=Path, default=DEFAULT_DIR, help="knowledge base directory")
    sub = parser.add_subparsers(dest="command", required=True)
    p_assess = sub.add_parser("assess", help="assess a case file (JSON or YAML; - for stdin)")
    p_assess.add_argument("case")
    p_assess.add_argument("--format", choices=["json", "markdown", "html", "pdf"], default="json")
    p_assess.add_argument("-o", "--output", type=Path,
                          help="write to this file (pdf: required when stdout is a terminal)")
    p_explain = sub.add_parser("explain", help="explain an assessment: how, why not, what would change it")
    p_explain.add_argument("case")
    p_explain.add_argument("--why-not", metavar="CONCLUSION",
                           help="a conclusion not reached, e.g. adaptive or driver.alexithymia")
    p_batch = sub.add_parser("batch", help="assess many case files: one table, a row per case, the "
                             "cases that need attention first")
    p_batch.add_argument("cases", nargs="+", metavar="CASE",
                         help="case files, or directories of them (*.json, *.yaml, *.yml)")
    p_batch.add_argument("--format", choices=list(TABLE_FORMATS), default="markdown")
    p_batch.add_argument("-o", "--output", type=Path, help="write to this file")
    p_batch.add_argument("--workers", type=int, default=None,
                         help="worker processes for large batches (default: the CPUs)")
    sub.add_parser("rules", help="list the rules with their sources")
    p_bench = sub.add_parser("bench", help="time assessment and explanations over the vignettes")
    p_bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    p_bench.add_argument("--repeat", type=int, default=20)
    p_check = sub.add_parser("check", help="validate the knowledge base")
    p_check.add_argument("--source", type=Path, default=None,
                         help=f"source document for quote checks (default ${SOURCE_ENV} or "
                              "../shared/seed/emotional-detachment.txt)")
    return parser


def _cmd_assess(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    if args.format == "pdf" and args.output is None and sys.stdout.isatty():
        _say("Refusing to write a PDF to the terminal: give -o FILE or redirect stdout.")
        return EXIT_INVALID
    case = _read(kb, args.case)
    from engine.render import render_bytes

    try:
        report = assess(case, Evaluator(kb), explain=True, pairs=args.format == "json")
        # JSON is the report alone; the other formats also show the case notes (escaped).
        data = (json_dumps(report.to_json_dict()).encode() + b"\n"
                if args.format == "json" else render_bytes(report, args.format, kb, notes=case.notes))
    except OSError as exc:  # e.g. WeasyPrint cannot load pango
        hint = (" The PDF needs pango (Debian: libpango-1.0-0 libpangoft2-1.0-0; see "
                "scripts/setup.sh)." if args.format == "pdf" else "")
        _say(f"Cannot render the {args.format} report: {exc}.{hint}")
        return EXIT_INVALID
    if args.output:
        try:
            args.output.write_bytes(data)
        except OSError as exc:
            _say(f"Cannot write {args.output}: {exc.strerror or exc}")
            return EXIT_INVALID
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return EXIT_OK


CASE_SUFFIXES = (".json", ".yaml", ".yml")


def _batch_inputs(names: Sequence[str]) -> tuple[list[tuple[str, object]], list[Row]]:
    """The case data of each file (directories give their case files, sorted), and the rows of
    the files that cannot be read."""
    from engine.batch import error_row

    items: list[tuple[str, object]] = []
    errors: list[Row] = []
    for name in names:
        path = Path(name)
        paths = (sorted(p for p in path.iterdir() if p.suffix.lower() in CASE_SUFFIXES and p.is_file())
                 if path.is_dir() else [path])
        if not paths:
            errors.append(error_row(name, [f"{name}: holds no case files ({', '.join(CASE_SUFFIXES)})"]))
        for p in paths:
            source = p.name if len(names) == 1 and path.is_dir() else str(p)
            try:
                with p.open("rb") as stream:
                    items.append((source, load_text(read_text_limited(stream, p.name), p.name)))
            except OSError as exc:
                problem = Problem(str(p), f"cannot be read: {exc.strerror or exc}")
                errors.append(error_row(source, [str(problem)]))
            except CaseError as exc:
                errors.append(error_row(source, exc.lines()))
    return items, errors


def _cmd_batch(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    from engine.batch import batch
    from engine.batch_table import render_table

    items, errors = _batch_inputs(args.cases)
    rows = batch(kb, items, errors, kb_dir=args.kb, workers=args.workers)
    data = render_table(rows, args.format, kb).encode()
    if args.output:
        try:
            args.output.write_bytes(data)
        except OSError as exc:
            _say(f"Cannot write {args.output}: {exc.strerror or exc}")
            return EXIT_INVALID
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    invalid = sum(r.invalid for r in rows)
    if invalid:
        _say(f"{invalid} of {len(rows)} case{'s' if len(rows) > 1 else ''} could not be assessed "
             "(their rows say why).")
    return EXIT_INVALID if invalid else EXIT_OK


def _read(kb: KnowledgeBase, name: str) -> Case:
    if name == "-":
        case = parse_text(read_text_limited(sys.stdin.buffer, "stdin"), kb, name="stdin")
    else:
        case = read_case(name, kb)
    # Dates count to the assessment date: the case's own as_of, else today (shown in the report).
    return for_reasoning(kb, case, date.today()) if case.as_of is None and date_questions(
        kb, case.answers) else case


def _cmd_explain(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    why_not = None
    if args.why_not:
        why_not = resolve(kb, args.why_not)
        if why_not is None:
            known = {f"{k}.{i}": i for k in CONCLUSION_KINDS for i in kb.catalogue[k]}
            close = [ref for ref, ident in known.items()
                     if ident in nearest(args.why_not.rpartition(".")[2], known.values())]
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            _say(f"--why-not: unknown conclusion '{args.why_not}'{hint} (allowed: {', '.join(known)})")
            return EXIT_INVALID
    report = assess(_read(kb, args.case), Evaluator(kb), explain=True, pairs=True)
    from engine.explain_text import explanation_text

    _out(explanation_text(kb, report, why_not))
    return EXIT_OK


def _cmd_bench(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    from engine.bench import run_bench

    figures = run_bench(kb, repeat=max(1, args.repeat))
    if args.json:
        _out(json.dumps(figures) + "\n")
    else:
        phases = ("assess_ms", "explain_ms", "explain_pairs_ms")
        _out("Milliseconds, each case's median over the repeats; then p50 / p95 / max over cases.\n")
        _out(f"{'case':40} {'assess':>8} {'explain':>8} {'+pairs':>8}\n")
        for case, times in figures["cases"]["per_case"].items():
            _out(f"{case[:40]:40} " + " ".join(f"{times[p]:8.2f}" for p in phases) + "\n")
        for name in (*phases, "fresh_engine_ms"):
            f = figures[name]
            _out(f"{name}: p50 {f['p50']:.2f} ms, p95 {f['p95']:.2f} ms, max {f['max']:.2f} ms\n")
        _out(f"fresh engine, mean with the collection of the dropped engines: "
             f"{figures['fresh_engine_ms']['mean_with_collection']:.2f} ms\n")
    return EXIT_OK


def _cmd_rules(kb: KnowledgeBase) -> int:
    for rule in kb.rules:
        _out(f"{rule.id}  [stratum {kb.strata[rule.id]}]\n  {rule.title}\n"
             f"  then: {', '.join(rule.then)}\n"
             f"  source: {rule.source.section}: \"{rule.source.quote}\"\n")
    _out(f"\n{len(kb.rules)} rules, knowledge base {kb.meta.version} ({kb.sha256[:12]})\n")
    return EXIT_OK


def _cmd_check(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    # Imported here so this command's edits stay inside this function (cli.py is shared).
    from hashlib import sha256

    from engine.check import check, vignette_coverage
    from engine.citations import LOCK_FILE, build_lock, read_lock, unlocked, write_lock
    from engine.partition import prove_partition
    from engine.sources import split_sections
    from engine.vignettes import load_vignettes

    report = check(kb)
    problems = list(report.problems)
    cited = kb.sources()
    try:
        loaded = load_vignettes(Path(args.kb) / "vignettes")
        coverage = vignette_coverage(kb, loaded)
    except KnowledgeBaseError as exc:
        problems.extend(exc.problems)
        vignettes = "vignettes NOT run (invalid vignette files)"
    else:
        cited += [(f"vignette {v.id}", v.source) for v in loaded]
        problems.extend(coverage.problems)
        vignettes = (f"{coverage.vignettes} vignettes fire {len(coverage.fired)} of "
                     f"{len(kb.rules)} rules")
    path = args.source or source_path()
    document = None
    if path.is_file():
        try:
            document = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), f"the source document cannot be read: {exc}"))
    if document is not None:
        found = quote_problems(kb, document, cited[len(kb.sources()):])
        problems.extend(found)
        quotes = f"quotes checked against {path}"
        if args.source and not found:
            write_lock(Path(args.kb), build_lock(cited, document,
                                                 split_sections(document, kb.meta.sections)))
            quotes += f" and locked in {LOCK_FILE}"
    elif args.source:
        quotes = f"source document not found at {path}"
        problems.append(Problem("source", quotes))
    else:
        quotes = f"quotes checked against {LOCK_FILE} (no source document at {path})"
    lock, lock_problems = read_lock(Path(args.kb))
    problems.extend(lock_problems)
    if lock is not None:
        problems.extend(unlocked(cited, lock))
        if document is not None and lock.source_sha256 != sha256(document.encode()).hexdigest():
            problems.append(Problem(LOCK_FILE, "was verified against another version of the source; "
                                               "re-verify with `python -m engine check --source FILE`"))
    partition = prove_partition(kb)
    for point, got, answers in partition.violations:
        facts, weights = point
        where = ", ".join([*sorted(facts), *(f"{t} weighs {w}" for t, w in weights.items())]) or "nothing"
        example = f"; for example the answers {answers}" if answers is not None else ""
        problems.append(Problem("spectrum", f"a case with {where} gets "
                                            f"{' and '.join(got) or 'no position'}{example}"))
    positions = (f"every case gets exactly one position ({partition.points} combinations of the "
                 "decision's inputs)" if not partition.violations else
                 f"{len(partition.violations)} combination(s) get no position or several")
    for problem in problems:
        _say(problem)
    entries = sum(len(e) for e in kb.catalogue.values())
    _out(f"{len(kb.rules)} rules ({len(report.fireable)} can fire), {len(kb.questions)} questions, "
         f"{entries} catalogue entries; {vignettes}; {quotes}; {positions}; {len(problems)} problem(s)\n")
    return EXIT_FOUND if problems else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    closed = sys.stdout is None, sys.stderr is None
    if closed[0]:
        sys.stdout = _Closed("standard output")
    if closed[1]:
        sys.stderr = _Discard()
    for stream in (sys.stdout, sys.stderr):
        # Reports are UTF-8 whatever the terminal's encoding; never a UnicodeEncodeError.
        with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
            stream.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[union-attr]
    try:
        return _run(argv)
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, and keep the exit flush quiet too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        _say(f"Cannot write the output: {exc.strerror or exc}")
        return EXIT_INVALID
    finally:
        if closed[0]:
            sys.stdout = None
        if closed[1]:
            sys.stderr = None


def _run(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        # `check --source` re-verifies the quotes itself, so it may load quotes not yet locked.
        kb = load_cached(args.kb, verify_citations=not (args.command == "check" and args.source))
    except KnowledgeBaseError as exc:
        _say("The knowledge base is broken; no advice can be given until it is fixed:",
             *(f"  {line}" for line in exc.lines()))
        return EXIT_KB
    try:
        if args.command == "assess":
            return _cmd_assess(kb, args)
        if args.command == "explain":
            return _cmd_explain(kb, args)
        if args.command == "batch":
            return _cmd_batch(kb, args)
        if args.command == "rules":
            return _cmd_rules(kb)
        if args.command == "bench":
            return _cmd_bench(kb, args)
        return _cmd_check(kb, args)
    except CaseError as exc:
        _say("The case is invalid; nothing was assessed:", *(f"  {line}" for line in exc.lines()))
        return EXIT_INVALID
    except EngineError as exc:
        _say(*exc.lines())
        return EXIT_KB
