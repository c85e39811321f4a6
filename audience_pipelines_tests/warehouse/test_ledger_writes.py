"""How checkpoints write the sync ledger: new members inserted, known ones updated, and the index that finds
members holding the same identifiers usable by the lookup that needs it."""

import pytest
import sqlalchemy as sa

from audience_pipelines.warehouse import SCHEMA
from audience_pipelines.warehouse.ledger import LedgerRows, held_by_another, newest_snapshot, record_held
from audience_pipelines_tests.warehouse.plans import run_and_explain
from audience_pipelines_tests.warehouse.test_snapshots_and_diffs import one_day_audience, snapshot
from audience_pipelines_tests.warehouse.test_snapshots_and_diffs import visits as visits  # the fixture


def rows(fields_by_key: dict[str, str], held: list[bool] | None) -> LedgerRows:
    keys = list(fields_by_key)
    return LedgerRows(
        keys,
        [{"email": fields_by_key[key]} for key in keys],
        [f"fp-{fields_by_key[key]}" for key in keys],
        [None] * len(keys),
        held,
    )


def ledger(engine: sa.Engine) -> dict[str, tuple[str, str, str]]:
    with engine.connect() as conn:
        found = conn.execute(
            sa.text(
                f"select member_key, fields ->> 'email', source_fingerprint, partition_key from {SCHEMA}.sync_ledger"
            )
        )
        return {key: (email, fingerprint, partition) for key, email, fingerprint, partition in found}


def test_new_and_known_members_in_one_checkpoint_are_inserted_and_updated(clean_warehouse: sa.Engine):
    with clean_warehouse.begin() as conn:
        record_held(conn, "s", rows({"a": "a1", "b": "b1"}, None), status="sent", partition_key="p1")
    with clean_warehouse.begin() as conn:  # "a" changed its email, "c" is new
        record_held(conn, "s", rows({"a": "a2", "c": "c1"}, [True, False]), status="sent", partition_key="p2")
    assert ledger(clean_warehouse) == {
        "a": ("a2", "fp-a2", "p2"),
        "b": ("b1", "fp-b1", "p1"),
        "c": ("c1", "fp-c1", "p2"),
    }


def test_a_member_read_as_new_but_already_in_the_ledger_is_updated_not_refused(clean_warehouse: sa.Engine):
    with clean_warehouse.begin() as conn:
        record_held(conn, "s", rows({"a": "a1"}, None), status="sent", partition_key="p1")
    with clean_warehouse.begin() as conn:  # the page said "not held": the plain insert meets the row, then upserts
        record_held(conn, "s", rows({"a": "a2", "d": "d1"}, [False, False]), status="sent", partition_key="p2")
        assert conn.execute(sa.text("select 1")).scalar_one() == 1, "the transaction is usable after the fallback"
    assert ledger(clean_warehouse) == {"a": ("a2", "fp-a2", "p2"), "d": ("d1", "fp-d1", "p2")}


def test_a_checkpoint_the_ledger_refuses_for_another_reason_still_fails(clean_warehouse: sa.Engine):
    with pytest.raises(sa.exc.IntegrityError), clean_warehouse.begin() as conn:
        record_held(conn, "s", rows({"a": "a1"}, [False]), status="unheard-of", partition_key="p1")
    assert ledger(clean_warehouse) == {}


def test_the_lookup_of_leavers_sharing_identifiers_probes_the_index(visits: sa.Engine):
    """The lookup runs for every page of leavers; without its index it would read the sync's whole ledger."""
    audience = one_day_audience()
    snapshot(visits, audience, 2)  # u1, u2 and u4 are members
    others = {f"v{n}": f"v{n}" for n in range(5000)}  # enough of a ledger that reading it all would show
    with visits.begin() as conn:
        record_held(
            conn, "s", rows({"u1": "x", "u2": "x", "u3": "y", **others}, None), status="sent", partition_key="p"
        )
        conn.execute(sa.text(f"analyze {SCHEMA}.sync_ledger"))

    def lookup() -> set[str]:
        with visits.begin() as conn:
            return held_by_another(conn, "s", newest_snapshot(conn, audience.name), ["u1", "u3"])

    shared, plan = run_and_explain(visits, "o.fields = r.fields", lookup)
    assert shared == {"u1"}, "u1's identifiers are held by u2, who stays; nobody else holds u3's"
    assert "sync_ledger_identity_hash_idx" in plan, plan
