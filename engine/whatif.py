"""What would change a conclusion: answer sweeps, next questions, robustness to unknowns.

Every variant is a full re-evaluation (no truth maintenance, so nothing incremental), done by
the generated evaluator that a property test holds equal to experta.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any

from engine.case import Answer
from engine.conditions import Status, answer_status, tally_status
from engine.generated import (
    Evaluate,
    KindEvaluate,
    generated_evaluator,
    kind_evaluator,
    rules_evaluator,
    three_valued_evaluator,
)
from engine.kb_loader import KnowledgeBase
from engine.knowledge import UNKNOWN, AnswerIn, AnswerRange, Holds, Question, Rule, TallyRange

# The conclusions an answer can change (the formulation; recommendations follow from them).
CONCLUSION_KINDS = ("spectrum", "driver", "formulation", "origin")
# Everything a report shows that an answer could change: the conclusions and the advice.
REPORTED_KINDS = (*CONCLUSION_KINDS, "recommendation", "caution", "reflection", "measure",
                  "interpretation", "inconsistency")
Answers = Mapping[str, Answer]
Conclusions = dict[str, frozenset[str]]


@dataclass(frozen=True)
class Change:
    """One answer changed: `before`/`after` None mean unanswered."""

    question: str
    before: Answer | None
    after: Answer | None


@dataclass(frozen=True)
class Variant:
    """Some changes to the answers and what they conclude."""

    changes: tuple[Change, ...]
    conclusions: Conclusions


def conclusions_of(derived: Iterable[str]) -> Conclusions:
    """The conclusion ids per kind in a set of derived facts."""
    out: dict[str, set[str]] = {k: set() for k in CONCLUSION_KINDS}
    for ref in derived:
        kind, _, ident = ref.partition(".")
        if kind in out:
            out[kind].add(ident)
    return {k: frozenset(v) for k, v in out.items()}


@cache
def domain(kb: KnowledgeBase, qid: str) -> tuple[Answer, ...]:
    """Representative known values of a question: every option, or every threshold's sides."""
    q = kb.questions[qid]
    if q.kind == "date":
        return ()  # dates reach the rules as the numbers they answer for
    if q.kind == "choice":
        return tuple(o for o in q.allowed_options() if o != UNKNOWN)
    low = q.minimum if q.minimum is not None else 0
    points: set[int] = {low}
    for rule in kb.rules:
        for cond in rule.when:
            if isinstance(cond, AnswerRange) and cond.answer == qid:
                lo, hi = kb.bounds(cond)
                for x in (lo, lo - 1, hi, hi + 1):
                    if x not in (float("inf"), float("-inf")):
                        points.add(int(x))
    high = q.maximum if q.maximum is not None else max(points) + 1
    return tuple(sorted(p for p in points if low <= p <= high))


def open_domain(kb: KnowledgeBase, qid: str, answers: Answers) -> tuple[Answer, ...]:
    """The values an unanswered question can still take: for a number whose category is given,
    only the values inside that category's range."""
    values = domain(kb, qid)
    category = kb.category_of(qid)
    given = answers.get(category.id) if category is not None else None
    if category is None or given is None:
        return values
    lo, hi = kb.span(category, str(given))
    return tuple(v for v in values if isinstance(v, int) and lo <= v <= hi) or (int(lo),)


@cache
def _dependent(kb: KnowledgeBase) -> tuple[Question, ...]:
    """The questions that require other answers, in catalogue order."""
    return tuple(q for q in kb.questions.values() if q.requires)


def with_answer(kb: KnowledgeBase, answers: Answers, qid: str, value: Answer | None) -> dict[str, Answer]:
    """The answers with one changed (None: unanswered), dropping answers it makes invalid."""
    out = dict(answers)
    if value is None:
        out.pop(qid, None)
    else:
        out[qid] = value
    for q in _dependent(kb):
        if q.id in out and not q.requirements_met(out):
            del out[q.id]
    return out


