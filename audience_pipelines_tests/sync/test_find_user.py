"""find-user: a person found by each identifier type, through snapshots and through the ledgers' sent values."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from audience_pipelines.cli.people import find_lines
from audience_pipelines.destinations.meta import META_CUSTOM_AUDIENCES
from audience_pipelines.destinations.webhook import WEBHOOK
from audience_pipelines.sync.find import PersonQuery, PersonQueryError, find_person, phone_digit_forms
from audience_pipelines_tests.destinations.contract_world import SYNC, person
from audience_pipelines_tests.people_world import EVENTS, PeopleWorld, people_world

RAW = person(3)


@pytest.fixture
def world(clean_warehouse: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[PeopleWorld]:
    with people_world(WEBHOOK, WEBHOOK.contracts[0], clean_warehouse, monkeypatch, with_events=True) as world:
        yield world


def churned(world: PeopleWorld) -> None:
    """Person 3 is in on day 1, out on day 2, back on day 3; both syncs run after each day."""
    for n, members in ((1, [1, 2, 3, 4]), (2, [1, 2, 4]), (3, [1, 2, 3, 4, 5])):
        world.members_on(n, members)
        assert world.sync_named(SYNC).status == "success"
        assert world.sync_named(EVENTS).status == "success"


@pytest.mark.parametrize(
    "typed",
    [
        {"member_key": "p3"},
        {"email": "  PERSON.3@example.COM "},  # normalized before the lookup
        {"phone": "+1 650-555-0003"},
        {"phone": "(650) 555 0003"},  # no country code: --phone-region (US)
        {"external_id": "crm-3"},
        {"fbp": RAW["fbp"]},
        {"ga_client_id": f"GA1.1.{RAW['ga_client_id']}"},  # a whole _ga cookie value
    ],
    ids=["member_key", "email", "phone", "national-phone", "external_id", "fbp", "ga_client_id"],
)
def test_finds_a_person_by_each_identifier_type(world: PeopleWorld, typed: dict[str, str]) -> None:
    churned(world)
    report = find_person(world.engine, world.config, PersonQuery(**typed))
    assert report.member_keys == ("p3",)
    assert [(a.audience, a.partition_key) for a in report.audiences_now] == [("people", "2026-06-03")]
    assert [(c.change, c.partition_key) for c in report.changes] == [
        ("entered", "2026-06-01"),
        ("exited", "2026-06-02"),
        ("entered", "2026-06-03"),
    ]
    assert {(h.sync, h.status, h.partition_key) for h in report.holdings} == {
        (SYNC, "sent", "2026-06-03"),
        (EVENTS, "sent", "2026-06-03"),
    }


def test_output_prints_no_identifier_beyond_what_was_typed(world: PeopleWorld) -> None:
    churned(world)
    query = PersonQuery(email=RAW["email"])
    text = "\n".join(find_lines(query, find_person(world.engine, world.config, query)))
    assert "p3" in text and "contract_sync" in text and "contract_events" in text
    for name, value in RAW.items():
        if name not in ("n", "country", "zip", "lifetime_value", "first_name"):
            assert str(value).lower() not in text.lower(), name
    assert "+16505550003" not in text


def test_an_unknown_person_is_not_found(world: PeopleWorld) -> None:
    churned(world)
    assert find_person(world.engine, world.config, PersonQuery(email="nobody@example.com")).member_keys == ()
    assert find_person(world.engine, world.config, PersonQuery(member_key="p999")).member_keys == ()


def test_a_bad_identifier_names_the_option_not_the_value(world: PeopleWorld) -> None:
    with pytest.raises(PersonQueryError, match="--email") as error:
        find_person(world.engine, world.config, PersonQuery(email="not-an-email"))
    assert "not-an-email" not in str(error.value)
    with pytest.raises(PersonQueryError, match="give one of"):
        find_person(world.engine, world.config, PersonQuery())


def test_finds_through_the_hashed_values_a_ledger_holds(
    clean_warehouse: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Meta receives SHA-256 hashes: the ledger holds those, and find-user hashes what it is given to match them.
    case = META_CUSTOM_AUDIENCES.contracts[0]
    with people_world(META_CUSTOM_AUDIENCES, case, clean_warehouse, monkeypatch) as world:
        world.members_on(1, [1, 2, 3])
        assert world.sync().status == "success"
        with world.engine.begin() as conn:  # snapshots pruned past retention: only the ledger still knows them
            conn.execute(sa.text("delete from audience_pipelines.snapshot_members"))
        for typed in ({"email": "person.3@EXAMPLE.com"}, {"phone": "16505550003"}):
            report = find_person(world.engine, world.config, PersonQuery(**typed))
            assert report.member_keys == ("p3",), typed
            assert [h.sync for h in report.holdings] == [SYNC]
            assert report.audiences_now == []


@pytest.mark.parametrize(
    ("typed", "region", "forms"),
    [
        ("+1 650 555 0003", "US", {"16505550003", "6505550003"}),
        ("(650) 555-0003", "US", {"16505550003", "6505550003"}),
        ("+44 20 7183 8750", "US", {"442071838750", "2071838750", "02071838750"}),  # UK sources keep the 0
        ("020 7183 8750", "GB", {"442071838750", "2071838750", "02071838750"}),
        ("12", "US", {"12"}),  # not a valid number: only its digits
    ],
)
def test_phone_lookups_cover_the_ways_sources_write_a_number(typed: str, region: str, forms: set[str]) -> None:
    assert phone_digit_forms(typed, region) == forms
