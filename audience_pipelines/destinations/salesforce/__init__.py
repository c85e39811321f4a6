"""Salesforce: Campaigns whose CampaignMembers are Contacts (or Leads) matched by Email (list sync), with the
sync's ``fields:`` written on the person.

Contract (ref §7):
- Auth: OAuth2 refresh-token grant, form ``POST settings.token_url`` (default
  ``https://login.salesforce.com/services/oauth2/token``; sandboxes use test.salesforce.com) with
  ``grant_type=refresh_token, client_id, client_secret, refresh_token`` answers ``{"access_token", "instance_url",
  ...}``; ``instance_url`` (https, or loopback) is the API root unless ``base_url`` overrides it. No
  ``expires_in`` is given (the org's session timeout applies): the token is kept an hour and a 401 refreshes it
  once. ``invalid_grant`` fails authentication naming the three variables, never their values.
- Calls: ``{instance_url}/services/data/v{settings.api_version}`` (default 62.0) with ``Authorization: Bearer``.
- List = Campaign: by id ``GET sobjects/Campaign/{id}`` (id 15/18 characters, prefix 701); by name
  ``GET query?q=SELECT Id, Name FROM Campaign WHERE Name = '<name>' ORDER BY CreatedDate LIMIT 2`` (the oldest
  wins); otherwise created with ``POST sobjects/Campaign {"Name", "IsActive": true}`` (201 ``{"id", "success"}``).
  Name at most 80 characters. No daily cap on new Campaigns is documented; every call counts against the org's
  rolling 24-hour API allocation. Campaigns are never deleted.
- People (``settings.person_object``: Contact, or Lead) are matched by Email: ``GET query?q=SELECT Id, Email FROM
  Contact WHERE Email IN (...)`` (literals escaped; IN lists split to keep the SOQL under
  ``settings.max_query_chars``; SOQL compares Email case-insensitively; several people with one Email: the lowest
  Id). Absent people are created with ``POST composite/sobjects`` (``LastName`` = ``settings.placeholder_last_name``
  unless mapped; a Lead also ``Company``); found people with mapped fields are updated with ``PATCH
  composite/sobjects`` ``{"attributes": {"type"}, "id", <fields>}``. Values are sent as normalized, never hashed.
- Members: ``POST composite/sobjects {"allOrNone": false, "records": [{"attributes": {"type": "CampaignMember"},
  "CampaignId", "ContactId" | "LeadId", "Status"?}]}``. ``DUPLICATE_VALUE`` (already a member) counts as done.
- Removal (mirror / subtractive): members are found with ``SELECT Id, ContactId, Contact.Email FROM CampaignMember
  WHERE CampaignId = '..' AND Contact.Email IN (...)``; ``settings.removal: delete_member`` (default) sends
  ``DELETE composite/sobjects?ids=<ids>&allOrNone=false``; ``set_status`` sends ``PATCH`` with
  ``Status = settings.removed_status`` (a re-add then sets ``settings.member_status`` again). The Contact or
  Lead and its fields are never deleted. A person not in the campaign counts as removed.
- Limits: at most 200 records (or ids) per collection request (``settings.batch_size`` <= 200). Per batch of
  200 new members: 1 lookup + 1 create + 1 member create (plus 1 update when found people get fields).
- Answers: collections answer 200 with one SaveResult per record, in order; a failed record rejects its member
  keys with its ``statusCode`` (message scrubbed). A count mismatch or a 2xx that is not JSON is a failure.
- Errors ``[{"message", "errorCode"}]``: 401 ``INVALID_SESSION_ID`` refreshes once, then fails authentication;
  403 ``REQUEST_LIMIT_EXCEEDED`` (org API limit, no wait given) ends the run as throttled without retrying (the
  next run resumes from the ledger); other 403 fail authentication; 503 (server busy) and other 5xx are retried
  with backoff; 429 would honour ``Retry-After``; other 4xx are permanent. A client-side ``RateLimiter`` paces
  requests at ``settings.requests_per_second`` (default 10).
- Fields: ``fields:`` map traits to custom fields (``Name__c``, optionally namespaced) or writable standard
  fields of the person object; ``check_sync`` checks the identifiers mapping (email -> Email) and names bad
  targets; the client refuses a batch with unwritable field names before any request.

Sources: reference §7 (Segment's salesforce destination: versioning-info.ts, index.ts, sf-operations.ts;
Salesforce REST docs for sObject Collections create and the error codes page).

UNCONFIRMED: the DELETE-collection answer shape; that numeric fields take JSON strings ("10"); ``ENTITY_IS_DELETED``
for an already deleted member; the exact codes for a bad Status value, an unknown field (per record here) and
more than 200 records; a per-second rate (Salesforce documents only the daily allocation and 25 concurrent
long-running requests, so the 10/s default is a choice); the URI length the query endpoint takes; api_version
62.0 as default (Segment uses 53.0). Bulk API 2.0 for large syncs is not implemented.
"""

from audience_pipelines.destinations.kit import ContractCase, DestinationType
from audience_pipelines.destinations.salesforce.client import SalesforceClient
from audience_pipelines.destinations.salesforce.fake import FakeSalesforce
from audience_pipelines.destinations.salesforce.fields import check_sync
from audience_pipelines.destinations.salesforce.settings import SalesforceConfig

SALESFORCE = DestinationType(
    name="salesforce",
    config=SalesforceConfig,
    client=SalesforceClient,
    capabilities=frozenset({"list"}),
    identity_platform="salesforce",
    kind="salesforce",
    fake=FakeSalesforce,
    contracts=(
        ContractCase(
            sync_type="list",
            identifiers={"email": "Email"},
            fields={"lifetime_value": "Lifetime_Value__c"},
            match_field="Email",
        ),
    ),
    fields=None,
    list_noun="campaign",
    check_sync=check_sync,
)

__all__ = ["SALESFORCE", "FakeSalesforce", "SalesforceClient", "SalesforceConfig"]
