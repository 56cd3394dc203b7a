"""Cost of reading hostile or odd case files (issue 14, item 1): time and memory per input.

Each input is at most the size limit (1 MB, CASE_FILE_MAX_BYTES) and is read and validated
(`parse_text`, what the CLI and the app's upload do) in a fresh process, so its memory figure
is that input's alone: the growth of the process's peak resident set while reading it. The
goal: every input accepted or refused in <= 0.5 s and <= 100 MB. A small valid case is
timed in the same run for comparison (the machine is shared and noisy).

    .venv/bin/python scripts/bench_input.py          # a table, then one line of JSON
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 1_000_000
SECONDS, MEGABYTES = 0.5, 100.0

VALID = ("schema_version: 1\ncase_id: C-1\ntimeline: {weeks_since_onset: 30, stressor: ended, "
         "weeks_since_stressor_ended: 26}\nfindings: {numbness: present}\nmeasures: {tas20_total: 58}\n")


def _fit(head: str, unit: str, tail: str = "") -> str:
    """head + unit repeated to just under the size limit + tail."""
    return head + unit * ((LIMIT - len(head) - len(tail) - 10) // len(unit)) + tail


def _distinct(head: str, unit: str) -> str:
    """head + unit.format(i) for i = 0, 1, ... to just under the size limit."""
    parts, size, i = [head], len(head), 0
    while size + len(unit) + 10 < LIMIT:
        parts.append(unit.format(i))
        size += len(parts[-1])
        i += 1
    return "".join(parts)


def inputs() -> dict[str, str]:
    """The inputs by name: the issue's reproducers, and the same shapes at the size limit."""
    many_keys = "".join(f'"numbnes{i}": "present", ' for i in range(20_000))
    return {
        "valid_case": VALID,
        "valid_case_with_1mb_comment": _fit(VALID + "# ", "x", "\n"),
        "yaml_flow_list_990kb (issue)": "schema_version: 1\nnotes: [" + "1," * 495_000 + "1]",
        "yaml_block_list": _fit("schema_version: 1\nnotes:\n", "- 1\n"),
        "yaml_nested_brackets_10kb (issue)": "schema_version: 1\nnotes: " + "[" * 10_000 + "]" * 10_000,
        "yaml_nested_brackets_1mb": _fit("schema_version: 1\nnotes: ", "["),
        "yaml_nested_mappings": _fit("schema_version: 1\nnotes: ", "{a: "),
        "yaml_distinct_unknown_keys_1mb": _distinct("schema_version: 1\nfindings:\n", "  k{}: present\n"),
        "yaml_distinct_unknown_keys_under_budget": "schema_version: 1\nfindings:\n" + "".join(
            f"  numbnes{i}: present\n" for i in range(2_400)),
        "yaml_long_quoted_string": _fit('schema_version: 1\nnotes: "', "x", '"\n'),
        "yaml_long_plain_lines": _fit("schema_version: 1\nnotes: >\n", "  word word word\n"),
        "yaml_documents": _fit("schema_version: 1\n", "---\n"),
        "yaml_alias_bomb": "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                           "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nschema_version: 1\n",
        "yaml_long_number": "schema_version: 1\nmeasures: {tas20_total: " + "9" * 990_000 + "}\n",
        "json_20k_unknown_keys_529kb (issue)": '{"schema_version": 1, "findings": {' + many_keys[:-2] + "}}",
        "json_flat_list": _fit('{"schema_version": 1, "notes": [', "1,", "1]}"),
        "json_many_objects": _fit('{"schema_version": 1, "notes": [', "{},", "{}]}"),
        "json_many_lists": _fit('{"schema_version": 1, "notes": [', "[],", "[]]}"),
        "json_nested_1mb": _fit('{"schema_version": 1, "notes": ', "["),
        "json_long_number": '{"schema_version": 1, "measures": {"tas20_total": ' + "9" * 990_000 + "}}",
    }


_CHILD = r"""
import json, resource, sys, time
from engine import CaseError, default_knowledge_base, parse_text
kb = default_knowledge_base()
text = sys.stdin.read()
parse_text("schema_version: 1\n", kb)   # warm: the case model is built once per process
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    parse_text(text, kb, name="case")
    outcome, lines = "accepted", []
except CaseError as exc:
    outcome, lines = "refused", exc.lines()
seconds = time.perf_counter() - start
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps({"outcome": outcome, "seconds": seconds, "mb": grown, "lines": len(lines),
                  "first": lines[0][:90] if lines else ""}))
"""


def measure(text: str) -> dict[str, object]:
    """Read one input in a fresh process; its outcome, seconds and MB."""
    proc = subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, input=text, text=True,
                          capture_output=True, check=True)
    return dict(json.loads(proc.stdout))


def main() -> int:
    """Print one row per input, then a JSON summary as the last line."""
    rows = {}
    for name, text in inputs().items():
        if len(text.encode()) > LIMIT:
            raise SystemExit(f"{name} is over the size limit")
        rows[name] = measure(text)
    base = max(float(rows["valid_case"]["seconds"]), 1e-6)  # type: ignore[arg-type]
    print(f"{'input':42} {'KB':>5} {'outcome':>8} {'ms':>8} {'x valid':>8} {'MB':>6} lines  first line")
    for name, row in rows.items():
        kb_size = len(inputs()[name].encode()) // 1000
        seconds, mb = float(row["seconds"]), float(row["mb"])  # type: ignore[arg-type]
        print(f"{name:42} {kb_size:>5} {row['outcome']:>8} {seconds * 1000:>8.1f} "
              f"{seconds / base:>8.0f} {mb:>6.1f} {row['lines']:>5}  {row['first']}")
    worst_s = max(float(r["seconds"]) for r in rows.values())  # type: ignore[arg-type]
    worst_mb = max(float(r["mb"]) for r in rows.values())  # type: ignore[arg-type]
    most_lines = max(int(r["lines"]) for r in rows.values())  # type: ignore[call-overload]
    print(json.dumps({"inputs": len(rows), "max_seconds": round(worst_s, 4), "max_mb": round(worst_mb, 1),
                      "max_error_lines": most_lines,
                      "ok": worst_s <= SECONDS and worst_mb <= MEGABYTES and most_lines <= 21}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
