"""Meta: customer-file Custom Audiences (list sync) and the Conversions API (event sync).

Contract (ref §1; Graph API ``https://graph.facebook.com/{version}``, default v25.0):
- Auth: ``Authorization: Bearer <token>``, plus ``appsecret_proof`` (HMAC-SHA256 of the token with the app
  secret) when an app secret is configured.
- Custom Audiences: find by name (``GET /act_{id}/customaudiences``, cursor paging) or create (``POST``,
  ``subtype CUSTOM``, ``customer_file_source``); ``POST`` adds and ``DELETE`` removes
  ``/{audience_id}/users`` with ``{"payload": {"schema": [...], "data": [[...]]}}``, at most 10,000 rows;
  the answer's ``num_received`` / ``num_invalid_entries`` / ``invalid_entry_samples`` are the only partial
  failure signal (no row index), mapped back to members by value.
- Conversions API: ``POST /{pixel_id}/events`` with ``data`` of server events (``action_source
  system_generated``, deterministic ``event_id`` for Meta's deduplication); answer ``events_received``.
  At most 1,000 events per request (UNCONFIRMED; default batch 500).
- Errors: ``{"error": {"code", "error_subcode", "type", "message", "fbtrace_id"}}``. Codes 4, 17, 613, 80003
  and 80004 throttle (wait ``estimated_time_to_regain_access`` minutes from ``X-Business-Use-Case-Usage``);
  190/102 are token errors; 10 and 200-299 permissions; 1, 2 and 5xx transient; 100/1713230 blocks uploads.
- Normalization (identity platform ``meta``): SHA-256 of lowercased, trimmed values; phone digits with the
  country code and no '+'; EXTERN_ID, MADID, fbp and fbc unhashed.
"""

from audience_pipelines.destinations.kit import ContractCase, DestinationType
from audience_pipelines.destinations.meta.conversions import MetaConversionsClient
from audience_pipelines.destinations.meta.custom_audiences import MetaCustomAudiencesClient
from audience_pipelines.destinations.meta.fake import FakeMeta
from audience_pipelines.destinations.meta.settings import (
    CUSTOMER_FILE_FIELDS,
    USER_DATA_FIELDS,
    MetaConversionsConfig,
    MetaCustomAudiencesConfig,
)

META_CUSTOM_AUDIENCES = DestinationType(
    name="meta_custom_audiences",
    config=MetaCustomAudiencesConfig,
    client=MetaCustomAudiencesClient,
    capabilities=frozenset({"list"}),
    identity_platform="meta",
    kind="meta",
    fake=FakeMeta,
    contracts=(ContractCase(sync_type="list", identifiers={"email": "EMAIL", "phone": "PHONE"}, match_field="EMAIL"),),
    fields=CUSTOMER_FILE_FIELDS,
    list_noun="custom audience",
    reports_matches=True,
)

META_CONVERSIONS = DestinationType(
    name="meta_conversions",
    config=MetaConversionsConfig,
    client=MetaConversionsClient,
    capabilities=frozenset({"event"}),
    identity_platform="meta",
    kind="meta",
    fake=FakeMeta,
    contracts=(ContractCase(sync_type="event", identifiers={"email": "em", "fbp": "fbp"}, match_field="em"),),
    fields=USER_DATA_FIELDS,
)

__all__ = [
    "META_CONVERSIONS",
    "META_CUSTOM_AUDIENCES",
    "FakeMeta",
    "MetaConversionsClient",
    "MetaConversionsConfig",
    "MetaCustomAudiencesClient",
    "MetaCustomAudiencesConfig",
]
