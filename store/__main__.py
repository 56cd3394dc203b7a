"""`python -m store migrate | downgrade [REV] | current | audit-verify [--expect-head H] |
export CODE | erase CODE --reason TEXT`.

The database is `--url`, else DETACHMENT_STORE_URL, else the encrypted default file (key in
DETACHMENT_STORE_KEY or asked at a terminal). Exit codes: 0 ok, 1 the audit chain is broken,
2 bad arguments or the store cannot be opened (wrong key, no key, unknown client).
"""

from __future__ import annotations

import argparse
import json
import sys

from store import audit
from store.db import Store, StoreError, make_engine
from store.migrate import current, downgrade, upgrade


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m store", description="The case store.")
    parser.add_argument("--url", help="database URL (default: DETACHMENT_STORE_URL or the local file)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or migrate the database to the newest schema")
    down = sub.add_parser("downgrade", help="migrate down (default: remove every table)")
    down.add_argument("revision", nargs="?", default="base")
    sub.add_parser("current", help="the database's schema revision")
    ver = sub.add_parser("audit-verify", help="check the audit chain")
    ver.add_argument("--expect-head", help="the head hash (or its start) noted earlier")
    exp = sub.add_parser("export", help="a client's data as JSON (audited)")
    exp.add_argument("code")
    exp.add_argument("--actor", default="cli")
    era = sub.add_parser("erase", help="erase a client's clinical data (recorded, audited)")
    era.add_argument("code")
    era.add_argument("--reason", required=True)
    era.add_argument("--actor", default="cli")
    args = parser.parse_args(argv)
    try:
        engine = make_engine(args.url)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "migrate":
            upgrade(engine)
            print(f"migrated to {current(engine)}")
        elif args.command == "downgrade":
            downgrade(engine, args.revision)
            print(f"migrated down to {current(engine) or 'base'}")
        elif args.command == "current":
            print(current(engine) or "base")
        elif args.command == "audit-verify":
            with Store(engine).session() as s:
                verdict = audit.verify(s, args.expect_head)
            print(verdict.message(), file=sys.stdout if verdict.ok else sys.stderr)
            return 0 if verdict.ok else 1
        elif args.command == "export":
            from store.export import export_client
            print(json.dumps(export_client(Store(engine), args.code, args.actor),
                             ensure_ascii=False, indent=2))
        elif args.command == "erase":
            from store.export import erase_client
            tomb = erase_client(Store(engine), args.code, args.actor, args.reason)
            print(f"erased: {sum(tomb.removed.values())} rows removed; the erasure is recorded")
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # stdout closed (a pipe) or the disk full
        sys.stdout = None  # no second failure at exit
        print(f"error: the output cannot be written ({exc.strerror or type(exc).__name__})",
              file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
