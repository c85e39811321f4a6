"""Unlink keeps the destination and the ledger; relink resumes without re-sending; delete-list is confirmed by
the list's exact name and deletes only where the platform's API can."""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from audience_pipelines.destinations.google_ads import GOOGLE_ADS
from audience_pipelines.destinations.linkedin import LINKEDIN
from audience_pipelines.destinations.meta import META_CUSTOM_AUDIENCES
from audience_pipelines.destinations.tiktok import TIKTOK_AUDIENCES
from audience_pipelines.sync.lifecycle import LifecycleError, delete_list, relink_sync, unlink_sync
from audience_pipelines.warehouse import SCHEMA
from audience_pipelines.warehouse.ledger import ledger_members
from audience_pipelines.warehouse.sync_runs import get_state
from audience_pipelines_tests.destinations.contract_world import LIST_NAME, SYNC, ContractWorld, contract_world

LIST = "shoppers-list"


def triggers(engine: sa.Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(f"select trigger, status from {SCHEMA}.sync_runs order by started_at")))


def test_unlink_stops_runs_and_relink_resumes_without_resending(world):
    world.members_on(1, [1, 2, 3])
    world.sync()
    unlink_sync(world.engine, world.config(), "to_hook")
    world.members_on(2, [1, 2, 3, 4])
    skipped = world.sync()
    assert skipped.status == "skipped" and "unlinked" in skipped.message and "relink to_hook" in skipped.message
    assert world.receiver.member_keys(LIST) == {"u1", "u2", "u3"}, "the destination keeps its members"
    with pytest.raises(LifecycleError, match="already unlinked"):
        unlink_sync(world.engine, world.config(), "to_hook")
    relink_sync(world.engine, world.config(), "to_hook")
    resumed = world.sync()
    assert resumed.status == "success" and resumed.counts.sent == 1, "only the new member is sent"
    assert world.receiver.member_keys(LIST) == {"u1", "u2", "u3", "u4"}
    assert [t for t, _ in triggers(world.engine)] == ["manual", "unlink", "manual", "relink", "manual"]


def test_delete_list_needs_the_lists_exact_name(world):
    world.members_on(1, [1, 2])
    world.sync()
    with pytest.raises(LifecycleError, match="exact name, 'shoppers-list'; nothing was deleted"):
        delete_list(world.engine, world.config(), "to_hook", confirm="shoppers")
    with world.engine.connect() as conn:
        assert ledger_members(conn, "to_hook") == {"u1", "u2"} and not get_state(conn, "to_hook").unlinked


def test_delete_list_says_so_where_the_platform_cannot_delete(world):
    world.members_on(1, [1])
    world.sync()
    with pytest.raises(LifecycleError, match="webhook has no API to delete a list; nothing was deleted"):
        delete_list(world.engine, world.config(), "to_hook", confirm=LIST)
    assert world.receiver.member_keys(LIST) == {"u1"}


@pytest.fixture(params=[META_CUSTOM_AUDIENCES, GOOGLE_ADS, TIKTOK_AUDIENCES, LINKEDIN], ids=lambda kind: kind.name)
def platform(request, clean_warehouse: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[ContractWorld]:
    kind = request.param
    with contract_world(kind, kind.contracts[0], clean_warehouse, monkeypatch) as world:
        yield world


def test_delete_list_deletes_on_the_platform_clears_the_ledger_and_unlinks(platform: ContractWorld):
    platform.members_on(1, range(1, 5))
    assert platform.sync().status == "success"
    with platform.engine.connect() as conn:
        list_id = get_state(conn, SYNC).list_id
    result = delete_list(platform.engine, platform.config, SYNC, confirm=LIST_NAME)
    assert f"deleted {platform.kind.list_noun} '{LIST_NAME}' ({list_id})" in result.message
    assert platform.fake.held(platform.config.destinations[0], list_id, SYNC) == set()
    with platform.engine.connect() as conn:
        state = get_state(conn, SYNC)
        assert ledger_members(conn, SYNC) == set() and state.list_id is None and state.unlinked
    assert triggers(platform.engine)[-1] == ("delete-list", "success")
    assert platform.sync().status == "skipped", "no new list is built behind the user's back"
