"""TikTok: custom audiences through the Segment API (list sync) and the Events API (event sync).

Contract (ref §3; Business API ``https://business-api.tiktok.com/open_api/{version}/``, default v1.3):
- Auth: header ``Access-Token: <token>`` (the token comes from the environment variable named in
  ``credentials.access_token``); ``Content-Type: application/json``.
- Envelope: every answer is HTTP 200 ``{"code", "message", "request_id", "data"}``; only ``code == 0`` is
  success, and a 200 that is not this envelope is a failure. Codes: 40100 throttled (TikTok gives no wait:
  exponential backoff); 40104 / 40105 missing, invalid or expired token (and HTTP 401/403): fail fast naming
  the variable; every other code (e.g. 40002 parameter error, 40001 no permission) is permanent, reported with
  the code and the scrubbed message. HTTP 429/5xx are retried as elsewhere. The code meanings 40100 / 40104 /
  40105 are UNCONFIRMED (TikTok's return-code appendix, not read in a primary source).
- Audiences: found by exact name in ``GET dmp/custom_audience/list/`` (``advertiser_id``, ``page``,
  ``page_size`` <= 100; ``data.list[].{audience_id,name}``, ``data.page_info.total_page``), read by id with
  ``GET dmp/custom_audience/get/`` (``custom_audience_ids`` JSON list), created with ``POST segment/audience/``
  ``{"custom_audience_name", "advertiser_id", "action": "create"}`` -> ``data.audience_id`` and deleted with
  ``POST dmp/custom_audience/delete/`` ``{"advertiser_id", "custom_audience_ids": [...]}``. TikTok allows
  duplicate names, so ``ensure_list`` finds before it creates and the engine records the id it returns before
  the first batch: a crash between the create and the first batch never creates a second audience.
- Members: ``POST segment/mapping/`` ``{"advertiser_ids": [id], "action": "add" | "delete", "id_schema":
  [...], "batch_data": [[cell, ...], ...]}``, one row per member aligned positionally with ``id_schema``, each
  cell ``{"id": <sha256>, "audience_ids": [<audience id>]}`` or ``{}`` for a missing identifier. id types:
  EMAIL_SHA256, PHONE_SHA256 and one advertising id (IDFA_SHA256 or AAID_SHA256). Batch size 1,000 by
  default (the conservative figure, from Tealium's connector) up to 10,000 (our ceiling; TikTok documents none:
  UNCONFIRMED). TikTok acknowledges a batch whole.
- Calculate type (setting ``calculate_type``): ``single`` maps exactly one of EMAIL_SHA256 or PHONE_SHA256;
  ``multiple`` (default) maps both, plus optionally one advertising id. :func:`check_sync` checks a sync's
  mapping (the settings model cannot see it). The value is not sent on the wire: the Segment API create body
  has no such field (UNCONFIRMED whether TikTok accepts one).
- Minimum size and cadence: TikTok documents a 1,000-member minimum for custom audiences and audiences take up
  to 24-48 h to appear; :data:`DEFAULT_MIN_SIZE` and :data:`DEFAULT_MANUAL_COOLDOWN_MINUTES` (30, the
  cooldown a peer's TikTok guide uses) are the sync defaults for these types.
- Events API: ``POST event/track/`` ``{"event_source": "web", "event_source_id": <pixel code>,
  "test_event_code"?, "data": [{"event", "event_time" (unix s), "event_id", "user", "properties"}]}``.
  ``event_source`` defaults to ``web`` because the configured source is a pixel and a pixel's events are
  ``web`` events (``crm`` needs a CRM event set id instead; the setting allows it). ``event_id`` is the engine's
  deterministic id, so TikTok deduplicates a re-sent batch. ``user``: ``email``, ``phone``, ``external_id`` as
  lists of SHA-256 hashes; ``ttclid``, ``ttp``, ``ip``, ``user_agent`` raw strings. ``properties`` carries the
  audience and the sync. At most 500 events per request by default; 1,000 is widely repeated but UNCONFIRMED.
- Normalization (identity platform ``tiktok``): SHA-256 lowercase hex of the normalized value; email trimmed +
  lowercased; phone E.164 **with '+'** before hashing. The sources conflict: the file-upload API reference says
  E.164 ("+442071838750") and Segment's Events API formatter hashes '+' numbers, while one help-center version
  says remove the '+' (its example hash is of "37493828222"). We follow the API reference;
  ``get_platform("tiktok", phone_format="digits_with_country_code")`` switches. Advertising ids hashed; ttclid
  and ttp raw.
- Sources: segmentio/action-destinations ``tiktok-audiences`` and ``tiktok-conversions``; the TikTok Business
  API SDK docs (``CustomAudienceDeleteBody``); TikTok help center customer-file formats; peers (CustomerLabs'
  TikTok guide for the 30-minute cooldown, segment-docs for the 1,000 minimum and duplicate names).
"""

from audience_pipelines.destinations.kit import ContractCase, DestinationType
from audience_pipelines.destinations.tiktok.audiences import TikTokAudiencesClient
from audience_pipelines.destinations.tiktok.events import TikTokEventsClient
from audience_pipelines.destinations.tiktok.fake import FakeTikTok
from audience_pipelines.destinations.tiktok.settings import (
    AUDIENCE_FIELDS,
    EVENT_USER_FIELDS,
    TikTokAudiencesConfig,
    TikTokEventsConfig,
    check_sync,
)

#: TikTok documents a 1,000-member minimum for custom audiences.
DEFAULT_MIN_SIZE = 1000
#: Between manual triggers of a TikTok sync.
DEFAULT_MANUAL_COOLDOWN_MINUTES = 30

TIKTOK_AUDIENCES = DestinationType(
    name="tiktok_audiences",
    config=TikTokAudiencesConfig,
    client=TikTokAudiencesClient,
    capabilities=frozenset({"list"}),
    identity_platform="tiktok",
    kind="tiktok",
    fake=FakeTikTok,
    contracts=(
        ContractCase(
            sync_type="list",
            identifiers={"email": "EMAIL_SHA256", "phone": "PHONE_SHA256"},
            settings={"calculate_type": "multiple"},
            match_field="EMAIL_SHA256",
        ),
    ),
    fields=AUDIENCE_FIELDS,
    list_noun="custom audience",
    sync_defaults={"min_size": DEFAULT_MIN_SIZE, "cooldown": f"{DEFAULT_MANUAL_COOLDOWN_MINUTES}m"},
    check_sync=lambda identifiers, destination, fields: check_sync(identifiers, destination.settings.calculate_type),
)

TIKTOK_EVENTS = DestinationType(
    name="tiktok_events",
    config=TikTokEventsConfig,
    client=TikTokEventsClient,
    capabilities=frozenset({"event"}),
    identity_platform="tiktok",
    kind="tiktok",
    fake=FakeTikTok,
    contracts=(ContractCase(sync_type="event", identifiers={"email": "email", "phone": "phone"}, match_field="email"),),
    fields=EVENT_USER_FIELDS,
    sync_defaults={"cooldown": f"{DEFAULT_MANUAL_COOLDOWN_MINUTES}m"},
)

__all__ = [
    "DEFAULT_MANUAL_COOLDOWN_MINUTES",
    "DEFAULT_MIN_SIZE",
    "TIKTOK_AUDIENCES",
    "TIKTOK_EVENTS",
    "FakeTikTok",
    "TikTokAudiencesClient",
    "TikTokAudiencesConfig",
    "TikTokEventsClient",
    "TikTokEventsConfig",
    "check_sync",
]
