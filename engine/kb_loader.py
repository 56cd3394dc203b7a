"""Load `knowledge_base/` once, validate every entry, and index it.

A broken file stops everything with problems naming the file, the entry and what is wrong:
no advice is given from a knowledge base that did not validate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from engine.citations import read_lock, unlocked
from engine.errors import KnowledgeBaseError, Problem
from engine.knowledge import (
    DERIVED_KINDS,
    UNKNOWN,
    AnswerIn,
    AnswerRange,
    Approach,
    Argument,
    Bounded,
    Caution,
    Entry,
    Finding,
    Group,
    Holds,
    Interpretation,
    KeyMarker,
    Measure,
    Meta,
    Parameter,
    Position,
    Question,
    Recommendation,
    Rule,
    Source,
    Tally,
    TallyRange,
)
from engine.suggest import did_you_mean
from engine.yaml_io import YAMLError, loads

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "knowledge_base"

# Catalogue files hold lists under these keys; the key names the kind of fact a rule asserts.
CATALOGUE_KEYS: dict[str, tuple[str, type[Entry]]] = {
    "findings": ("finding", Finding),
    "arguments": ("argument", Argument),
    "spectrum": ("spectrum", Position),
    "drivers": ("driver", Entry),
    "formulations": ("formulation", Entry),
    "origins": ("origin", Entry),
    "recommendations": ("recommendation", Recommendation),
    "cautions": ("caution", Caution),
    "reflections": ("reflection", Entry),
    "measures": ("measure", Measure),
    "interpretations": ("interpretation", Interpretation),
    "inconsistencies": ("inconsistency", Entry),
}

# Files a knowledge base must have; a missing one is named, not guessed from its absent entries.
SPECIAL_FILES = ("meta.yaml", "questions.yaml", "parameters.yaml", "weighing.yaml", "assessment.yaml")
REQUIRED_FILES = (*SPECIAL_FILES, "conclusions.yaml", "findings.yaml", "cautions.yaml",
                  "interventions.yaml", "measures.yaml", "reflections.yaml", "inconsistencies.yaml")

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """The validated knowledge base, indexed for the engine, the explanations and the views.

    Compared and hashed by identity: each load is its own knowledge base.
    """

    meta: Meta
    steps: tuple[Group, ...]
    groups: tuple[Group, ...]
    questions: Mapping[str, Question]
    rules: tuple[Rule, ...]
    catalogue: Mapping[str, Mapping[str, Entry]]
    approaches: Mapping[str, Approach]
    parameters: Mapping[str, Parameter]
    sha256: str
    tallies: Mapping[str, Tally] = field(default_factory=dict)
    key_markers: tuple[KeyMarker, ...] = ()
    strata: Mapping[str, int] = field(default_factory=dict)

    def entry(self, ref: str) -> Entry:
        """The catalogue entry for a 'kind.id' reference."""
        kind, _, ident = ref.partition(".")
        return self.catalogue[kind][ident]

    def param(self, bound: int | str | None) -> int | None:
        """A condition bound: a literal number, or the value of the named parameter."""
        if bound is None or isinstance(bound, int):
            return bound
        return self.parameters[bound].value

    def bounds(self, cond: Bounded) -> tuple[float, float]:
        """The inclusive numeric bounds of a range or tally condition, parameters resolved."""
        lo, hi, below = self.param(cond.at_least), self.param(cond.at_most), self.param(cond.below)
        high = hi if hi is not None else (below - 1 if below is not None else float("inf"))
        return (lo if lo is not None else float("-inf"), high)

    def tally_arguments(self, tally: str) -> tuple[tuple[str, int], ...]:
        """The arguments ('argument.id') that add to a tally, with their weights, sorted."""
        out = []
        for ident, entry in sorted(self.catalogue.get("argument", {}).items()):
            if isinstance(entry, Argument) and entry.tally == tally:
                weight = self.param(entry.weight)
                out.append((f"argument.{ident}", int(weight if weight is not None else 0)))
        return tuple(out)

    def tally_reads(self, cond: TallyRange) -> set[str]:
        """The argument facts a tally condition weighs."""
        tallies = [cond.tally] + ([cond.minus] if cond.minus else [])
        return {ref for t in tallies for ref, _ in self.tally_arguments(t)}

    def reads(self, rule: Rule) -> set[str]:
        """The derived facts a rule reads: positively, through `unless`, or weighed in a tally."""
        out = set(rule.unless)
        for c in rule.when:
            if isinstance(c, Holds):
                out.add(c.fact)
            elif isinstance(c, TallyRange):
                out |= self.tally_reads(c)
        return out

    def category_of(self, qid: str) -> Question | None:
        """The choice question that answers for the number `qid` as a category, if any."""
        return next((q for q in self.questions.values() if q.kind == "choice" and q.answers_for
                     and q.answers_for.question == qid), None)

    def span(self, category: Question, option: str) -> tuple[float, float]:
        """The inclusive range of the number a category option stands for."""
        assert category.answers_for is not None
        target = self.questions[category.answers_for.question]
        sp = category.answers_for.spans[option]
        lo, below = self.param(sp.at_least), self.param(sp.below)
        low = lo if lo is not None else (target.minimum if target.minimum is not None else float("-inf"))
        high = below - 1 if below is not None else (
            target.maximum if target.maximum is not None else float("inf"))
        return (float(low), float(high))

    def category_split(self, cond: AnswerRange) -> tuple[str, frozenset[str], frozenset[str]] | None:
        """For a range condition on a number that a category answers for: the category question,
        the options whose whole range meets the condition, and those whose range misses it."""
        category = self.category_of(cond.answer)
        if category is None:
            return None
        low, high = self.bounds(cond)
        inside, outside = set(), set()
        for option in category.answers_for.spans if category.answers_for else {}:
            lo, hi = self.span(category, option)
            if low <= lo and hi <= high:
                inside.add(option)
            elif hi < low or lo > high:
                outside.add(option)
        return category.id, frozenset(inside), frozenset(outside)

    def questions_in(self, section: str) -> list[Question]:
        """The questions of one case section, in catalogue order."""
        return [q for q in self.questions.values() if q.section == section]

    def sources(self) -> list[tuple[str, Source]]:
        """Every entry with its source, named for messages."""
        out: list[tuple[str, Source]] = [(f"question {q.id}", q.source) for q in self.questions.values()]
        out += [(f"rule {r.id}", r.source) for r in self.rules]
        out += [(f"{kind} {e.id}", e.source) for kind, entries in self.catalogue.items()
                for e in entries.values()]
        out += [(f"approach {a.id}", a.source) for a in self.approaches.values()]
        out += [(f"parameter {p.id}", p.source) for p in self.parameters.values()]
        out += [(f"tally {t.id}", t.source) for t in self.tallies.values()]
        out += [(f"key marker {m.id}", m.source) for m in self.key_markers]
        return out

    def asserters(self, ref: str) -> list[Rule]:
        """The rules that can assert a 'kind.id' fact."""
        return list(_asserters(self).get(ref, ()))


@cache
def _asserters(kb: KnowledgeBase) -> dict[str, tuple[Rule, ...]]:
    """For each fact, the rules that can assert it, in the rules' order (once per knowledge base)."""
    out: dict[str, list[Rule]] = {}
    for rule in kb.rules:
        for ref in dict.fromkeys(rule.then):
            out.setdefault(ref, []).append(rule)
    return {ref: tuple(rules) for ref, rules in out.items()}


