"""HubSpot: contacts upserted by email with mapped properties, kept in a MANUAL contact list (list sync).

Contract (ref §6):
- Base ``https://api.hubapi.com`` (configurable); ``Authorization: Bearer <private app token>`` from the variable
  ``credentials.access_token`` names (an OAuth access token works the same; this package does not refresh one).
  Scopes: crm.lists.read/write, crm.objects.contacts.read/write.
- Lists API v3: by id ``GET /crm/v3/lists/{listId}``; by name ``GET /crm/v3/lists/object-type-id/0-1/name/{name}``
  (404: none); otherwise ``POST /crm/v3/lists`` ``{"name", "objectTypeId": "0-1", "processingType": "MANUAL"}``
  answering ``{"list": {"listId", "name", "objectTypeId", "processingType", ...}}``. A duplicate name
  (``subCategory: ILS.DUPLICATE_LIST_NAMES``, another run won the race) finds the list again. DYNAMIC lists (and
  non-contact lists) are refused: the API changes members of MANUAL / SNAPSHOT lists only. ``delete_list``:
  ``DELETE /crm/v3/lists/{listId}``. HubSpot caps lists per account by subscription tier (UNCONFIRMED numbers;
  the reference has none); creating by name happens once per sync, after that the id is reused.
- Add: ``POST /crm/v3/objects/contacts/batch/upsert`` ``{"inputs": [{"idProperty": "email", "id": <email>,
  "properties": {"email": <email>, <property>: <value>, ...}}]}`` (at most 100 inputs; one input per distinct
  email) creates or updates each contact with the sync's mapped ``fields:`` and returns its record id; then
  ``PUT /crm/v3/lists/{listId}/memberships/add`` with the JSON array of record id strings answers
  ``{"recordsIdsAdded" (sic), "recordIdsMissing"}``; a missing record rejects its members (``record_missing``).
- Remove (mirror / subtractive): ``POST /crm/v3/objects/contacts/batch/read`` ``{"idProperty": "email", "inputs":
  [{"id"}], "properties": ["email"]}`` resolves record ids (a contact that does not exist, ``OBJECT_NOT_FOUND``,
  is in no list: its removal holds), then ``PUT /crm/v3/lists/{listId}/memberships/remove`` (``recordIdsRemoved``,
  ``recordIdsMissing``). Removal never deletes or edits a contact: the profile and its properties stay.
- Batch answers: 200 ``{"status": "COMPLETE", "results": [{"id", "properties", "new"?}]}`` covering every input, or
  207 adding ``errors: [{"status", "category", "message", "context": {"ids": [...]}}]``; results are matched back
  by ``properties.email`` (no order assumed), errors by ``context.ids`` (or the only error), each member without
  a result rejected with the error's category and a scrubbed message. Any other 2xx shape fails the batch.
- Rate limits (per account, shared by all its apps): 100 requests / 10 s (Free, Starter), 190 (Professional,
  Enterprise), 250 with the API add-on; daily 250k / 650k / 1M. ``settings.requests_per_10_seconds`` (default
  100) paces the client below it (a tenth as burst, the rest spread evenly). A 429 is retried with exponential
  backoff (a ``Retry-After`` is honoured if one comes); a 429 whose ``policyName`` is ``DAILY`` ends the run as
  throttled (the next run resumes from the ledger). 5xx / 408 retried; 401 (bad or revoked token) and 403
  (missing scope) fail authentication naming the variable; other 4xx are permanent.
- Identifiers (identity platform "hubspot"): email trimmed and lowercased, phones E.164, nothing hashed. The
  identifier mapped to ``email`` matches contacts; other identifiers and ``fields:`` are written as contact
  properties (internal names: lowercase letters, digits, underscores; HubSpot-computed ones refused).
- A 100,000-member first sync with batch_size 100: 1 list lookup + 1 create, then 1,000 upserts and 1,000
  memberships/add requests (2,002 requests, about 3.7 minutes at the default pace).

Sources: reference §6 (segmentio/action-destinations hubspot upsertObject list functions and constants,
hubspot-api-python lists and contacts batch models, HubSpot's "Increasing our API limits" changelog).

UNCONFIRMED: the 429 body and the absence of ``Retry-After``; ``policyName: DAILY`` for the daily quota;
``GET /crm/v3/lists/{listId}`` (not in the reference); the cap on record ids per membership request (the fake
uses 100,000); that upsert results echo ``properties.email`` and that 207 errors name inputs in
``context.ids``; how HubSpot answers an unknown or read-only property (the fake: a per-input 207 error) and
duplicate ids in one batch (the fake: 400); whether list names are unique case-insensitively (the fake: yes);
the list caps per tier. Whether a property exists in the account is not checked before a run (it would cost a
``GET /crm/v3/properties/contacts``); HubSpot's answer rejects the members.
"""

from collections.abc import Mapping

from audience_pipelines.destinations.hubspot.client import HubSpotClient
from audience_pipelines.destinations.hubspot.fake import FakeHubSpot
from audience_pipelines.destinations.hubspot.payloads import EMAIL, property_problem
from audience_pipelines.destinations.hubspot.settings import HubSpotConfig
from audience_pipelines.destinations.kit import ContractCase, DestinationType
from audience_pipelines.destinations.settings import DestinationConfig


def check_sync(
    identifiers: Mapping[str, str], destination: DestinationConfig, fields: Mapping[str, str] | None = None
) -> list[str]:
    """Problems of a sync: one identifier maps to ``email``; every identifier and field names a writable contact
    property, each property written once."""
    problems = []
    targets = list(identifiers.values())
    if targets.count(EMAIL) != 1:
        problems.append(
            f"field 'identifiers': hubspot matches contacts by email; map exactly one identifier column to "
            f"'{EMAIL}' (mapped: {', '.join(targets) or 'none'})"
        )
    written = set(targets)
    for kind, mapping in (("identifiers", identifiers), ("fields", fields or {})):
        for column, name in mapping.items():
            if (problem := property_problem(name)) is not None:
                problems.append(f"field '{kind}.{column}': {problem}")
            elif kind == "fields" and name in written:
                problems.append(f"field 'fields.{column}': property '{name}' is already written by another column")
            written.add(name)
    return problems


HUBSPOT = DestinationType(
    name="hubspot",
    config=HubSpotConfig,
    client=HubSpotClient,
    capabilities=frozenset({"list"}),
    identity_platform="hubspot",
    kind="hubspot",
    fake=FakeHubSpot,
    contracts=(
        ContractCase(
            sync_type="list",
            identifiers={"email": EMAIL},
            fields={"lifetime_value": "lifetime_value"},
            match_field=EMAIL,
        ),
    ),
    fields=None,
    list_noun="list",
    check_sync=check_sync,
)

__all__ = ["HUBSPOT", "FakeHubSpot", "HubSpotClient", "HubSpotConfig", "check_sync"]
