"""The audit trail: an append-only log in which each entry holds the previous entry's hash.

An entry's hash is the SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8): sequence
number, time, actor, action, client id, detail and the previous hash. Entries hold ids and
counts, never clinical content, so erasing a client removes nothing from the chain and the
chain still verifies. `verify` walks the chain and names the first broken link: an edited
entry (its hash no longer matches), a deleted or reordered one (a sequence gap, or a previous
hash that is not the one before it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import AuditEntry, now

GENESIS = "0" * 64
ACTIONS = ("create", "open", "commit", "export", "feedback", "override", "card", "erase")


def canonical(data: Any) -> bytes:
    """Canonical JSON bytes (what the hashes are computed over)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(seq: int, at: str, actor: str, action: str, client_id: str | None,
               detail: dict[str, Any], prev_hash: str) -> str:
    """The hash of one entry's content and its link to the previous entry."""
    body = {"seq": seq, "at": at, "actor": actor, "action": action, "client_id": client_id,
            "detail": detail, "prev_hash": prev_hash}
    return hashlib.sha256(canonical(body)).hexdigest()


def append(s: Session, action: str, actor: str, client_id: str | None = None,
           detail: dict[str, Any] | None = None) -> AuditEntry:
    """Add an entry at the head of the chain (in the caller's write transaction)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    last = s.execute(select(AuditEntry.seq, AuditEntry.hash)
                     .order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = now().isoformat(timespec="microseconds")
    detail = dict(detail or {})
    entry = AuditEntry(seq=seq, at=at, actor=actor, action=action, client_id=client_id,
                       detail=detail, prev_hash=prev,
                       hash=entry_hash(seq, at, actor, action, client_id, detail, prev))
    s.add(entry)
    s.flush()
    return entry


@dataclass(frozen=True)
class Verdict:
    """The outcome of walking the chain."""

    ok: bool
    entries: int
    head: str
    broken_at: int | None = None
    reason: str = ""

    def message(self) -> str:
        """One line for the terminal."""
        if self.ok:
            return f"chain holds ({self.entries} entries, head {self.head[:16]})"
        return f"chain broken at entry {self.broken_at}: {self.reason}"


def verify(s: Session, expect_head: str | None = None) -> Verdict:
    """Walk the whole chain in sequence order; the first broken link, or that it holds."""
    prev, expected_seq, count = GENESIS, 1, 0
    for e in s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
        if e.seq != expected_seq:
            return Verdict(False, count, prev, expected_seq,
                           f"entry {expected_seq} is missing (the next one is {e.seq})")
        if e.prev_hash != prev:
            return Verdict(False, count, prev, e.seq,
                           "it does not follow the entry before it (deleted or reordered entries)")
        if entry_hash(e.seq, e.at, e.actor, e.action, e.client_id, dict(e.detail), e.prev_hash) != e.hash:
            return Verdict(False, count, prev, e.seq, "its content was changed after it was written")
        prev, expected_seq, count = e.hash, expected_seq + 1, count + 1
    if expect_head is not None and not prev.startswith(expect_head):
        return Verdict(False, count, prev, count,
                       f"the head is {prev[:16]}, not the expected {expect_head[:16]} "
                       "(entries at the end were removed, or others added)")
    return Verdict(True, count, prev)