def _read_yaml(path: Path, root: Path, problems: list[Problem]) -> Any:
    rel = _rel(path, root)
    try:
        return loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(rel, f"cannot be read: {exc}"))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{rel}:{mark.line + 1}" if mark is not None else rel
        problems.append(Problem(where, f"is not valid YAML: {getattr(exc, 'problem', exc)}"))
    except (RecursionError, ValueError) as exc:  # absurd nesting, or a number of 4300+ digits
        problems.append(Problem(rel, f"cannot be read: {type(exc).__name__}"))
    return None


def _rel(path: Path, root: Path) -> str:
    return f"{root.name}/{path.relative_to(root).as_posix()}"


def _entries(
    data: Any, key: str, model: type[M], where: str, problems: list[Problem]
) -> Iterator[M]:
    """Validate each entry of a list on its own, so a problem names its entry."""
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        problems.append(Problem(where, f"needs a list under '{key}'"))
        return
    for index, item in enumerate(items):
        label = f"{key}[{index}]"
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            label += f" ({item['id']})"
        try:
            yield model.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
                loc = loc.replace(".in.", ".").replace(".range.", ".").replace(".fact.", ".")
                problems.append(Problem(f"{where}: {label}", f"{loc or 'entry'}: {err['msg']}"))


def _unique(
    items: Iterable[M], what: str, where: str, problems: list[Problem]
) -> dict[str, M]:
    out: dict[str, M] = {}
    for item in items:
        ident = str(getattr(item, "id"))  # noqa: B009 - every catalogued model has an id
        if ident in out:
            problems.append(Problem(where, f"duplicate {what} id '{ident}'"))
        out[ident] = item
    return out


