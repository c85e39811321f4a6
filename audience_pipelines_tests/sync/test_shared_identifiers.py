"""Two member keys with exactly the same identifiers are one person on a platform: when one leaves and the
other stays, no removal is sent, so the person who stays is not taken off the list."""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from audience_pipelines.destinations.google_ads import GOOGLE_ADS
from audience_pipelines.destinations.meta import META_CUSTOM_AUDIENCES
from audience_pipelines.destinations.tiktok import TIKTOK_AUDIENCES
from audience_pipelines_tests.destinations.contract_world import ContractWorld, contract_world


@pytest.fixture(params=[META_CUSTOM_AUDIENCES, TIKTOK_AUDIENCES, GOOGLE_ADS], ids=lambda kind: kind.name)
def platform(request, clean_warehouse: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[ContractWorld]:
    kind = request.param
    with contract_world(kind, kind.contracts[0], clean_warehouse, monkeypatch) as world:
        yield world


def test_a_leaver_sharing_every_identifier_with_a_stayer_does_not_remove_the_stayer(platform: ContractWorld):
    platform.members_on(1, [1, 2, 3])
    with platform.engine.begin() as conn:  # member 3 is a duplicate record of member 2
        conn.execute(sa.text("update contract.people set email = 'Person.2@Example.com', phone = '+1 (650) 555-0002'"
                             " where n = 3"))  # fmt: skip
    platform.members_on(2, [1, 2, 3])
    assert platform.sync().status == "success"
    held_before = platform.held()
    platform.members_on(3, [1, 2])  # the duplicate leaves, the original stays
    summary = platform.sync()
    assert summary.status == "success" and summary.counts.sent == 0, "no removal request for a shared person"
    assert set(platform.ledger()) == {"p1", "p2"}
    assert platform.held() == held_before == platform.expected_on_fake()
    platform.members_on(4, [1])  # now the person leaves for good
    assert platform.sync().counts.sent == 1
    assert platform.held() == platform.expected_on_fake() and set(platform.ledger()) == {"p1"}
