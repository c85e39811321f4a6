"""Google Ads Customer Match: user lists filled through OfflineUserDataJobs (REST, list sync).

Contract (ref §2; google-ads-python protos as the schema oracle in tests):
- Base ``https://googleads.googleapis.com/{api_version}`` (default ``v22``; configurable). Headers
  ``Authorization: Bearer <access token>``, ``developer-token``, ``login-customer-id`` (manager id, digits only)
  when acting through a manager account. Customer ids in paths are 10 digits without dashes.
- OAuth2 refresh-token grant: form POST ``grant_type=refresh_token, client_id, client_secret, refresh_token`` to
  ``token_url`` (default ``https://oauth2.googleapis.com/token``) answers ``{"access_token", "expires_in"}``. The
  token is cached until 60 s before expiry and refreshed once on a 401; ``invalid_grant`` / 400 / 401 from the
  token endpoint fail authentication, naming the variables (never the values).
- Lists: read by id or listed with GAQL on ``user_list`` through ``POST customers/{cid}/googleAds:search``
  (``nextPageToken`` paging; names matched exactly by the client); created with ``userLists:mutate`` as a
  ``crmBasedUserList`` (``uploadKeyType`` CONTACT_INFO | CRM_ID | MOBILE_ADVERTISING_ID, ``appId`` for mobile ids,
  ``membershipLifeSpan`` 0..540 days). A list of another type or key type is refused.
- Members: ``offlineUserDataJobs:create`` (type CUSTOMER_MATCH_USER_LIST; job-level consent for add jobs only)
  -> one ``{job}:addOperations`` per batch (all ``create`` or all ``remove``, ``enablePartialFailure: true``) ->
  ``{job}:run`` -> poll ``offline_user_data_job.status`` / ``failure_reason`` (PENDING, RUNNING, SUCCESS, FAILED).
  One UserData per member, one UserIdentifier per identifier: ``hashedEmail``, ``hashedPhoneNumber``,
  ``addressInfo`` (only with hashed first and last name, country code and postal code), ``thirdPartyUserId``
  (CRM ids), ``mobileId`` (mobile ids). Only identifiers of the list's upload key type are sent; a member with
  none is rejected locally.
- Limits: at most 100,000 identifiers per request and 20 per UserData (``TOO_MANY_USER_IDENTIFIERS``); 10,000
  per request recommended; one job per list and operation, many requests into it.
- Partial failures: ``partialFailureError.details[].errors[].location.fieldPathElements[fieldName=operations]
  .index`` -> member key; the error code is the rejection reason.
- Errors (``google.rpc.Status`` envelope with a ``GoogleAdsFailure`` detail): HTTP 429 RESOURCE_EXHAUSTED waits
  ``quotaErrorDetails.retryDelay``; ``databaseError.CONCURRENT_MODIFICATION`` (HTTP 400) and 5xx are retried
  with backoff; ``CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS`` is permanent and points at ``settings.consent``;
  401/403 and authentication/authorization errors fail fast. A 2xx that is not a JSON object is a failure.
- Normalization (identity platform "google"): email trimmed + lowercased, phone E.164 with '+', names trimmed +
  lowercased, all SHA-256 lowercase hex; country code (ISO alpha-2, upper case) and postal code unhashed; CRM
  and mobile ids raw.

Sources: segmentio/action-destinations google-enhanced-conversions (request shapes, partial-failure mapping,
CONCURRENT_MODIFICATION retry), googleads/google-ads-python examples and protos (oneofs, field names, enums,
job statuses), Google Ads API forum answers from Google staff (limits).

UNCONFIRMED: the ``quotaErrorDetails.retryDelay`` shape of 429 answers; whether the data-terms error comes at
job creation or at addOperations; the HTTP status of a bad developer token (the fake answers 401); that
UNSPECIFIED consent is accepted for EEA users (the default here: GRANTED is an attestation only you can make);
the Google Ads UI URL given as a list's url; that v22 is still served (tests check bodies against v23 protos).
When a job is still running at ``job_timeout_seconds``, :meth:`GoogleAdsClient.finish_upload` answers
``running`` so its status is checked again later.
"""

from audience_pipelines.destinations.google_ads.client import GoogleAdsClient
from audience_pipelines.destinations.google_ads.fake import FakeGoogleAds
from audience_pipelines.destinations.google_ads.payloads import FIELDS
from audience_pipelines.destinations.google_ads.settings import GoogleAdsConfig
from audience_pipelines.destinations.kit import ContractCase, DestinationType

GOOGLE_ADS = DestinationType(
    name="google_ads",
    config=GoogleAdsConfig,
    client=GoogleAdsClient,
    capabilities=frozenset({"list"}),
    identity_platform="google",
    kind="googleads",
    fake=FakeGoogleAds,
    contracts=(ContractCase(sync_type="list", identifiers={"email": "email", "phone": "phone"}, match_field="email"),),
    fields=FIELDS,
    list_noun="user list",
    reports_matches=True,
)

__all__ = ["FIELDS", "GOOGLE_ADS", "FakeGoogleAds", "GoogleAdsClient", "GoogleAdsConfig"]