def load(directory: Path | str = DEFAULT_DIR, verify_citations: bool = True) -> KnowledgeBase:
    """Load and validate a knowledge base directory; raise KnowledgeBaseError listing every problem.

    With `verify_citations`, every quote must be in the committed citation lock (a quote edited or
    invented since it was verified against the source stops the knowledge base from advising).
    """
    root = Path(directory)
    problems: list[Problem] = []
    if not root.is_dir():
        raise KnowledgeBaseError([Problem(str(root), "knowledge base directory not found")])
    # Vignettes are teaching cases with expectations, not knowledge the rules use.
    files = sorted(p for p in root.rglob("*.yaml")
                   if p.is_file() and p.relative_to(root).parts[0] != "vignettes")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError as exc:
            raise KnowledgeBaseError([Problem(_rel(path, root), f"cannot be read: {exc.strerror}")]) from None
        digest.update(b"\0")

    for name in REQUIRED_FILES:
        if not (root / name).is_file():
            problems.append(Problem(f"{root.name}/{name}", "missing: a knowledge base needs this file"))

    def doc(name: str) -> tuple[Any, str]:
        path = root / name
        if not path.is_file():
            return None, _rel(path, root)  # named as missing above
        return _read_yaml(path, root, problems), _rel(path, root)

    meta_data, meta_where = doc("meta.yaml")
    meta: Meta | None = None
    try:
        meta = Meta.model_validate(meta_data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            problems.append(Problem(meta_where, f"{loc or 'file'}: {err['msg']}"))

    q_data, q_where = doc("questions.yaml")
    steps = _unique(_entries(q_data, "steps", Group, q_where, problems), "step", q_where, problems)
    groups = _unique(_entries(q_data, "groups", Group, q_where, problems), "group", q_where, problems)
    questions = _unique(
        _entries(q_data, "questions", Question, q_where, problems), "question", q_where, problems
    )

    p_data, p_where = doc("parameters.yaml")
    parameters = _unique(
        _entries(p_data, "parameters", Parameter, p_where, problems), "parameter", p_where, problems
    )

    w_data, w_where = doc("weighing.yaml")
    tallies = _unique(_entries(w_data, "tallies", Tally, w_where, problems), "tally", w_where, problems)
    a_data, a_where = doc("assessment.yaml")
    key_markers = _unique(
        _entries(a_data, "key_markers", KeyMarker, a_where, problems), "key marker", a_where, problems
    )

    catalogue: dict[str, dict[str, Entry]] = {kind: {} for kind in DERIVED_KINDS}
    approaches: dict[str, Approach] = {}
    rules: list[Rule] = []
    rule_files: dict[str, str] = {}
    special = set(SPECIAL_FILES)
    for path in files:
        rel = path.relative_to(root)
        where = _rel(path, root)
        if rel.as_posix() in special:
            continue
        before = len(problems)
        data = _read_yaml(path, root, problems)
        if len(problems) > before:
            continue  # unreadable: one message is enough
        if rel.parts[0] == "rules":
            for rule in _entries(data, "rules", Rule, where, problems):
                if rule.id in rule_files:
                    problems.append(
                        Problem(where, f"duplicate rule id '{rule.id}' (also in {rule_files[rule.id]})")
                    )
                rule_files[rule.id] = where
                rules.append(rule)
            continue
        if not isinstance(data, dict):
            problems.append(Problem(where, "needs a mapping of catalogue lists"))
            continue
        for key in data:
            if key == "approaches":
                approaches.update(
                    _unique(_entries(data, key, Approach, where, problems), "approach", where, problems)
                )
            elif key in CATALOGUE_KEYS:
                kind, model = CATALOGUE_KEYS[key]
                for item in _entries(data, key, model, where, problems):
                    if item.id in catalogue[kind]:
                        problems.append(Problem(where, f"duplicate {kind} id '{item.id}'"))
                    catalogue[kind][item.id] = item
            else:
                allowed = ", ".join(["approaches", *CATALOGUE_KEYS])
                problems.append(Problem(where, f"unknown list '{key}'; allowed: {allowed}"))

    if problems or meta is None:
        raise KnowledgeBaseError(problems)

    kb = KnowledgeBase(
        meta=meta,
        steps=tuple(steps.values()),
        groups=tuple(groups.values()),
        questions=questions,
        rules=tuple(sorted(rules, key=lambda r: r.id)),
        catalogue=catalogue,
        approaches=approaches,
        parameters=parameters,
        sha256=digest.hexdigest(),
        tallies=tallies,
        key_markers=tuple(key_markers.values()),
    )
    problems.extend(reference_problems(kb, rule_files))
    if verify_citations:
        lock, lock_problems = read_lock(root)
        problems.extend(lock_problems)
        if lock is not None:
            problems.extend(unlocked(kb.sources(), lock))
    if problems:
        raise KnowledgeBaseError(problems)
    strata, cycle_problems = stratify(kb.rules, kb.reads)
    problems.extend(cycle_problems)
    if problems:
        raise KnowledgeBaseError(problems)
    object.__setattr__(kb, "strata", strata)
    return kb


@cache
def default_knowledge_base() -> KnowledgeBase:
    """The project's knowledge base, loaded and validated once per process (through the
    on-disk cache of the validated knowledge base, `load_cached`)."""
    return load_cached(DEFAULT_DIR)


def _ref_problem(kb: KnowledgeBase, ref: str) -> str | None:
    kind, _, ident = ref.partition(".")
    if kind not in kb.catalogue:
        return f"unknown kind '{kind}' in '{ref}'{did_you_mean(kind, DERIVED_KINDS)}"
    if ident not in kb.catalogue[kind]:
        return f"unknown {kind} '{ident}'{did_you_mean(ident, kb.catalogue[kind])}"
    return None


def reference_problems(kb: KnowledgeBase, rule_files: Mapping[str, str]) -> list[Problem]:
    """Every id that one entry names and no entry defines."""
    problems: list[Problem] = []
    steps = {s.id for s in kb.steps}
    groups = {g.id for g in kb.groups}
    for q in kb.questions.values():
        where = f"knowledge_base/questions.yaml: questions ({q.id})"
        if q.group not in groups:
            problems.append(Problem(where, f"unknown group '{q.group}'{did_you_mean(q.group, groups)}"))
        if q.step not in steps:
            problems.append(Problem(where, f"unknown step '{q.step}'{did_you_mean(q.step, steps)}"))
        for other, values in q.requires.items():
            target = kb.questions.get(other)
            if target is None:
                problems.append(Problem(where, f"requires unknown question '{other}'"))
            elif not set(values) <= set(target.allowed_options()):
                problems.append(Problem(where, f"requires options '{other}' does not have"))

        if q.answers_for is not None:
            target = kb.questions.get(q.answers_for.question)
            if target is None or target.kind != "integer":
                problems.append(Problem(where, f"answers_for '{q.answers_for.question}', "
                                               "which is not a number question"))
            elif q.requires != target.requires:
                problems.append(Problem(where, f"must have the same requires as '{target.id}'"))
            for option, sp in q.answers_for.spans.items():
                for bound in (sp.at_least, sp.below):
                    if isinstance(bound, str) and bound not in kb.parameters:
                        problems.append(Problem(where, f"span of '{option}': unknown parameter '{bound}'"))
    for marker in kb.key_markers:
        for qid in marker.questions:
            if qid not in kb.questions:
                problems.append(Problem(f"knowledge_base/assessment.yaml: key_markers ({marker.id})",
                                        f"unknown question '{qid}'{did_you_mean(qid, kb.questions)}"))
    for p in kb.parameters.values():
        for other in p.above:
            below = kb.parameters.get(other)
            where = f"knowledge_base/parameters.yaml: parameters ({p.id})"
            if below is None:
                problems.append(Problem(where, f"above: unknown parameter '{other}'"))
            elif not p.value > below.value:
                problems.append(Problem(where, f"value {p.value} must be above {other} ({below.value})"))

    spectrum_ids = set(kb.catalogue["spectrum"])
    for kind, entries in kb.catalogue.items():
        for entry in entries.values():
            where = f"knowledge_base: {kind} ({entry.id})"
            directions: tuple[str, ...] = ()
            if isinstance(entry, Finding) and entry.direction:
                directions = (entry.direction,)
            if isinstance(entry, Position):
                directions = entry.evidence_for + entry.evidence_against
            for d in directions:
                if d not in spectrum_ids:
                    problems.append(Problem(where, f"unknown spectrum position '{d}'"))
            if isinstance(entry, Recommendation) and entry.approach not in kb.approaches:
                problems.append(
                    Problem(where, f"unknown approach '{entry.approach}'"
                            f"{did_you_mean(entry.approach, kb.approaches)}")
                )
            if isinstance(entry, Argument):
                if entry.tally not in kb.tallies:
                    problems.append(Problem(where, f"unknown tally '{entry.tally}'"
                                                   f"{did_you_mean(entry.tally, kb.tallies)}"))
                if isinstance(entry.weight, str) and entry.weight not in kb.parameters:
                    problems.append(Problem(where, f"unknown weight parameter '{entry.weight}'"))
            if isinstance(entry, Interpretation) and entry.measure not in kb.catalogue["measure"]:
                problems.append(Problem(where, f"unknown measure '{entry.measure}'"))
            if isinstance(entry, Measure):
                for score in entry.scores:
                    scored = kb.questions.get(score)
                    if scored is None or scored.section != "measures":
                        problems.append(Problem(where, f"score '{score}' is not a measures question"))

    for rule in kb.rules:
        where = f"{rule_files.get(rule.id, 'knowledge_base/rules')}: rule {rule.id}"
        for i, cond in enumerate(rule.when):
            msg = condition_problem(kb, cond)
            if msg:
                problems.append(Problem(where, f"when[{i}]: {msg}"))
        for key, refs in (("unless", rule.unless), ("then", rule.then)):
            for ref in refs:
                msg = _ref_problem(kb, ref)
                if msg:
                    problems.append(Problem(where, f"{key}: {msg}"))
    return problems


def _bound_problem(kb: KnowledgeBase, cond: Bounded) -> str | None:
    for bound in (cond.at_least, cond.at_most, cond.below):
        if isinstance(bound, str) and bound not in kb.parameters:
            return f"unknown parameter '{bound}'{did_you_mean(bound, kb.parameters)}"
    return None


def condition_problem(kb: KnowledgeBase, cond: AnswerIn | AnswerRange | Holds | TallyRange) -> str | None:
    """What is wrong with one condition's references, or None."""
    if isinstance(cond, Holds):
        return _ref_problem(kb, cond.fact)
    if isinstance(cond, TallyRange):
        for t in (cond.tally, cond.minus):
            if t is not None and t not in kb.tallies:
                return f"unknown tally '{t}'{did_you_mean(t, kb.tallies)}"
        return _bound_problem(kb, cond)
    q = kb.questions.get(cond.answer)
    if q is None:
        return f"unknown question '{cond.answer}'{did_you_mean(cond.answer, kb.questions)}"
    if isinstance(cond, AnswerIn):
        if q.kind != "choice":
            return f"'{q.id}' is a number; use at_least/at_most"
        allowed = [o for o in q.allowed_options() if o != UNKNOWN]
        bad = [v for v in cond.is_in if v not in allowed]
        if bad:
            return f"'{q.id}' has no option {bad[0]!r}; allowed: {', '.join(allowed)}"
        return None
    if q.kind != "integer":
        return f"'{q.id}' is a choice; use 'in'"
    return _bound_problem(kb, cond)


def reads(rule: Rule) -> set[str]:
    """The derived facts a rule reads positively or through `unless` (tallies: KnowledgeBase.reads)."""
    return {c.fact for c in rule.when if isinstance(c, Holds)} | set(rule.unless)


def stratify(rules: Iterable[Rule], read: Callable[[Rule], set[str]] = reads,
             ) -> tuple[dict[str, int], list[Problem]]:
    """Give each rule a stratum above every rule that asserts a fact it reads.

    Strict for positive reads too, so a stratum never reads its own output: then all of a
    stratum's inputs are settled before any of its rules fires, which makes `unless`
    (negation) safe without truth maintenance, and the trace ordered by stratum causal.
    """
    rules = list(rules)
    asserters: dict[str, list[str]] = {}
    for r in rules:
        for ref in r.then:
            asserters.setdefault(ref, []).append(r.id)
    deps = {r.id: sorted({a for ref in read(r) for a in asserters.get(ref, [])}) for r in rules}
    strata: dict[str, int] = {}
    visiting: list[str] = []
    problems: list[Problem] = []

    def visit(rid: str) -> int:
        if rid in strata:
            return strata[rid]
        if rid in visiting:
            cycle = " -> ".join([*visiting[visiting.index(rid):], rid])
            problems.append(Problem("knowledge_base/rules", f"rules read their own conclusions: {cycle}"))
            return 0
        visiting.append(rid)
        level = max((visit(d) + 1 for d in deps[rid]), default=0)
        visiting.pop()
        strata[rid] = level
        return level

    for r in rules:
        visit(r.id)
    return strata, problems


# ---- the validated knowledge base, cached on disk -----------------------------------------
# Loading validates every entry (pydantic) and the citation lock: a few tens of milliseconds
# a process start. The validated result is kept in the user's cache directory, keyed by the
# sha256 of every file of the knowledge base (the citation lock too), of the engine's own
# source and of the Python and pydantic versions, and is used only when that key matches what
# is on disk now: any edit of a file, or an engine upgrade, makes a new key, and a knowledge
# base that does not validate is never cached. The cache lives outside the repository (the
# user's cache directory via platformdirs, else inside the virtual environment) in a
# directory only its owner can write; DETACHMENT_KB_CACHE names another directory, or "off".

CACHE_ENV = "DETACHMENT_KB_CACHE"
_CACHE_KEEP = 8  # cached knowledge bases kept (one per directory, most recently written)


def cache_dir() -> Path | None:
    """Where the validated knowledge base is cached, or None (no cache)."""
    import importlib
    import os
    import sys

    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "0", "off", "no") else Path(chosen)
    try:
        platformdirs = importlib.import_module("platformdirs")
    except ImportError:
        if sys.prefix != sys.base_prefix:  # a virtual environment: never the repository itself
            return Path(sys.prefix) / "cache" / "detachment-cds"
        return None
    return Path(platformdirs.user_cache_dir("detachment-cds"))


