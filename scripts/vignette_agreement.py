"""Agreement between the engine and vignettes' expected conclusions (before/after a change).

    .venv/bin/python scripts/vignette_agreement.py [DIR ...]   # default: knowledge_base/vignettes

For each vignette it compares what the vignette expects (position, drivers, formulations and
origins exactly; recommendations and measures that must appear; recommendations that must not;
`stable` when given; and `reasons`: source passages the report's reasoning must cite) with the
engine's report, and prints one line per vignette and a table of agreement by item. Fields a
case gives that this engine's case model does not know are dropped and counted (so an older
engine can be scored on newer vignettes). The last line is one JSON object.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path.cwd()))

import yaml

from engine import CaseError, assess, parse_case

EXACT = ("position", "drivers", "formulations", "origins")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().replace("\u2019", "'")


def _parse(case: dict[str, Any]) -> tuple[Any, list[str]]:
    """The case, dropping fields this engine rejects (unknown ones), and what was dropped."""
    data = json.loads(json.dumps(case))
    dropped: list[str] = []
    for _ in range(50):
        try:
            return parse_case(data), dropped
        except CaseError as exc:
            removed = False
            for p in exc.problems:
                parts = p.where.split(".")
                section = data.get(parts[0]) if len(parts) == 2 else None
                if isinstance(section, dict) and parts[1] in section:
                    del section[parts[1]]
                    dropped.append(p.where)
                    removed = True
                elif len(parts) == 1 and parts[0] in data and parts[0] not in ("schema_version",):
                    del data[parts[0]]
                    dropped.append(p.where)
                    removed = True
            if not removed:
                raise
    raise RuntimeError("could not parse")


def score(vignette: dict[str, Any]) -> dict[str, Any]:
    """Each expected item of one vignette: agrees (True), disagrees (False), with detail."""
    case, dropped = _parse(vignette["case"])
    report = assess(case, explain=True)
    exp = vignette.get("expect") or {}
    out: dict[str, Any] = {"id": vignette["id"], "dropped": dropped, "items": {}, "got": {}}
    got = {"position": report.spectrum.position, "drivers": sorted(report.drivers),
           "formulations": sorted(report.formulations), "origins": sorted(report.origins)}
    out["got"] = got
    for key in EXACT:
        if exp.get(key) is not None:
            want = exp[key] if key == "position" else sorted(exp[key])
            out["items"][key] = got[key] == want
    recs = {r.id for r in report.recommendations}
    if exp.get("recommendations"):
        out["items"]["recommendations"] = set(exp["recommendations"]) <= recs
    if exp.get("not_recommendations"):
        out["items"]["not_recommendations"] = not set(exp["not_recommendations"]) & recs
    if exp.get("measures"):
        out["items"]["measures"] = set(exp["measures"]) <= {m.id for m in report.measures}
    if exp.get("stable") is not None:
        out["items"]["stable"] = bool(report.explanations["robustness"]["stable"]) == exp["stable"]
    if exp.get("reasons"):
        quotes = [_norm(step.source.quote) for step in report.trace]
        out["items"]["reasons"] = all(any(_norm(r) in q or q in _norm(r) for q in quotes)
                                      for r in exp["reasons"])
    out["full"] = all(out["items"].values())
    return out


def main(argv: list[str]) -> int:
    dirs = [Path(a) for a in argv] or [Path("knowledge_base/vignettes")]
    files = sorted(f for d in dirs for f in d.rglob("*.yaml"))
    results = [score(yaml.safe_load(f.read_text(encoding="utf-8"))) for f in files]
    for r in results:
        bad = [k for k, ok in r["items"].items() if not ok]
        print(f"{'ok ' if r['full'] else 'NO '} {r['id']:<40} got {r['got']['position']:<13}"
              f"{' differs: ' + ', '.join(bad) if bad else ''}"
              f"{'  (dropped: ' + ', '.join(r['dropped']) + ')' if r['dropped'] else ''}")
    table: dict[str, list[int]] = {}
    for r in results:
        for key, ok in r["items"].items():
            table.setdefault(key, [0, 0])
            table[key][0] += ok
            table[key][1] += 1
    print()
    for key, (agree, n) in table.items():
        print(f"{key:<22} {agree:>3} / {n}")
    full = sum(r["full"] for r in results)
    print(f"{'full agreement':<22} {full:>3} / {len(results)}")
    summary = {"vignettes": len(results), "full": full,
               "items": {k: {"agree": a, "of": n} for k, (a, n) in table.items()},
               "disagree": [r["id"] for r in results if not r["full"]]}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
