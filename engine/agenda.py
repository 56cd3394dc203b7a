"""A conflict-resolution strategy that fixes experta 1.9.4's activation-removal bug.

`DepthStrategy._update_agenda` removes a cancelled activation by bisecting to the first
activation with an equal key and looking only at that slot and its two neighbours. When four
or more activations share a key (same salience, same facts) the cancelled one can sit further
along the run and is never removed, so a rule guarded by NOT(...) still fires after the fact
it forbids was declared. Here the whole run of equal keys is searched.

`DepthStrategy.get_key` is also wrapped in a class-level `lru_cache`, shared by every engine
in the process: it keeps the last 128 activations (with their facts, that is, case answers)
of any session alive after that session is gone, and its lookups compare whole activations.
Keys are computed afresh here instead (a sort of a few ids).
"""

from __future__ import annotations

import bisect
from typing import Any

from experta.strategies import DepthStrategy


class ExactRemovalDepthStrategy(DepthStrategy):  # type: ignore[misc]
    """experta's depth strategy, removing cancelled activations wherever they are in their run."""

    def get_key(self, activation: Any) -> tuple[int, list[int]]:
        """Salience first, then the most recent facts (depth-first), as experta orders them."""
        facts = sorted([f["__factid__"] for f in activation.facts], reverse=True)
        return (activation.rule.salience, facts)

    def _update_agenda(self, agenda: Any, added: Any, removed: Any) -> None:
        activations = agenda.activations
        for act in removed:
            act.key = self.get_key(act)
            lo = bisect.bisect_left(activations, act)
            hi = bisect.bisect_right(activations, act, lo=lo)
            for idx in range(lo, hi):
                other = activations[idx]
                # Same rule object first: Activation.__eq__ compares whole facts and is slow.
                if other is act or (other.rule is act.rule and other == act):
                    del activations[idx]
                    break
        for act in added:
            act.key = self.get_key(act)
            bisect.insort(activations, act)