def compile_cached(source: str, filename: str) -> Any:
    """`compile(source, filename, "exec")`, the code kept in the cache directory by the sha256 of
    the source and the Python version (compiling the generated evaluators is most of a first
    explanation's time)."""
    import marshal
    import os
    import sys

    where = cache_dir()
    if where is None:
        return compile(source, filename, "exec")
    key = hashlib.sha256(f"{sys.version}\0{filename}\0{source}".encode()).hexdigest()
    path = where / f"code-{key[:32]}.marshal"
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        pass
    code = compile(source, filename, "exec")
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = where / f".code-{key[:32]}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(marshal.dumps(code))
        os.replace(tmp, path)
    except OSError:
        pass
    return code


def cache_key(directory: Path | str, verify_citations: bool = True) -> str:
    """The sha256 the cached knowledge base of a directory must carry to be used."""
    import sys

    import pydantic

    root = Path(directory)
    digest = hashlib.sha256()
    digest.update(f"{sys.version}\0{pydantic.VERSION}\0{verify_citations}\0".encode())
    engine_dir = Path(__file__).resolve().parent
    for base, paths in ((engine_dir, sorted(engine_dir.glob("*.py"))),
                        (root, sorted(p for p in root.rglob("*") if p.is_file()
                                      and p.relative_to(root).parts[0] != "vignettes"))):
        for path in paths:
            digest.update(path.relative_to(base).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def load_cached(directory: Path | str = DEFAULT_DIR, verify_citations: bool = True) -> KnowledgeBase:
    """`load`, through the on-disk cache when its key matches the files (see above)."""
    import os
    import pickle

    where = cache_dir()
    root = Path(directory)
    if where is None or not root.is_dir():
        return load(directory, verify_citations)
    try:
        key = cache_key(root, verify_citations)
    except OSError:
        return load(directory, verify_citations)
    name = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    path = where / f"kb-{name}.pickle"
    try:
        blob = path.read_bytes()
        if blob[:64].decode() == key and blob[64:65] == b"\n":
            cached = pickle.loads(blob[65:])  # our own file, checked by its key
            if isinstance(cached, KnowledgeBase) and cached.strata:
                return cached
    except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        pass  # absent, stale or unreadable: load and validate afresh
    kb = load(directory, verify_citations)
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = where / f".{name}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key.encode() + b"\n" + pickle.dumps(kb, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)
        kept = sorted(where.glob("kb-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[_CACHE_KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only or full disk: no cache, same knowledge base
    return kb