@cache
def cone(kb: KnowledgeBase, kind: str) -> tuple[tuple[Rule, ...], tuple[str, ...]]:
    """The rules that can contribute to a kind of conclusion, and the questions they read."""
    cones = _fact_cones(kb)
    ids = frozenset().union(*(cones[f"{kind}.{i}"].rules for i in kb.catalogue[kind]))
    ordered = tuple(sorted((r for r in kb.rules if r.id in ids), key=lambda r: (kb.strata[r.id], r.id)))
    questions = {q for r in ordered for q in questions_read(kb, r)}
    # Requirements first, so a question is only tried once what it requires is set.
    in_order = [q for q in kb.questions if q in questions]
    in_order.sort(key=lambda q: len(kb.questions[q].requires))
    return ordered, tuple(in_order)


@cache
def _cone_evaluator(kb: KnowledgeBase, kind: str) -> Evaluate:
    """The generated evaluator of one kind's cone of rules."""
    return rules_evaluator(kb, tuple(r.id for r in cone(kb, kind)[0]))


@cache
def _kind_evaluator(kb: KnowledgeBase, kind: str) -> KindEvaluate:
    """One kind's cone of rules as a function of the values of the questions the cone reads
    (in `cone`'s order), returning that kind's conclusions: `_cone_evaluator`'s, faster."""
    rules, questions = cone(kb, kind)
    return kind_evaluator(kb, tuple(r.id for r in rules), questions, kind)


@cache
def _required_by_none(kb: KnowledgeBase) -> frozenset[str]:
    """The questions no other question requires: changing one drops no other answer."""
    required = {other for q in kb.questions.values() for other in q.requires}
    return frozenset(q for q in kb.questions if q not in required)


def consistent(kb: KnowledgeBase, answers: Answers) -> bool:
    """Whether every answer's requirements are met (then `with_answer` of a question no other
    question requires drops nothing)."""
    return all(q.requirements_met(answers) for q in _dependent(kb) if q.id in answers)


