"""How the strict fakes decide which uploaded members the platform "matched" to one of its users.

Real platforms match a hashed identifier against their accounts; the fakes stand in with a deterministic
rule over the values received (about three members in four match), so reported sizes and match rates are
plausible, repeatable and computed from what a fake holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def is_matched(values: Iterable[str]) -> bool:
    """Whether a member sent with these identifier values matches a platform user (same values, same answer)."""
    present = sorted(value for value in values if value)
    if not present:
        return False
    return hashlib.sha256(present[0].encode()).hexdigest()[0] not in "0123"


def count_matched(members: Iterable[Iterable[str]]) -> int:
    """How many of these members (each given by its identifier values) match."""
    return sum(1 for values in members if is_matched(values))
