"""GA4 Measurement Protocol: segment membership changes as events on a GA4 web data stream (event sync).

Contract (ref §2 "GA4 Measurement Protocol"; Google's Measurement Protocol pages "Send events", "Validate
events", "Send user-provided data" (uid-data) and the Analytics help article "Event collection limits"):

- ``POST {base_url}/mp/collect?measurement_id=G-...&api_secret=...`` with a JSON body. A request identifies ONE
  user, so a batch becomes one request per member: ``{"client_id", "user_id"?, "timestamp_micros",
  "events": [{"name": "added_to_segment" | "removed_from_segment", "params": {"audience", "sync", "event_id",
  "engagement_time_msec": 1}}], "user_data": {"sha256_email_address": [..], "sha256_phone_number": [..],
  "address": [{"sha256_first_name", "sha256_last_name", "city", "region", "postal_code", "country"}]}}``, only
  the keys a member has. ``timestamp_micros`` is the event time in microseconds.
- A member without ``client_id`` is rejected (``missing_client_id``) and not sent: web streams require it.
- Limits, enforced by the client per member (a rejection with a reason) because GA4 drops silently: 25 events
  per request, 25 params per event, event and param names at most 40 characters (letter first, then letters,
  digits, ``_``; prefixes ``_``, ``firebase_``, ``ga_``, ``google_``, ``gtag.`` and the documented reserved
  event names refused), string param values at most 100 characters (500 on GA360; we keep 100), body at most
  130 kB, events backdated at most 72 hours. ``user_id`` at most 256 characters [MEM].
- Answers: ``/mp/collect`` answers 2xx (204, no body) even for a payload it drops; it returns no HTTP error for
  malformed events [Google "Validate events"]. Non-2xx are classified as usual: 5xx retried, 429 throttled
  (GA4 documents no Retry-After or quota signal: plain backoff), 401/403 fail the run as authentication errors
  naming the environment variables.
- Validation: ``POST /debug/mp/collect`` (same query and body) answers 200 with ``{"validationMessages":
  [{"fieldPath", "description", "validationCode"}]}``; codes VALUE_INVALID, VALUE_REQUIRED, NAME_INVALID,
  NAME_RESERVED, VALUE_OUT_OF_BOUNDS, EXCEEDED_MAX_ENTITIES, NAME_DUPLICATED. Per the ``validate`` setting
  (``first_batch`` by default, ``every_batch``, ``never``) the client validates a batch's requests before
  sending it; any message fails the run (permanent) naming field paths and codes, never values. A 2xx without
  ``validationMessages`` (an HTML page, say) is a failure too. ``GA4Client.validate_events`` lists every
  problem for ``preview --validate``.
- Normalization (identity platform ``ga4``): email trimmed, lowercased, dots removed before ``@gmail.com`` /
  ``@googlemail.com``, SHA-256 hex; phone E.164 with ``+`` then SHA-256; first/last name hashed; city, region,
  postal code and country (ISO alpha-2) unhashed; ``client_id`` (ga_client_id) and ``user_id`` raw.
- The API secret travels in the query string: it is masked in planned requests (``api_secret=***``), in every
  message and in ``repr``; the measurement id is not a secret.

Not confirmed, or known to differ from the fake:

- Wrong credentials: Google documents that the validation server does NOT validate ``api_secret``, and
  ``/mp/collect`` returns no HTTP error codes, so a wrong measurement id or secret is most likely accepted with
  2xx and silently dropped (github.com/br33f/php-GA4-Measurement-Protocol/issues/16: 204, nothing recorded,
  with a secret from another stream). The fake's default 403 for wrong credentials (so ``revoke_credentials``
  can exercise the authentication path) is a fake-only convention; ``FakeGA4(..., credentials="drop")``
  models Google. A run cannot detect a wrong secret: check that events arrive in GA4 DebugView / Realtime
  after configuring a destination. The client's 401/403 handling is kept for proxies and future behaviour.
- Deduplication: GA4 documents none for Measurement Protocol events; a re-sent batch (after a crash) is
  probably counted twice. ``event_id`` is sent as a param for tracing; the fake dedupes on it only to count
  re-sends (``duplicate_events``).
- 204 as the exact success status (ref: [UNCONFIRMED]; Segment's tests mock 201); the client accepts any 2xx.
- The fake's field paths (``events[0].params.audience``) and the codes it gives for body size and stale
  timestamps are its own; Google's field paths are coarser (``events``) and its descriptions quote values.
- At most 3 values per ``user_data`` list [MEM]; app streams (``firebase_app_id`` / ``app_instance_id``) are
  not supported.
"""

from audience_pipelines.destinations.ga4.client import GA4Client
from audience_pipelines.destinations.ga4.fake import FakeGA4
from audience_pipelines.destinations.ga4.payload import FIELDS
from audience_pipelines.destinations.ga4.settings import GA4Config
from audience_pipelines.destinations.kit import ContractCase, DestinationType

GA4 = DestinationType(
    name="ga4",
    config=GA4Config,
    client=GA4Client,
    capabilities=frozenset({"event"}),
    identity_platform="ga4",
    kind="googleanalytics",
    fake=FakeGA4,
    contracts=(
        ContractCase(
            sync_type="event",
            identifiers={"ga_client_id": "client_id", "email": "sha256_email_address"},
            match_field="client_id",
        ),
    ),
    fields=FIELDS,
)

__all__ = ["FIELDS", "GA4", "FakeGA4", "GA4Client", "GA4Config"]
