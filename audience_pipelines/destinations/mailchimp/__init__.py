"""Mailchimp Marketing API v3: contacts of one audience upserted with merge fields, a sync's list kept as a tag.

Contract (ref §9):
- Base ``https://{dc}.api.mailchimp.com/3.0``, ``dc`` being the API key's suffix after its last ``-`` (``...-us6``);
  ``base_url`` overrides it. Auth: HTTP Basic, any user name, the API key as password (``credentials.api_key``
  names its environment variable). OAuth tokens are not supported.
- The audience (Mailchimp "list") is ``settings.list_id`` and must exist: syncs never create audiences (plans
  cap their number, often at one). A sync's list is a tag, i.e. a static segment of that audience: by id
  ``GET /lists/{list}/segments/{id}`` (a saved or fuzzy segment is refused), by name found with
  ``GET /lists/{list}/segments?type=static&count=1000&offset=n`` (no name filter exists: pages are scanned), else
  created with ``POST /lists/{list}/segments {"name", "static_segment": []}`` (a 400 on create re-finds the tag,
  for a concurrent run).
- Add: ``POST /lists/{list}`` ``{"members": [{"email_address", "status": settings.status_if_new,
  "merge_fields": {...}}], "update_existing": true}`` (at most 500), then ``POST /lists/{list}/segments/{id}``
  ``{"members_to_add": [emails]}`` (at most 500) for the members the first call took. Remove:
  ``{"members_to_remove": [emails]}``; with ``settings.removal: unsubscribe`` those members are then batch-updated
  to ``status: unsubscribed``. Contacts are never archived or deleted: profiles and merge fields stay.
- Answers: 200 with per-member errors. Subscribe: ``{"new_members", "updated_members", "errors": [{"email_address",
  "error", "error_code", "field", "field_message"}], "total_created", "total_updated", "error_count"}``; segment:
  ``{"members_added", "members_removed", "errors": [{"email_addresses": [...], "error"}], "total_added",
  "total_removed", "error_count"}``. Errors map back to member keys by email (one email shared by several keys
  rejects them all); a 2xx without these keys, or naming an address not sent, is a permanent failure.
- Identifiers (identity platform "mailchimp"): the email, trimmed and lower-cased, sent raw (never hashed), as
  destination field ``email_address``; the member id is the subscriber hash (MD5 hex of the lower-cased email).
  Every other identifier or ``fields:`` target is a merge tag (``A-Z0-9_``, at most 10 characters, EMAIL and
  other system tags reserved); ``check_sync`` checks identifiers and fields (the client checks again per batch).
- Errors are ``application/problem+json`` ``{"type", "title", "status", "detail", "instance"}``. 429, or a bare 403
  (no problem body) at volume, is throttling with no ``Retry-After``: exponential backoff. 401 and a 403 with a
  problem body fail authentication naming the key's variable; 404 and other 4xx are permanent; 408 and 5xx retried.
- Limits: 500 members per batch call and per segment array; 10 simultaneous connections per account (the client
  is sequential: one connection), paced by ``settings.requests_per_second`` (default 10).

Sources: reference §9 (mailchimp-marketing-python api_client.py / lists_api.py; docs.rs mailchimp ``ListBatchParam``;
a Kestra plugin page for per-member errors; the segment 500-item error quoted in hitobito_sac_cas#1487).

UNCONFIRMED: response field names of the segment batch answer and ``error_code``/``field``; that re-adding a tagged
member or removing an untagged one is a silent no-op (the fake does so); the 400 on a duplicate tag name; the
10-character merge-tag limit and reserved tags other than EMAIL; that ``update_existing`` applies ``status`` to
existing contacts (docs: it "will change existing members' subscription status"; unsubscribed or cleaned
contacts are then refused as in a compliance state and reported as rejections); how Mailchimp treats merge tags
the audience does not define (the fake stores any well-formed tag: create them in the audience first); a
per-second limit (none is documented).
"""

from audience_pipelines.destinations.kit import ContractCase, DestinationType
from audience_pipelines.destinations.mailchimp.client import MailchimpClient
from audience_pipelines.destinations.mailchimp.fake import FakeMailchimp
from audience_pipelines.destinations.mailchimp.payloads import EMAIL, check_sync
from audience_pipelines.destinations.mailchimp.settings import MailchimpConfig

MAILCHIMP = DestinationType(
    name="mailchimp",
    config=MailchimpConfig,
    client=MailchimpClient,
    capabilities=frozenset({"list"}),
    identity_platform="mailchimp",
    kind="mailchimp",
    fake=FakeMailchimp,
    contracts=(
        ContractCase(
            sync_type="list", identifiers={"email": EMAIL}, fields={"lifetime_value": "LTV"}, match_field=EMAIL
        ),
    ),
    fields=None,
    list_noun="tag",
    check_sync=check_sync,
)

__all__ = ["MAILCHIMP", "FakeMailchimp", "MailchimpClient", "MailchimpConfig"]
