"""experta against its peers on the same rules: the generated Python evaluator, and CLIPS.

The knowledge base's rules are translated automatically into CLIPS (tests/clips_oracle.py)
and run through clipspy. First the three must agree: the same derived facts and the same fired
rules on every vignette and on `--random` random valid cases (seeded); then each vignette is
timed `--rounds` times with the three interleaved in one process (order rotated, cases
shuffled each round; CPU time of this process), one evaluation each on a reused engine.

    .venv/bin/python scripts/bench_peers.py [--rounds 20] [--random 3000]

Prints medians, p95 and the ratios; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_batch import random_case  # noqa: E402

from engine import default_knowledge_base, parse_case  # noqa: E402
from engine.answer_forms import reasoning_answers  # noqa: E402
from engine.case import Answer  # noqa: E402
from engine.generated import generated_evaluator  # noqa: E402
from engine.inference import Evaluator  # noqa: E402
from engine.kb_loader import KnowledgeBase  # noqa: E402
from engine.vignettes import default_vignettes  # noqa: E402
from tests.clips_oracle import ClipsEvaluator  # noqa: E402

Answers = Mapping[str, Answer]
Outcome = tuple[frozenset[str], tuple[str, ...]]


def peers(kb: KnowledgeBase) -> dict[str, Callable[[Answers], Outcome]]:
    """The three evaluators, each answers -> (derived facts, fired rules sorted)."""
    experta = Evaluator(kb)
    generated = generated_evaluator(kb)
    clips = ClipsEvaluator(kb)

    def run_experta(answers: Answers) -> Outcome:
        run = experta.run_answers(answers)
        return run.derived, tuple(sorted(f.rule for f in run.trace))

    def run_generated(answers: Answers) -> Outcome:
        derived, fired = generated(answers)
        return derived, tuple(sorted(fired))

    def run_clips(answers: Answers) -> Outcome:
        derived, fired = clips(answers)
        return derived, tuple(sorted(fired))

    return {"experta": run_experta, "clips": run_clips, "generated": run_generated}


def vignette_answers(kb: KnowledgeBase) -> list[tuple[str, dict[str, Answer]]]:
    """Each vignette's answers as the rules read them, and a case with nothing answered."""
    out = []
    for v in default_vignettes():
        case = parse_case(v.case, kb)
        out.append((v.id, reasoning_answers(kb, case.answers, case.as_of)))
    out.append(("(nothing answered)", {}))
    return out


def random_answers(kb: KnowledgeBase, count: int, seed: int) -> list[tuple[str, dict[str, Answer]]]:
    """`count` random valid cases (as the batch benchmark draws them), as the rules read them."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        case = parse_case(random_case(kb, rng, i), kb)
        out.append((f"random {i}", reasoning_answers(kb, case.answers, case.as_of)))
    return out


def disagreements(kb: KnowledgeBase, cases: Sequence[tuple[str, Answers]],
                  evaluators: Mapping[str, Callable[[Answers], Outcome]]) -> list[str]:
    """Where the evaluators differ: one line per case and evaluator."""
    out = []
    for name, answers in cases:
        reference = evaluators["experta"](answers)
        for other, evaluate in evaluators.items():
            got = evaluate(answers)
            if got != reference:
                facts = sorted(got[0] ^ reference[0])
                rules = sorted(set(got[1]) ^ set(reference[1]))
                out.append(f"{name}: {other} differs from experta (facts {facts}, rules {rules})")
    return out


def _stats(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 4), "p95_ms": round(p95, 4)}


def time_interleaved(cases: Sequence[tuple[str, Answers]],
                     evaluators: Mapping[str, Callable[[Answers], Outcome]],
                     rounds: int, seed: int) -> dict[str, dict[str, float]]:
    """Milliseconds of CPU per evaluation, the evaluators interleaved case by case."""
    rng = random.Random(seed)
    names = list(evaluators)
    samples: dict[str, list[float]] = {n: [] for n in names}
    clock = time.process_time_ns
    for _ in range(rounds):
        order = list(cases)
        rng.shuffle(order)
        for k, (_, answers) in enumerate(order):
            for name in names[k % len(names):] + names[:k % len(names)]:
                evaluate = evaluators[name]
                start = clock()
                evaluate(answers)
                samples[name].append((clock() - start) / 1e6)
    return {n: _stats(s) for n, s in samples.items()}


def main() -> int:
    """Agreement first, then timing; the JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--random", type=int, default=3000, help="random cases checked for agreement")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    kb = default_knowledge_base()
    evaluators = peers(kb)
    vignettes = vignette_answers(kb)
    randoms = random_answers(kb, args.random, args.seed)
    problems = disagreements(kb, vignettes + randoms, evaluators)
    for line in problems[:20]:
        print(line)
    agree = not problems
    print(f"agreement on {len(vignettes)} vignette cases and {len(randoms)} random cases: "
          f"{'yes' if agree else f'NO ({len(problems)} differences)'}; {len(kb.rules)} rules")
    for evaluate in evaluators.values():  # warm-up
        for _, answers in vignettes:
            evaluate(answers)
    figures = time_interleaved(vignettes, evaluators, args.rounds, args.seed)
    print(f"{len(vignettes)} cases x {args.rounds} rounds, interleaved, CPU ms per evaluation:")
    for name, f in figures.items():
        print(f"  {name:10} p50 {f['p50_ms']:8.4f}  p95 {f['p95_ms']:8.4f}")
    over_clips = figures["experta"]["p50_ms"] / figures["clips"]["p50_ms"]
    over_generated = figures["experta"]["p50_ms"] / figures["generated"]["p50_ms"]
    print(f"experta/clips {over_clips:.2f}, experta/generated {over_generated:.1f}, "
          f"clips/generated {figures['clips']['p50_ms'] / figures['generated']['p50_ms']:.1f}")
    print(json.dumps({**figures, "experta_over_clips": round(over_clips, 2),
                      "experta_over_generated": round(over_generated, 1), "agree": agree}))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
