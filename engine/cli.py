"""Command line: `python -m engine assess|explain|rules|check|bench ...`.

Exit codes: 0 ok; 1 the check found problems; 2 the case (or the command line) is invalid;
3 the knowledge base is broken. Messages go to stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from engine.answer_forms import date_questions, for_reasoning
from engine.assessment import assess
from engine.bench import run_bench
from engine.case import Case, parse_text, read_case, read_text_limited
from engine.check import check
from engine.errors import CaseError, KnowledgeBaseError, Problem
from engine.explain import resolve
from engine.explain_text import explanation_text
from engine.inference import Evaluator
from engine.kb_loader import DEFAULT_DIR, KnowledgeBase, load
from engine.render import render_bytes
from engine.report import EngineError
from engine.sources import SOURCE_ENV, quote_problems, source_path
from engine.suggest import nearest
from engine.whatif import CONCLUSION_KINDS

EXIT_OK, EXIT_FOUND, EXIT_INVALID, EXIT_KB = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
        print("Refusing to write a PDF to the terminal: give -o FILE or redirect stdout.",
              file=sys.stderr)
        return EXIT_INVALID
    case = _read(kb, args.case)
    try:
        report = assess(case, Evaluator(kb), explain=True, pairs=args.format == "json")
        # JSON is the report alone; the other formats also show the case notes (escaped).
        data = (json.dumps(report.to_json_dict(), indent=2, ensure_ascii=False).encode() + b"\n"
                if args.format == "json" else render_bytes(report, args.format, kb, notes=case.notes))
    except OSError as exc:  # e.g. WeasyPrint cannot load pango
        hint = (" The PDF needs pango (Debian: libpango-1.0-0 libpangoft2-1.0-0; see "
                "scripts/setup.sh)." if args.format == "pdf" else "")
        print(f"Cannot render the {args.format} report: {exc}.{hint}", file=sys.stderr)
        return EXIT_INVALID
    if args.output:
        try:
            args.output.write_bytes(data)
        except OSError as exc:
            print(f"Cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_INVALID
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return EXIT_OK


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
            print(f"--why-not: unknown conclusion '{args.why_not}'{hint} (allowed: {', '.join(known)})",
                  file=sys.stderr)
            return EXIT_INVALID
    report = assess(_read(kb, args.case), Evaluator(kb), explain=True, pairs=True)
    sys.stdout.write(explanation_text(kb, report, why_not))
    return EXIT_OK


def _cmd_bench(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    figures = run_bench(kb, repeat=max(1, args.repeat))
    if args.json:
        print(json.dumps(figures))
    else:
        for name in ("assess_ms", "explain_ms"):
            print(f"{name}: p50 {figures[name]['p50']:.2f} ms, p95 {figures[name]['p95']:.2f} ms")
    return EXIT_OK


def _cmd_rules(kb: KnowledgeBase) -> int:
    for rule in kb.rules:
        print(f"{rule.id}  [stratum {kb.strata[rule.id]}]")
        print(f"  {rule.title}")
        print(f"  then: {', '.join(rule.then)}")
        print(f"  source: {rule.source.section}: \"{rule.source.quote}\"")
    print(f"\n{len(kb.rules)} rules, knowledge base {kb.meta.version} ({kb.sha256[:12]})")
    return EXIT_OK


def _cmd_check(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    # Imported here so this command's edits stay inside this function (cli.py is shared).
    from hashlib import sha256

    from engine.check import vignette_coverage
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
        print(problem, file=sys.stderr)
    entries = sum(len(e) for e in kb.catalogue.values())
    print(f"{len(kb.rules)} rules ({len(report.fireable)} can fire), {len(kb.questions)} questions, "
          f"{entries} catalogue entries; {vignettes}; {quotes}; {positions}; {len(problems)} problem(s)")
    return EXIT_FOUND if problems else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
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
        print(f"Cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID


def _run(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        # `check --source` re-verifies the quotes itself, so it may load quotes not yet locked.
        kb = load(args.kb, verify_citations=not (args.command == "check" and args.source))
    except KnowledgeBaseError as exc:
        print("The knowledge base is broken; no advice can be given until it is fixed:",
              file=sys.stderr)
        for line in exc.lines():
            print(f"  {line}", file=sys.stderr)
        return EXIT_KB
    try:
        if args.command == "assess":
            return _cmd_assess(kb, args)
        if args.command == "explain":
            return _cmd_explain(kb, args)
        if args.command == "rules":
            return _cmd_rules(kb)
        if args.command == "bench":
            return _cmd_bench(kb, args)
        return _cmd_check(kb, args)
    except CaseError as exc:
        print("The case is invalid; nothing was assessed:", file=sys.stderr)
        for line in exc.lines():
            print(f"  {line}", file=sys.stderr)
        return EXIT_INVALID
    except EngineError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return EXIT_KB
