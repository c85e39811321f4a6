"""Klaviyo lists: profiles upserted with mapped properties and added to a list; removed from it by profile id.

Platform contract (reference §5):

- Base ``https://a.klaviyo.com`` (paths under ``/api``); headers ``Authorization: Klaviyo-API-Key <private
  key>`` (read from the environment variable ``credentials.api_key`` names), ``revision: 2026-07-15`` (setting
  ``revision``), ``Accept`` / ``Content-Type: application/json``; JSON:API documents.
- Lists: ``GET /api/lists/{id}``; ``GET /api/lists?filter=equals(name,"...")`` finds by exact name; ``POST
  /api/lists`` creates (201). New lists are capped at **150 a day** (burst 10/s, steady 150/m); a list id in
  ``target.list_id`` avoids creation entirely.
- Adds: ``POST /api/profile-bulk-import-jobs`` (``profile-bulk-import-job``, at most **10,000 profiles and 5
  MB**, the list as ``relationships.lists``) answers 202 with a job; the client polls ``GET
  /api/profile-bulk-import-jobs/{id}`` every ``job_poll_seconds`` (bounded by ``job_timeout_seconds``) until
  ``complete`` and, when ``failed_count`` > 0, reads ``.../import-errors`` and maps each error to its member
  (by the JSON pointer's profile index, else by the identifier in ``original_payload``). The import upserts
  the profile (creating it when absent); identifiers ``email``, ``phone_number`` (E.164) and ``external_id``
  (≤255 chars), standard attributes ``first_name``, ``last_name``, ``organization``, ``title``; every other
  mapped field is written under ``properties``. Values are sent raw (normalized by identity platform
  "klaviyo"), never hashed.
- Removes: profiles are found by identifier (``GET /api/profiles?filter=any(email,[...])``, else phone_number,
  else external_id; 100 values a request) and leave the list through ``DELETE
  /api/lists/{id}/relationships/profiles`` (at most **1,000** ids, 204). This changes neither consent nor the
  profile: the person and their properties stay. A member with no profile is not in the list and counts as
  removed.
- Rate limits: burst 10/s, steady 150/m for lists, list relationships and bulk import (tier M); a client-side
  ``RateLimiter`` paces every request to ``requests_per_minute`` / ``burst`` (default 150/m, burst 10). HTTP 429
  carries ``Retry-After``, which is honoured exactly.
- Errors: ``{"errors":[{"id","status","code","title","detail","source":{"pointer"}}]}``; 401/403 fail
  authentication naming the key's variable; 429 throttled; 5xx retried; other 4xx permanent; any 2xx other
  than the documented status (201 create, 202 import, 204 removal, 200 reads) or shape is a failure.
- Upload jobs: each batch's import jobs have ended when ``add_members`` returns, so the engine's job is a
  client-side grouping id and ``upload_status`` / ``finish_upload`` answer ``done``.

Sources: reference §5 (klaviyo-api-python @ bcdd6cb2 docstrings; segmentio/action-destinations klaviyo;
developers.klaviyo.com rate limits and error handling).

UNCONFIRMED: the 201/202/204 statuses; the import job's ``status`` values (queued, processing, complete,
cancelled) and ``failed_count`` attribute; the ``import-errors`` resource shape (pointer and
``original_payload``); 100 values per ``any()`` filter and per profiles page; the per-endpoint limits of the
job status, import-errors and profiles reads (paced at the M tier here); that ``$``-prefixed property names are
reserved; that a whole-request 400 is not given for one malformed profile (the fake reports it per profile).
"""

from collections.abc import Mapping

from audience_pipelines.destinations.kit import ContractCase, DestinationType
from audience_pipelines.destinations.klaviyo.client import KlaviyoClient
from audience_pipelines.destinations.klaviyo.fake import FakeKlaviyo
from audience_pipelines.destinations.klaviyo.payloads import check_fields
from audience_pipelines.destinations.klaviyo.payloads import check_sync as check_identifiers
from audience_pipelines.destinations.klaviyo.settings import KlaviyoConfig
from audience_pipelines.destinations.settings import DestinationConfig


def check_sync(identifiers: Mapping[str, str], destination: DestinationConfig, fields: Mapping[str, str]) -> list[str]:
    """Problems with a sync's identifiers and extra fields for Klaviyo."""
    return [*check_identifiers(identifiers), *check_fields(fields)]


KLAVIYO = DestinationType(
    name="klaviyo",
    config=KlaviyoConfig,
    client=KlaviyoClient,
    capabilities=frozenset({"list"}),
    identity_platform="klaviyo",
    kind="klaviyo",
    fake=FakeKlaviyo,
    contracts=(
        ContractCase(
            sync_type="list",
            identifiers={"email": "email"},
            fields={"lifetime_value": "lifetime_value"},
            match_field="email",
        ),
    ),
    fields=None,
    list_noun="list",
    check_sync=check_sync,
)

__all__ = ["KLAVIYO", "FakeKlaviyo", "KlaviyoClient", "KlaviyoConfig", "check_fields", "check_sync"]