class Sweeper:
    """What-if analysis of one case, on the generated evaluator."""

    def __init__(self, kb: KnowledgeBase, answers: Answers) -> None:
        self.kb = kb
        self.answers = dict(answers)
        self.evaluate: Evaluate = generated_evaluator(kb)
        self.base = conclusions_of(self.evaluate(self.answers)[0])
        self._cache: dict[tuple[tuple[str, Answer], ...], Conclusions] = {}
        self._kind_cache: dict[tuple[str, tuple[Answer | None, ...]], frozenset[str]] = {}

    def conclude_kind(self, kind: str, answers: Answers) -> frozenset[str]:
        """One kind's conclusions for some answers, from that kind's cone of rules alone (the
        rules that can contribute to it: the same conclusions as every rule gives), memoised
        by the answers the cone reads."""
        _, questions = cone(self.kb, kind)
        return self._conclude_values(kind, tuple(map(answers.get, questions)))

    def _conclude_values(self, kind: str, values: tuple[Answer | None, ...]) -> frozenset[str]:
        """`conclude_kind` from the values of the questions the cone reads, in `cone`'s order."""
        key = (kind, values)
        found = self._kind_cache.get(key)
        if found is None:
            found = _kind_evaluator(self.kb, kind)(*values)
            self._kind_cache[key] = found
        return found

    def conclude(self, answers: Answers) -> Conclusions:
        """The conclusions for some answers (memoised within this sweep)."""
        key = tuple(sorted(answers.items()))
        found = self._cache.get(key)
        if found is None:
            found = conclusions_of(self.evaluate(answers)[0])
            self._cache[key] = found
        return found

    def alternatives(self, qid: str) -> list[Change]:
        """The changes of one answer: to each other representative value, or to unanswered."""
        current = self.answers.get(qid)
        changes = [Change(qid, current, v) for v in domain(self.kb, qid) if v != current]
        if current is not None:
            changes.append(Change(qid, current, None))
        return changes

    def _single_answers(self, questions: Iterable[str]) -> Iterator[tuple[Change, dict[str, Answer]]]:
        for qid in questions:
            if not self.kb.questions[qid].requirements_met(self.answers):
                continue
            for change in self.alternatives(qid):
                yield change, with_answer(self.kb, self.answers, qid, change.after)

    def single_changes(self, questions: Iterable[str]) -> Iterator[Variant]:
        """Every one-answer change (to another value, or to unanswered) of the given questions."""
        for change, changed in self._single_answers(questions):
            yield Variant((change,), self.conclude(changed))

    def single_changes_of(self, kind: str, questions: Iterable[str]) -> Iterator[Change]:
        """The one-answer changes of the given questions that change one kind of conclusion."""
        base = self.base[kind]
        for change, changed in self._single_answers(questions):
            if self.conclude_kind(kind, changed) != base:
                yield change

    def what_would_change(self, kind: str, pairs: bool, limit: int = 40) -> list[Variant]:
        """The smallest answer changes that change one kind of conclusion: single answers,
        then (with `pairs`) pairs of answers neither of which changes it alone."""
        _, questions = cone(self.kb, kind)
        asked = list(questions)
        base = self.base[kind]
        singles = [Variant((change,), self.conclude(changed))
                   for change, changed in self._single_answers(asked)
                   if self.conclude_kind(kind, changed) != base]
        if not pairs:
            return singles[:limit]
        decisive = {(v.changes[0].question, v.changes[0].after) for v in singles}
        options = [c for qid in asked for c in self.alternatives(qid) if (qid, c.after) not in decisive]
        found: list[Variant] = []
        kb = self.kb
        questions_of = kb.questions
        slot = {q: i for i, q in enumerate(questions)}
        leaves = _required_by_none(kb)
        conclude_values = self._conclude_values
        # The pairs in the order of itertools.combinations(options, 2), the first change made once.
        for i, first in enumerate(options):
            step = with_answer(kb, self.answers, first.question, first.after)
            # When the first change leaves every requirement met, changing a question no other
            # question requires drops nothing: the second answer goes straight into the values.
            direct = consistent(kb, step)
            values = list(map(step.get, questions))
            askable: dict[str, bool] = {}
            for second in options[i + 1:]:
                qid = second.question
                if first.question == qid:
                    continue
                ok = askable.get(qid)
                if ok is None:
                    ok = askable[qid] = questions_of[qid].requirements_met(step)
                if not ok:
                    continue
                if direct and qid in leaves:
                    k = slot[qid]
                    values[k] = second.after
                    concluded = conclude_values(kind, tuple(values))
                    values[k] = step.get(qid)
                    if concluded == base:
                        continue
                    changed = with_answer(kb, step, qid, second.after)
                else:
                    changed = with_answer(kb, step, qid, second.after)
                    if self.conclude_kind(kind, changed) == base:
                        continue
                found.append(Variant((first, second), self.conclude(changed)))
                if len(found) + len(singles) >= limit:
                    return (singles + found)[:limit]
        return (singles + found)[:limit]


class Truth(Enum):
    """Kleene's three values: a fact holds, does not, or depends on unanswered questions."""

    T = "true"
    F = "false"
    U = "unknown"


def _and(values: Iterable[Truth]) -> Truth:
    result = Truth.T
    for v in values:
        if v is Truth.F:
            return Truth.F
        if v is Truth.U:
            result = Truth.U
    return result


_STATUS = {Truth.T: Status.MET, Truth.F: Status.UNMET, Truth.U: Status.UNKNOWN}
_TRUTH = {v: k for k, v in _STATUS.items()}


@dataclass(frozen=True)
class Partial:
    """Three-valued evaluation of a case with unanswered questions."""

    facts: dict[str, Truth]
    rules: dict[str, Truth]

    def fact(self, ref: str) -> Truth:
        """A derived fact's truth (F when no rule could assert it)."""
        return self.facts.get(ref, Truth.F)



_TRUTHS = (Truth.F, Truth.U, Truth.T)


@cache
def _asserted(kb: KnowledgeBase, rule_ids: tuple[str, ...]) -> tuple[str, ...]:
    """The facts some rules assert, each once, in the rules' order."""
    rules = {r.id: r for r in kb.rules}
    return tuple(dict.fromkeys(ref for rid in rule_ids for ref in rules[rid].then))


def three_valued(kb: KnowledgeBase, rules: Iterable[Rule], answers: Answers,
                 closed: frozenset[str] = frozenset()) -> Partial:
    """Three-valued evaluation (see `three_valued_interpreted`), compiled from the rule data."""
    ids = tuple(r.id for r in rules)
    facts, truths = three_valued_evaluator(kb, ids)(answers, closed)
    return Partial({ref: _TRUTHS[facts.get(ref, 0)] for ref in _asserted(kb, ids)},
                   {rid: _TRUTHS[t] for rid, t in truths.items()})


