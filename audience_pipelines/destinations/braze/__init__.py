"""Braze: audience membership and mapped traits written to user profiles (list sync).

Contract (ref §8):
- Base: the workspace's REST cluster, e.g. ``https://rest.iad-01.braze.com`` (``iad-01`` … ``iad-08``) or
  ``https://rest.fra-01.braze.eu``; there is no default, so ``base_url`` is required. Auth
  ``Authorization: Bearer <REST API key>`` (permission ``users.track``); the key comes from the environment
  variable named in ``credentials.api_key``.
- ``POST /users/track`` ``{"attributes": [{<identifier>, "_update_existing_only": bool, <properties>,
  <membership>}]}``, one object per member, at most ``settings.batch_size`` (default and maximum 75: the cap
  is 75 objects combined across attributes, events and purchases on current accounts).
- Identifiers (identity platform "braze": normalized, never hashed; email lowercased, phone E.164): a sync maps
  ``external_id`` (Braze's primary user id), ``email`` and/or ``phone``. The profile is resolved by
  external_id, else email, else phone; the others are written as profile attributes.
- Membership: there is no list object and nothing to create (so no daily caps on new lists); ``ensure_list``
  returns the target's id or name, checked locally, without a request. ``settings.membership: array``
  (default) adds the name to / removes it from an array custom attribute (``settings.attribute``, default
  ``audiences``) with ``{"add": [name]}`` / ``{"remove": [name]}``; ``boolean`` sets an attribute named after
  the list to true / false.
- Adds upsert the profile with ``_update_existing_only: false`` (creating it when absent), the identifiers,
  the sync's ``fields:`` (trait -> property, sent as the strings the engine hands over) and the membership.
  Removals send only the identifier, ``_update_existing_only: true`` and the membership removal: a profile is
  never deleted and keeps its properties. Validation (``check_sync``) refuses identifiers other than the
  three and fields mapped to reserved keys (identifiers, ``braze_id``, ``user_alias``, ``_update_existing_only``,
  ``push_tokens``, ``subscription_groups``, ``_merge_objects``, the membership attribute) or malformed names
  (empty, over 255 characters, a leading ``$``); the client checks the same when it plans a batch.
- Answers: ``201 {"message": "success", "attributes_processed": n}``; per-object errors in the same 201 as
  ``"errors": [{"type", "input_array": "attributes", "index"}]``, mapped back to the member by index; any other
  2xx (200, 204, HTML, no ``message``, an error pointing at nothing sent) fails the batch. ``400 {"message":
  "Valid data must be provided ...", "errors": [...]}`` is permanent.
- Rate limits: 3,000 requests per 3 seconds for /users/track; the client paces itself to
  ``settings.rate_limit_requests`` per ``settings.rate_limit_seconds`` (defaults 3,000 / 3). A 429 carries
  ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (UTC epoch seconds): the client waits until the reset
  (a ``Retry-After`` is honoured if the reset is missing; exponential backoff otherwise). 5xx are retried;
  401 (invalid key) and 403 (permission / IP allowlist) fail authentication naming the variable.

Sources: reference §8 (segmentio/action-destinations braze index.ts, utils.ts and multistatus tests; Braze's
"User attributes object", "API limits" and "/users/track" pages).

UNCONFIRMED: 401 for an invalid key (and 403 for a missing permission); that 201 is the only success status;
the body of a partial-error answer beyond ``errors`` (whether ``message`` stays "success" and whether
``attributes_processed`` counts failed objects: neither is relied on); that an object with
``_update_existing_only: true`` for an unknown user is skipped without an error; which profile an email or
phone resolves to when several share it; custom attribute key rules beyond a leading ``$``; the default cap of
array attribute elements (reportedly 25, raisable; in array mode a profile in more audiences than the cap may
lose its oldest memberships, boolean mode avoids that); rate limits that differ by plan (MAU plans have hourly
limits, see the API usage dashboard).
"""

from audience_pipelines.destinations.braze.client import BrazeClient
from audience_pipelines.destinations.braze.fake import FakeBraze
from audience_pipelines.destinations.braze.payloads import check_sync
from audience_pipelines.destinations.braze.settings import BrazeConfig
from audience_pipelines.destinations.kit import ContractCase, DestinationType

BRAZE = DestinationType(
    name="braze",
    config=BrazeConfig,
    client=BrazeClient,
    capabilities=frozenset({"list"}),
    identity_platform="braze",
    kind="braze",
    fake=FakeBraze,
    contracts=(
        ContractCase(
            sync_type="list",
            identifiers={"email": "email"},
            fields={"lifetime_value": "lifetime_value"},
            match_field="email",
        ),
    ),
    fields=None,
    list_noun="audience attribute",
    check_sync=check_sync,
)

__all__ = ["BRAZE", "BrazeClient", "BrazeConfig", "FakeBraze", "check_sync"]
