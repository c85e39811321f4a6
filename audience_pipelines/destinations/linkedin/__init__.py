"""LinkedIn Matched Audiences: USER DMP segments of one ad account, members streamed in batches (list sync).

Contract (ref §4):
- Base ``https://api.linkedin.com`` (paths under ``/rest``; configurable). Headers on every call:
  ``Authorization: Bearer <access token>``, ``LinkedIn-Version: YYYYMM`` (``settings.api_version``, default
  ``202604`` as in Segment's destination; LinkedIn sunsets a version about a year after release) and
  ``X-Restli-Protocol-Version: 2.0.0``; member batches add ``X-RestLi-Method: BATCH_CREATE``.
- OAuth2 refresh-token grant: form POST ``grant_type=refresh_token, refresh_token, client_id, client_secret`` to
  ``settings.token_url`` (default ``https://www.linkedin.com/oauth/v2/accessToken``) answers ``{"access_token",
  "expires_in"}``. The token is cached until 60 s before expiry and refreshed once on a 401; ``invalid_grant``
  (expired or revoked refresh token) and other 400/401/403 answers of the token endpoint fail authentication,
  naming the variables (never the values). Permission ``rw_dmp_segments``.
- Segments: by id ``GET /rest/dmpSegments/{id}`` (a number or ``urn:li:dmpSegment:<n>``); by name
  ``GET /rest/dmpSegments?q=account&account=urn:li:sponsoredAccount:{id}&sourceSegmentId={name}
  &sourcePlatform={settings.source_platform}``: a list name is its segment's ``sourceSegmentId`` (and name);
  otherwise created with ``POST /rest/dmpSegments`` ``{name, sourcePlatform, sourceSegmentId, account,
  type: USER, destinations: [{destination: LINKEDIN}]}`` (201; id from ``x-linkedin-id``, else ``x-restli-id``).
  COMPANY segments and segments of another account are refused. ``delete_list``: ``DELETE
  /rest/dmpSegments/{id}``.
- Members: ``POST /rest/dmpSegments/{id}/users`` ``{"elements": [{"action": "ADD"|"REMOVE", "userIds":
  [{"idType": "SHA256_EMAIL", "idValue": <64 hex>}, {"idType": "GOOGLE_AID", "idValue": <raw>}]}]}``, one
  element per member; a member with neither is rejected locally. The 200 answer carries one
  ``{"status": 201}`` per element, in order; a non-2xx status rejects that element's member (its ``error.code``
  is the reason). An answer whose element count differs from the batch, or a 2xx that is not a JSON object, is a
  permanent failure (nothing is assumed applied). Re-adding or removing an absent id still answers 201.
- Limits: ``settings.batch_size`` elements per request, default and maximum 5,000; 500-600 /users requests
  per minute per member plus daily quotas.
- Errors (``{"status", "code", "message"}``): 429 is throttling with no documented wait (exponential backoff;
  a ``Retry-After`` would be honoured); 408, 409 (but a 409 on create finds the segment again), 423 and 5xx
  retried; a 404 on a segment this client created in the last two minutes retried (LinkedIn asks to wait ~5 s
  after creation; Segment retries such 404s); 401 refreshes the token once, then fails authentication; 403
  fails authentication (permission or ad account role); 426 (version not served) and other 4xx are permanent.
- Normalization (identity platform "google"): email trimmed + lowercased, then SHA-256 lowercase hex
  (already-hashed 64-hex values pass through); the mobile advertising id (``madid``, sent as GOOGLE_AID) is a
  trimmed, lowercased UUID, unhashed. Those are exactly LinkedIn's SHA256_EMAIL and GOOGLE_AID; "meta" would
  give the same two values, but GOOGLE_AID is Google's id and Google's rules are the ones written for it.

Sources: reference §4 (segmentio/action-destinations linkedin-audiences api.ts, functions.ts, constants.ts
and tests; LinkedIn "DMP Segment Users" / create-and-manage-segment-users docs; a Postman mirror for the
per-element answer).

UNCONFIRMED: the 5,000-element cap for users (stated for companies); ``x-restli-id`` next to ``x-linkedin-id``;
``DELETE`` and ``GET /rest/dmpSegments/{id}`` (not in the reference); which ``sourcePlatform`` values LinkedIn
accepts from a non-partner app (hence a required setting); the per-element ``error`` shape; the 409 the fake
gives a duplicate ``sourceSegmentId`` (the client then finds the segment again); that a sunset or unknown
``LinkedIn-Version`` answers 426 (the fake does) and a missing protocol header 400.
"""

from audience_pipelines.destinations.kit import ContractCase, DestinationType
from audience_pipelines.destinations.linkedin.client import LinkedInClient
from audience_pipelines.destinations.linkedin.fake import FakeLinkedIn
from audience_pipelines.destinations.linkedin.payloads import FIELDS
from audience_pipelines.destinations.linkedin.settings import LinkedInConfig

LINKEDIN = DestinationType(
    name="linkedin",
    config=LinkedInConfig,
    client=LinkedInClient,
    capabilities=frozenset({"list"}),
    identity_platform="google",
    kind="linkedin",
    fake=FakeLinkedIn,
    contracts=(ContractCase(sync_type="list", identifiers={"email": "email"}, match_field="email"),),
    fields=FIELDS,
    list_noun="matched audience",
    reports_matches=True,
)

__all__ = ["FIELDS", "LINKEDIN", "FakeLinkedIn", "LinkedInClient", "LinkedInConfig"]