def three_valued_interpreted(kb: KnowledgeBase, rules: Iterable[Rule], answers: Answers,
                             closed: frozenset[str] = frozenset()) -> Partial:
    """Each rule's and derived fact's truth over every way the unanswered questions could be answered.

    Sound but conservative (Kleene's logic): T and F hold for every completion of the answers;
    U means it may go either way. So a question read only by decided rules cannot change anything.
    Questions in `closed` stay unanswered in every completion.
    """
    facts: dict[str, Truth] = {}
    rule_truth: dict[str, Truth] = {}

    def can_be_answered(qid: str) -> bool:
        q = kb.questions[qid]
        return qid not in closed and all(
            answers[other] in allowed if other in answers else other not in closed
            for other, allowed in q.requires.items())

    def answer_truth(cond: AnswerIn | AnswerRange) -> Truth:
        status = answer_status(kb, cond, answers)
        if status is Status.UNKNOWN:
            open_ = can_be_answered(cond.answer)
            category = kb.category_of(cond.answer) if isinstance(cond, AnswerRange) else None
            if not open_ and category is not None and category.id not in answers:
                open_ = can_be_answered(category.id)
            return Truth.U if open_ else Truth.F
        return Truth.T if status is Status.MET else Truth.F

    def fact_status(ref: str) -> Status:
        return _STATUS[facts.get(ref, Truth.F)]

    def truth(c: AnswerIn | AnswerRange | Holds | TallyRange) -> Truth:
        if isinstance(c, Holds):
            return facts.get(c.fact, Truth.F)
        if isinstance(c, TallyRange):
            return _TRUTH[tally_status(kb, c, fact_status)]
        return answer_truth(c)

    for rule in rules:
        parts = [truth(c) for c in rule.when]
        negated = {Truth.T: Truth.F, Truth.F: Truth.T, Truth.U: Truth.U}
        parts += [negated[facts.get(ref, Truth.F)] for ref in rule.unless]
        holds = _and(parts)
        rule_truth[rule.id] = holds
        for ref in rule.then:
            old = facts.get(ref, Truth.F)
            if holds is Truth.T or old is Truth.T:
                facts[ref] = Truth.T
            elif holds is Truth.U or old is Truth.U:
                facts[ref] = Truth.U
            else:
                facts[ref] = Truth.F
    return Partial(facts, rule_truth)


@dataclass(frozen=True)
class Cone:
    """What can contribute to one conclusion: its rules and the facts those rules read."""

    rules: frozenset[str]
    facts: frozenset[str]


@cache
def _fact_cones(kb: KnowledgeBase) -> dict[str, Cone]:
    """For each reported ref, the rules that can contribute to it and the facts they read."""
    out: dict[str, Cone] = {}
    for kind in REPORTED_KINDS:
        for ident in kb.catalogue[kind]:
            target = f"{kind}.{ident}"
            rules: set[str] = set()
            facts = {target}
            frontier = {target}
            while frontier:
                for rule in kb.asserters(frontier.pop()):
                    if rule.id not in rules:
                        rules.add(rule.id)
                        reads = kb.reads(rule)
                        frontier.update(reads - facts)
                        facts.update(reads)
            out[target] = Cone(frozenset(rules), frozenset(facts))
    return out


