"""Pages of pending work read only their own key range: a run over n members reads each snapshot and ledger row
a bounded number of times, however many pages it takes (no page rereads the keys before it)."""

import sqlalchemy as sa

from audience_pipelines.warehouse.ledger import (
    SnapshotRef,
    _removes_page,
    merge_by_member_key,
    newest_snapshot,
)


def rows_read_per_relation(engine: sa.Engine, query: str, params: dict[str, object]) -> dict[str, int]:
    """Rows each scan of ``query`` returned when run (EXPLAIN ANALYZE), by relation name prefix."""
    with engine.connect() as conn:
        merge_by_member_key(conn)
        plan = conn.execute(sa.text(f"explain (analyze, format json) {query}"), params).scalar_one()
    read: dict[str, int] = {}

    def walk(node: dict) -> None:
        if "Relation Name" in node:
            name = node["Relation Name"].split("_")[0] + "_" + node["Relation Name"].split("_")[1]
            read[name] = read.get(name, 0) + int(node["Actual Rows"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return read


def test_a_late_page_of_leavers_does_not_reread_the_keys_before_it(world):
    world.members_on(1, range(1, 301))
    assert world.sync().status == "success"
    world.members_on(2, [u for u in range(1, 301) if u % 50])  # six leave, spread over the key range
    with world.engine.connect() as conn:
        snapshot: SnapshotRef = newest_snapshot(conn, "shoppers")
    query = _removes_page(None).format(select="l.member_key") + " order by l.member_key limit 1"
    params = {"sync": "to_hook", "audience": "shoppers", "start": snapshot.partition_start, "limit": 1}
    last_leaver = max(f"u{u}" for u in range(50, 301, 50))  # keys sort as text: u300 < u50
    after = max(k for k in (f"u{u}" for u in range(1, 301)) if k < last_leaver)
    read = rows_read_per_relation(world.engine, query, {**params, "after": after})
    assert 0 < read["snapshot_members"] <= 2 and 0 < read["sync_ledger"] <= 2, read
