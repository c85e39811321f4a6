"""``preview`` of a Customer Match sync: addOperations bodies Google's published request schema accepts."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from audience_pipelines.destinations.google_ads import GOOGLE_ADS
from audience_pipelines.destinations.kit import ContractCase
from audience_pipelines.sync.preview import preview_sync
from audience_pipelines_tests.destinations.contract_world import SYNC, ContractWorld, contract_world

json_format = pytest.importorskip("google.protobuf.json_format")
jobs = pytest.importorskip("google.ads.googleads.v23.services.types.offline_user_data_job_service")

CASE = ContractCase(
    sync_type="list",
    identifiers={
        "email": "email",
        "phone": "phone",
        "first_name": "first_name",
        "last_name": "last_name",
        "country": "country_code",
        "zip": "postal_code",
    },
)


@pytest.fixture
def world(clean_warehouse: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[ContractWorld]:
    with contract_world(GOOGLE_ADS, CASE, clean_warehouse, monkeypatch) as world:
        yield world


def test_preview_prints_add_operations_the_official_schema_accepts(world: ContractWorld) -> None:
    world.members_on(1, range(1, 6))
    preview = preview_sync(world.engine, world.config, SYNC, limit=3)
    lines = [json.loads(json.dumps(line)) for line in preview.json_lines()]
    assert [line["operation"] for line in lines] == ["add"]
    line = lines[0]
    assert line["method"] == "POST" and line["path"].endswith(":addOperations")
    assert line["path"].startswith("/v22/customers/1234567890/offlineUserDataJobs/")
    message = json_format.Parse(
        json.dumps(line["body"]), jobs.AddOfflineUserDataJobOperationsRequest.pb()(), ignore_unknown_fields=False
    )
    assert len(message.operations) == 3 and message.enable_partial_failure
    identifiers = message.operations[0].create.user_identifiers
    assert {i.WhichOneof("identifier") for i in identifiers} == {"hashed_email", "hashed_phone_number", "address_info"}
    assert identifiers[2].address_info.country_code == "US" and identifiers[2].address_info.postal_code == "94043"
    assert world.fake.request_count == 0, "a preview sends nothing, not even a token request"
    assert not any(secret in json.dumps(lines) for secret in world.fake.secrets())