@cache
def _relevance(kb: KnowledgeBase, targets: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """For some target facts: each rule of their cones, with the facts it asserts that the
    cones read."""
    cones = _fact_cones(kb)
    rules = frozenset().union(*(cones[t].rules for t in targets))
    facts = frozenset().union(*(cones[t].facts for t in targets))
    return tuple((r.id, reads) for r in kb.rules if r.id in rules
                 and (reads := tuple(ref for ref in r.then if ref in facts)))


def _relevant(kb: KnowledgeBase, partial: Partial, targets: Iterable[str]) -> frozenset[str]:
    """Undecided rules that could still change one of the target facts: they assert something
    not yet certain that the targets' rules read."""
    rules, facts, unknown = partial.rules, partial.facts, Truth.U
    return frozenset(rid for rid, reads in _relevance(kb, tuple(targets)) if rules.get(rid) is unknown
                     and any(facts.get(ref, Truth.F) is not Truth.T for ref in reads))


def questions_read(kb: KnowledgeBase, rule: Rule) -> set[str]:
    """The questions a rule's conditions read, with the categories that answer for a number."""
    out: set[str] = set()
    for cond in rule.when:
        if isinstance(cond, (AnswerIn, AnswerRange)):
            out.add(cond.answer)
            category = kb.category_of(cond.answer) if isinstance(cond, AnswerRange) else None
            if category is not None:
                out.add(category.id)
    return out


@cache
def _readers(kb: KnowledgeBase) -> dict[str, frozenset[str]]:
    """For each question, the ids of the rules that read it."""
    out: dict[str, set[str]] = {}
    for rule in kb.rules:
        for qid in questions_read(kb, rule):
            out.setdefault(qid, set()).add(rule.id)
    return {q: frozenset(r) for q, r in out.items()}


def open_conclusions(kb: KnowledgeBase, partial: Partial) -> list[str]:
    """Reported refs (conclusions and advice) that answers to the open questions could change."""
    refs = []
    positions = [f"spectrum.{p}" for p in kb.catalogue["spectrum"]]
    if any(partial.fact(p) is Truth.U for p in positions):
        refs.append("spectrum")
    for kind in REPORTED_KINDS[1:]:
        refs.extend(f"{kind}.{i}" for i in kb.catalogue[kind] if partial.fact(f"{kind}.{i}") is Truth.U)
    return refs


@cache
def _in_stratum_order(kb: KnowledgeBase) -> tuple[Rule, ...]:
    return tuple(sorted(kb.rules, key=lambda r: (kb.strata[r.id], r.id)))


def evaluate_partially(kb: KnowledgeBase, answers: Answers) -> Partial:
    """Three-valued evaluation of every rule for these answers (see `three_valued`)."""
    return three_valued(kb, _in_stratum_order(kb), answers)


def next_questions(kb: KnowledgeBase, answers: Answers,
                   partial: Partial | None = None) -> list[tuple[str, list[str]]]:
    """Unanswered questions with what their answer could change, most useful first.

    A question could change a reported item (a conclusion, or advice: a recommendation,
    caution, reflection, measure, reading or inconsistency) when it is read by an undecided
    rule that can contribute to that item while it is undecided. Questions that could change
    the spectrum position come first, then by how many conclusions, then in catalogue order
    (the source's order of assessment); questions that change advice only come after, by how
    many items. A question with nothing it could change is not needed: no
    answer to it, whatever the other open questions turn out to be, changes anything reported.
    """
    partial = partial or evaluate_partially(kb, answers)
    targets = []
    for ref in open_conclusions(kb, partial):
        facts = [f"spectrum.{p}" for p in kb.catalogue["spectrum"]] if ref == "spectrum" else [ref]
        targets.append((ref, _relevant(kb, partial, facts)))
    readers = _readers(kb)
    order = {qid: i for i, qid in enumerate(kb.questions)}
    ranked = []
    for qid, q in kb.questions.items():
        if qid in answers or q.section == "subject" or not q.requirements_met(answers):
            continue  # answered, or not askable until what it requires is answered
        reading = readers.get(qid, frozenset())
        could = [ref for ref, rules in targets if reading & rules]
        ranked.append((qid, could))
    def rank(item: tuple[str, list[str]]) -> tuple[bool, int, int, int]:
        qid, could = item
        conclusions = sum(ref == "spectrum" or ref.partition(".")[0] in CONCLUSION_KINDS for ref in could)
        # Among questions that move conclusions, the catalogue's (the source's assessment)
        # order decides; advice counts only rank the questions that change advice alone.
        advice = len(could) if conclusions == 0 else 0
        return ("spectrum" not in could, -conclusions, -advice, order[qid])

    ranked.sort(key=rank)
    return ranked


@dataclass(frozen=True)
class Robustness:
    """Whether the position holds whatever the unanswered questions turn out to be."""

    stable: bool
    reachable: tuple[str, ...]
    pivotal: tuple[str, ...]
    exhaustive: bool


@cache
def _spectrum_search_data(kb: KnowledgeBase) -> tuple[Any, ...]:
    """What the robustness search needs, once per knowledge base: the compiled three-valued
    evaluation of the spectrum's cone, the positions, and for each rule of the positions' cones
    the facts it asserts that those cones read."""
    rules, questions = cone(kb, "spectrum")
    evaluate3 = three_valued_evaluator(kb, tuple(r.id for r in rules))
    positions = tuple((p, f"spectrum.{p}") for p in kb.catalogue["spectrum"])
    cones = _fact_cones(kb)
    rel_rules = frozenset().union(*(cones[ref].rules for _, ref in positions))
    rel_facts = frozenset().union(*(cones[ref].facts for _, ref in positions))
    checks = tuple((r.id, reads) for r in rules if r.id in rel_rules
                   and (reads := tuple(ref for ref in r.then if ref in rel_facts)))
    readers = _readers(kb)
    branchable = tuple((q, readers.get(q, frozenset()), kb.questions[q]) for q in questions)
    return evaluate3, positions, checks, branchable


def position_search(kb: KnowledgeBase, answers: Answers, base: Iterable[str],
                    node_limit: int = 150) -> tuple[set[str], bool]:
    """The positions some completion of the unanswered questions reaches (beside `base`, the
    position now), and whether the search was exhaustive (within `node_limit` nodes).

    At each node three-valued evaluation says which positions are still possible; a branch
    stops when it can only reach positions already found, or when every rule is decided. Only
    questions read by undecided rules are branched on.
    """
    evaluate3, positions, checks, branchable = _spectrum_search_data(kb)
    found: set[str] = set(base)
    nodes = 0
    exhaustive = True
    none: frozenset[str] = frozenset()

    def search(answers: dict[str, Answer]) -> None:
        nonlocal nodes, exhaustive
        nodes += 1
        if nodes > node_limit:
            exhaustive = False
            return
        facts, truths = evaluate3(answers, none)
        get = facts.get
        possible = {p for p, ref in positions if get(ref, 0)}
        if possible <= found:
            return
        undecided = {rid for rid, reads in checks
                     if truths.get(rid) == 1 and any(get(ref, 0) != 2 for ref in reads)}
        branch = next((q for q, reading, question in branchable if q not in answers
                       and not reading.isdisjoint(undecided) and question.requirements_met(answers)),
                      None)
        if branch is None:
            found.update(p for p in possible if get(f"spectrum.{p}", 0) == 2)
            return
        for value in open_domain(kb, branch, answers):
            search({**answers, branch: value})

    search(dict(answers))
    return found, exhaustive


def robustness(kb: KnowledgeBase, sweeper: Sweeper, node_limit: int = 150,
               pivotal: bool = True, searched: tuple[set[str], bool] | None = None) -> Robustness:
    """Search the completions of the unanswered spectrum questions for other positions
    (`position_search`), and name the pivotal questions (unless `pivotal` is False: then none).

    Within `node_limit` nodes the search is exhaustive. `searched`: the search's result when
    it was already made for these answers.
    """
    _, questions = cone(kb, "spectrum")
    positions = [f"spectrum.{p}" for p in kb.catalogue["spectrum"]]
    found, exhaustive = searched or position_search(kb, sweeper.answers, sweeper.base["spectrum"],
                                                    node_limit)
    open_questions = [q for q in questions if q not in sweeper.answers]
    pivots: set[str] = set()
    if pivotal:
        pivots = {c.question for c in sweeper.single_changes_of("spectrum", open_questions)}
        if not pivots and len(found) > 1:
            # No single answer moves it, but answers together can: those questions are pivotal.
            pivots = {q for q, could in next_questions(kb, sweeper.answers) if "spectrum" in could}
    reachable = tuple(p.partition(".")[2] for p in positions if p.partition(".")[2] in found)
    return Robustness(stable=len(found) == 1 and exhaustive, reachable=reachable,
                      pivotal=tuple(q for q in open_questions if q in pivots), exhaustive=exhaustive)
