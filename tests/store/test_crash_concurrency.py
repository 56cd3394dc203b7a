"""No lost work: a writer killed with SIGKILL mid-commit, and two writers on one client."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy.engine import URL

from engine import Report
from store import audit
from store.cases import commit_assessment, create_client, load_draft, open_client, save_draft
from store.db import Store
from tests.store.conftest import url_text
from tests.store.helpers import AS_OF, CASE

ROOT = Path(__file__).resolve().parents[2]


def worker(url: URL, code: str, count: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.store.worker", url_text(url), code, str(count),
                             *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def assert_whole(store: Store, code: str, versions: int) -> None:
    record = open_client(store, code, "checker", reports=True)
    assert [a.version for a in record.assessments] == list(range(1, versions + 1))
    for a in record.assessments:
        report = Report.model_validate(a.report)
        assert report.spectrum.position == a.position
    with store.session() as s:
        verdict = audit.verify(s)
    assert verdict.ok, verdict.message()


def test_killed_mid_commit_loses_nothing_committed(store: Store, store_url: URL) -> None:
    create_client(store, "C-1", "dr-a")
    proc = worker(store_url, "C-1", 10, "--pause-at", "4")
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "inside":
            break
        seen.append(line.strip())
    else:
        raise AssertionError(f"the worker ended early: {proc.wait()} {proc.stderr.read()}")  # type: ignore[union-attr]
    assert seen == ["committed 1", "committed 2", "committed 3"]
    # The 4th assessment row is written inside the open transaction; kill the writer now.
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    proc.stdout.close()
    proc.stderr.close()  # type: ignore[union-attr]
    assert_whole(store, "C-1", 3)
    # The store takes the next commit as version 4, as if nothing had happened.
    assert commit_assessment(store, "C-1", CASE, AS_OF, "dr-a").version == 4
    assert_whole(store, "C-1", 4)


def test_two_sessions_on_one_client(store: Store, store_url: URL) -> None:
    create_client(store, "C-1", "dr-a")
    other = Store.open(store_url, migrate=False)
    errors: list[BaseException] = []

    def write(st: Store, actor: str) -> None:
        try:
            for i in range(4):
                commit_assessment(st, "C-1", CASE, AS_OF, actor)
                save_draft(st, "C-1", {"i": i, "by": actor})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(st, actor))
               for st, actor in ((store, "dr-a"), (other, "dr-b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert errors == []
    assert_whole(store, "C-1", 8)
    record = open_client(store, "C-1", "checker")
    assert sorted(a.assessor for a in record.assessments) == ["dr-a"] * 4 + ["dr-b"] * 4
    draft = load_draft(store, "C-1")
    assert draft is not None and draft.revision == 8  # every save counted, none lost


def test_two_processes_on_one_client(store: Store, store_url: URL) -> None:
    create_client(store, "C-1", "dr-a")
    procs = [worker(store_url, "C-1", 5, "--drafts", "20", "--actor", actor) for actor in ("p1", "p2")]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert len(out.split("committed")) == 6
    assert_whole(store, "C-1", 10)
    record = open_client(store, "C-1", "checker")
    assert sorted(a.assessor for a in record.assessments) == ["p1"] * 5 + ["p2"] * 5
    draft = load_draft(store, "C-1")
    assert draft is not None and draft.revision == 40
    assert draft.answers["i"] == 19 and draft.answers["writer"] in ("p1", "p2")


def test_two_processes_answering_one_draft_keep_every_answer(store: Store, store_url: URL) -> None:
    create_client(store, "C-1", "dr-a")
    procs = [worker(store_url, "C-1", 0, "--drafts", "15", "--merge", "--actor", actor)
             for actor in ("p1", "p2")]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    draft = load_draft(store, "C-1")
    assert draft is not None and draft.revision == 30
    assert draft.answers["answers"] == {f"{a}_{i}": i for a in ("p1", "p2") for i in range(15)}
