"""Clients, drafts and assessments: the store's everyday operations.

A client is a pseudonymous code (the case id rules of `engine.case`). The draft is the
answers in progress, saved on every change (the one mutable row). Committing an assessment
evaluates the case with `engine.assess` at the assessment's as-of date, so evaluating it again
later gives the same report, and stores a new version: nothing clinical is updated in place.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, undefer

from engine import ENGINE_VERSION, Report, assess, parse_case
from engine.case import CASE_ID_PATTERN
from engine.inference import Evaluator
from store import audit
from store.db import Store, StoreError
from store.models import Assessment, Client, Draft, Reassessment, now
from store.summary import summarize

CODE = re.compile(CASE_ID_PATTERN)
WORKSPACE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ACTOR_MAX = 200


class UnknownClient(StoreError):
    """No client has this code."""


class InvalidCode(StoreError):
    """The code is not a pseudonymous case id."""


@dataclass(frozen=True)
class ClientInfo:
    """A client as the store knows it."""

    id: str
    code: str
    created_at: datetime

    def __repr__(self) -> str:
        return f"ClientInfo({self.id!r})"


@dataclass(frozen=True)
class DraftInfo:
    """The answers in progress for one client and workspace."""

    answers: dict[str, Any] = field(repr=False)
    revision: int
    updated_at: datetime


@dataclass(frozen=True)
class AssessmentInfo:
    """One committed assessment."""

    id: int
    version: int
    as_of: date
    position: str
    answers: dict[str, Any] = field(repr=False)
    summary: dict[str, Any] = field(repr=False)
    report: dict[str, Any] | None = field(repr=False)  # None until loaded (see load_report)
    kb_version: str
    kb_sha256: str
    engine_version: str
    created_at: datetime
    assessor: str

    @property
    def label(self) -> str:
        """The position in plain words."""
        return str(self.summary["label"])

    @classmethod
    def of(cls, row: Assessment, report: bool = True) -> AssessmentInfo:
        """From a row (with its full report, or without: None)."""
        return cls(id=row.id, version=row.version, as_of=row.as_of, position=row.position,
                   answers=dict(row.answers), summary=dict(row.summary),
                   report=dict(row.report) if report else None, kb_version=row.kb_version,
                   kb_sha256=row.kb_sha256, engine_version=row.engine_version,
                   created_at=row.created_at, assessor=row.assessor)


@dataclass(frozen=True)
class ClientRecord:
    """Everything stored about one client, as opened."""

    client: ClientInfo
    assessments: list[AssessmentInfo] = field(repr=False)
    drafts: dict[str, DraftInfo] = field(repr=False)

    @property
    def latest(self) -> AssessmentInfo | None:
        """The newest assessment, if any."""
        return self.assessments[-1] if self.assessments else None


@dataclass(frozen=True)
class RecentClient:
    """A row of the recent-clients list."""

    code: str
    last_activity: datetime
    assessments: int
    position: str | None


def check_code(code: str) -> str:
    """The code, if it is a pseudonymous case id; else InvalidCode."""
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise InvalidCode("a client code is 1 to 40 letters, digits, '.', '_' or '-', starting "
                          "with a letter or digit (a pseudonymous code, never a name)")
    return code


def _actor(actor: str) -> str:
    if not actor or len(actor) > ACTOR_MAX:
        raise StoreError(f"the actor must be 1 to {ACTOR_MAX} characters")
    return actor


def _client(s: Session, code: str) -> Client:
    row = s.execute(select(Client).where(Client.code == check_code(code))).scalar_one_or_none()
    if row is None:
        raise UnknownClient(f"no client with the code {code!r}")
    return row


def client_exists(store: Store, code: str) -> bool:
    """Whether a client has this code (erased clients keep theirs: a code is never reused)."""
    with store.session() as s:
        return s.execute(select(Client.id).where(Client.code == check_code(code))).first() is not None


def _info(row: Client) -> ClientInfo:
    return ClientInfo(id=row.id, code=row.code, created_at=row.created_at)


def create_client(store: Store, code: str, actor: str) -> ClientInfo:
    """Create a client under a pseudonymous code (audited); StoreError if the code is taken."""
    check_code(code)
    _actor(actor)

    def run(s: Session) -> ClientInfo:
        if s.execute(select(Client.id).where(Client.code == code)).first():
            raise StoreError(f"a client with the code {code!r} already exists")
        row = Client(id=str(uuid.uuid4()), code=code, created_at=now(), created_by=actor)
        s.add(row)
        s.flush()
        audit.append(s, "create", actor, row.id)
        return _info(row)

    return store.run(run)


def ensure_client(store: Store, code: str, actor: str) -> ClientInfo:
    """The client with this code, created if there is none yet."""
    try:
        with store.session() as s:
            return _info(_client(s, code))
    except UnknownClient:
        pass
    try:
        return create_client(store, code, actor)
    except StoreError:
        with store.session() as s:  # created meanwhile by another session
            return _info(_client(s, code))


def save_draft(store: Store, code: str, answers: Mapping[str, Any], workspace: str = "client") -> int:
    """Save the answers in progress (one upsert, not audited: it is not clinical record yet).

    Returns the draft's new revision number.
    """
    if not WORKSPACE.fullmatch(workspace):
        raise StoreError("a workspace name is lower-case letters, digits and '_'")
    data = dict(answers)
    with store.session() as s:
        client_id = _client(s, code).id
        dialect = store.engine.dialect.name
        ins = (pg_insert(Draft) if dialect == "postgresql" else sqlite_insert(Draft)).values(
            client_id=client_id, workspace=workspace, answers=data, revision=1, updated_at=now())
        stmt = ins.on_conflict_do_update(
            index_elements=["client_id", "workspace"],
            set_={"answers": ins.excluded.answers, "updated_at": ins.excluded.updated_at,
                  "revision": Draft.revision + 1},
        ).returning(Draft.revision)
        return int(s.execute(stmt).scalar_one())


def merge_answers(base: Mapping[str, Any] | None, current: Mapping[str, Any],
                  new: Mapping[str, Any]) -> dict[str, Any]:
    """A three-way merge of drafts: what this writer changed since `base`, applied onto `current`.

    Top-level values and the values of nested dicts (the answers) are merged one by one, so two
    sessions answering different questions of one client keep both answers; the same value
    changed by both keeps the later writer's.
    """
    base = base or {}
    out = dict(current)
    for key in set(base) | set(new):
        b, n = base.get(key), new.get(key)
        if isinstance(n, Mapping) and isinstance(out.get(key), Mapping):
            inner = dict(out[key])
            bb = b if isinstance(b, Mapping) else {}
            for k in set(bb) | set(n):
                if n.get(k) != bb.get(k):
                    if k in n:
                        inner[k] = n[k]
                    else:
                        inner.pop(k, None)
            out[key] = inner
        elif n != b:
            if key in new:
                out[key] = n
            else:
                out.pop(key, None)
    return out


def merge_draft(store: Store, code: str, base: Mapping[str, Any] | None, new: Mapping[str, Any],
                workspace: str = "client") -> DraftInfo:
    """Save the draft without losing another session's changes saved meanwhile.

    `base` is the draft as this session last saved or loaded it; the changes from it to `new`
    are applied onto the stored draft (row-locked on PostgreSQL, the write lock on SQLite), and
    the merged draft is returned: the session shows it from then on.
    """
    if not WORKSPACE.fullmatch(workspace):
        raise StoreError("a workspace name is lower-case letters, digits and '_'")
    for attempt in range(3):
        try:
            with store.session() as s:
                client_id = _client(s, code).id
                row = s.execute(select(Draft).where(Draft.client_id == client_id,
                                                    Draft.workspace == workspace)
                                .with_for_update()).scalar_one_or_none()
                if row is None:
                    row = Draft(client_id=client_id, workspace=workspace, answers=dict(new),
                                revision=1, updated_at=now())
                    s.add(row)
                else:
                    row.answers = merge_answers(base, dict(row.answers), new)
                    row.revision += 1
                    row.updated_at = now()
                s.flush()
                return DraftInfo(answers=dict(row.answers), revision=row.revision,
                                 updated_at=row.updated_at)
        except IntegrityError:
            if attempt == 2:  # two first saves at once: the other one's row is there now
                raise
    raise AssertionError("unreachable")


def load_draft(store: Store, code: str, workspace: str = "client") -> DraftInfo | None:
    """The answers in progress, or None."""
    with store.session() as s:
        client_id = _client(s, code).id
        row = s.execute(select(Draft).where(Draft.client_id == client_id,
                                            Draft.workspace == workspace)).scalar_one_or_none()
        if row is None:
            return None
        return DraftInfo(answers=dict(row.answers), revision=row.revision, updated_at=row.updated_at)


def evaluate(case_data: Mapping[str, Any], as_of: date, evaluator: Evaluator | None = None) -> Report:
    """Assess a stored case file at its as-of date (what commit and re-evaluation both do)."""
    data = dict(case_data)
    data["as_of"] = as_of.isoformat()
    case = parse_case(data, evaluator.kb if evaluator else None)
    return assess(case, evaluator, explain=True, as_of=as_of)


def commit_assessment(store: Store, code: str, case_data: Mapping[str, Any], as_of: date,
                      actor: str, evaluator: Evaluator | None = None) -> AssessmentInfo:
    """Evaluate the case at `as_of` and store it as the client's next version (audited).

    `case_data` is a case file (version 1); its `case_id` becomes the client's code. The
    evaluation happens before the write transaction; the version number is taken inside it,
    under the store's write turn, and a unique (client, version) constraint backs it up.
    A case that does not validate raises engine.CaseError and stores nothing.
    """
    _actor(actor)
    check_code(code)
    data = {k: v for k, v in case_data.items() if k != "as_of"}
    data["case_id"] = code
    report = evaluate(data, as_of, evaluator)
    body = report.to_json_dict()
    summary = summarize(body, evaluator.kb if evaluator else None)
    data["as_of"] = as_of.isoformat()

    def run(s: Session) -> AssessmentInfo:
        client = _client(s, code)
        last = s.execute(select(func.max(Assessment.version))
                         .where(Assessment.client_id == client.id)).scalar_one()
        row = Assessment(client_id=client.id, version=(last or 0) + 1, as_of=as_of, answers=data,
                         report=body, summary=summary, position=report.spectrum.position,
                         kb_version=report.knowledge_base.version,
                         kb_sha256=report.knowledge_base.sha256, engine_version=ENGINE_VERSION,
                         created_at=now(), assessor=actor)
        s.add(row)
        s.flush()
        if report.reassess is not None:
            s.add(Reassessment(client_id=client.id, assessment_id=row.id,
                               due_on=as_of + timedelta(weeks=report.reassess.after_weeks),
                               after_weeks=report.reassess.after_weeks,
                               reason=report.reassess.reason, because=list(report.reassess.because)))
        audit.append(s, "commit", actor, client.id, {"version": row.version})
        return AssessmentInfo.of(row)

    for attempt in range(5):
        try:
            return store.run(run)
        except IntegrityError:
            # Another writer took this version number first (only possible without the
            # write turn, e.g. a database shared with an older writer): take the next one.
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def reevaluate(assessment: AssessmentInfo, evaluator: Evaluator | None = None) -> dict[str, Any]:
    """The report the stored answers give today at the stored as-of date (to check reproducibility)."""
    data = {k: v for k, v in assessment.answers.items() if k != "as_of"}
    return evaluate(data, assessment.as_of, evaluator).to_json_dict()


def _drafts(s: Session, client_id: str) -> dict[str, DraftInfo]:
    rows = s.execute(select(Draft).where(Draft.client_id == client_id)).scalars()
    return {r.workspace: DraftInfo(answers=dict(r.answers), revision=r.revision,
                                   updated_at=r.updated_at) for r in rows}


def open_client(store: Store, code: str, actor: str, reports: bool = False) -> ClientRecord:
    """Everything stored about a client, oldest assessment first (the opening is audited).

    The latest assessment comes with its full report; the others with their summaries only
    (`reports=True` loads every report; `load_report` loads one).
    """
    _actor(actor)

    def run(s: Session) -> ClientRecord:
        client = _client(s, code)
        q = select(Assessment).where(Assessment.client_id == client.id).order_by(Assessment.version)
        if reports:
            q = q.options(undefer(Assessment.report))
        rows = s.execute(q).scalars().all()
        audit.append(s, "open", actor, client.id, {"assessments": len(rows)})
        infos = [AssessmentInfo.of(r, report=reports or r is rows[-1]) for r in rows]
        return ClientRecord(client=_info(client), assessments=infos, drafts=_drafts(s, client.id))

    return store.run(run)


def assessments(store: Store, code: str) -> ClientRecord:
    """A client's assessment summaries and drafts, read again after it was opened.

    Not audited: for a page that redraws a client this session already opened (`open_client`).
    """
    with store.session() as s:
        client = _client(s, code)
        rows = s.execute(select(Assessment).where(Assessment.client_id == client.id)
                         .order_by(Assessment.version)).scalars().all()
        return ClientRecord(client=_info(client),
                            assessments=[AssessmentInfo.of(r, report=False) for r in rows],
                            drafts=_drafts(s, client.id))


def load_report(store: Store, code: str, version: int) -> dict[str, Any]:
    """The full stored report of one assessment (the client was opened, which is audited)."""
    with store.session() as s:
        client = _client(s, code)
        report = s.execute(select(Assessment.report).where(
            Assessment.client_id == client.id, Assessment.version == version)).scalar_one_or_none()
        if report is None:
            raise StoreError(f"the client has no assessment version {version}")
        return dict(report)


def with_report(store: Store, code: str, assessment: AssessmentInfo) -> AssessmentInfo:
    """The assessment with its full report loaded."""
    if assessment.report is not None:
        return assessment
    return replace(assessment, report=load_report(store, code, assessment.version))


def recent_clients(store: Store, limit: int = 20) -> list[RecentClient]:
    """The clients worked on most recently (a draft saved or an assessment committed)."""
    with store.session() as s:
        last_assessment = (select(Assessment.client_id, func.max(Assessment.created_at).label("at"),
                                  func.count(Assessment.id).label("n"),
                                  func.max(Assessment.version).label("v"))
                           .group_by(Assessment.client_id).subquery())
        last_draft = (select(Draft.client_id, func.max(Draft.updated_at).label("at"))
                      .group_by(Draft.client_id).subquery())
        latest = Assessment.__table__.alias("latest")
        rows = s.execute(
            select(Client.code, Client.created_at, last_assessment.c.at, last_assessment.c.n,
                   last_draft.c.at, latest.c.position)
            .outerjoin(last_assessment, last_assessment.c.client_id == Client.id)
            .outerjoin(last_draft, last_draft.c.client_id == Client.id)
            .outerjoin(latest, (latest.c.client_id == Client.id)
                       & (latest.c.version == last_assessment.c.v))).all()
        out = []
        for code, created, a_at, n, d_at, position in rows:
            stamps = [_aware(t if isinstance(t, datetime) else datetime.fromisoformat(str(t)))
                      for t in (created, a_at, d_at) if t is not None]
            out.append(RecentClient(code=code, last_activity=max(stamps), assessments=int(n or 0),
                                    position=position))
        out.sort(key=lambda r: r.last_activity, reverse=True)
        return out[:limit]


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t
