"""Request bodies and GAQL for Customer Match: user lists, OfflineUserDataJobs and their operations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audience_pipelines.destinations.google_ads.settings import Consent, GoogleAdsSettings, UploadKeyType
from audience_pipelines.destinations.kit import ListTarget, Operation

#: destination fields a sync may map identifiers to (values arrive normalized; hashed where Google hashes)
FIELDS = ("email", "phone", "first_name", "last_name", "country_code", "postal_code", "crm_id", "mobile_id")
ADDRESS_FIELDS = ("first_name", "last_name", "country_code", "postal_code")
OPERATION_KEYS: Mapping[Operation, str] = {"add": "create", "remove": "remove"}

LIST_COLUMNS = (
    "user_list.resource_name, user_list.id, user_list.name, user_list.type, "
    "user_list.crm_based_user_list.upload_key_type"
)
JOB_COLUMNS = "offline_user_data_job.resource_name, offline_user_data_job.status, offline_user_data_job.failure_reason"
SIZE_COLUMNS = "user_list.size_for_display, user_list.size_for_search"
MATCH_RATE_COLUMN = "offline_user_data_job.operation_metadata.match_rate_range"
#: OfflineUserDataJobMatchRateRange -> the match rate it stands for, as fractions (low, high)
MATCH_RATE_RANGES: Mapping[str, tuple[float, float]] = {
    "MATCH_RANGE_LESS_THAN_20": (0.0, 0.19),
    "MATCH_RANGE_20_TO_30": (0.20, 0.30),
    "MATCH_RANGE_31_TO_40": (0.31, 0.40),
    "MATCH_RANGE_41_TO_50": (0.41, 0.50),
    "MATCH_RANGE_51_TO_60": (0.51, 0.60),
    "MATCH_RANGE_61_TO_70": (0.61, 0.70),
    "MATCH_RANGE_71_TO_80": (0.71, 0.80),
    "MATCH_RANGE_81_TO_90": (0.81, 0.90),
    "MATCH_RANGE_91_TO_100": (0.91, 1.0),
}
#: Consent.adUserData / adPersonalization for members whose sync consent column grants consent
GRANTED = {"adUserData": "GRANTED", "adPersonalization": "GRANTED"}


def list_query(list_id: str | None = None) -> str:
    """GAQL for one user list by numeric id, or every user list (names are matched exactly by the client)."""
    where = f" WHERE user_list.id = {int(list_id)}" if list_id is not None else ""
    return f"SELECT {LIST_COLUMNS} FROM user_list{where}"


def job_query(resource_name: str) -> str:
    """GAQL for one job's status; ``resource_name`` must already be validated."""
    return (
        f"SELECT {JOB_COLUMNS} FROM offline_user_data_job WHERE offline_user_data_job.resource_name = '{resource_name}'"
    )


def size_query(list_id: str) -> str:
    """GAQL for a user list's matched sizes (Google reports them as approximate counts)."""
    return f"SELECT {SIZE_COLUMNS} FROM user_list WHERE user_list.id = {int(list_id)}"


def match_rate_query(resource_name: str) -> str:
    """GAQL for a finished job's match rate range; ``resource_name`` must already be validated."""
    return (
        f"SELECT {MATCH_RATE_COLUMN} FROM offline_user_data_job "
        f"WHERE offline_user_data_job.resource_name = '{resource_name}'"
    )


def identifiers(fields: Mapping[str, str], key_type: UploadKeyType) -> list[dict[str, Any]]:
    """One UserIdentifier per identifier the list's upload key type accepts."""
    if key_type == "CRM_ID":
        return [{"thirdPartyUserId": fields["crm_id"]}] if fields.get("crm_id") else []
    if key_type == "MOBILE_ADVERTISING_ID":
        return [{"mobileId": fields["mobile_id"]}] if fields.get("mobile_id") else []
    found: list[dict[str, Any]] = []
    if fields.get("email"):
        found.append({"hashedEmail": fields["email"]})
    if fields.get("phone"):
        found.append({"hashedPhoneNumber": fields["phone"]})
    if all(fields.get(name) for name in ADDRESS_FIELDS):
        address = {
            "hashedFirstName": fields["first_name"],
            "hashedLastName": fields["last_name"],
            "countryCode": fields["country_code"],
            "postalCode": fields["postal_code"],
        }
        found.append({"addressInfo": address})
    return found


def add_operations_body(
    operation: Operation, user_data: list[list[dict[str, Any]]], *, consent_granted: bool = False
) -> dict[str, Any]:
    """An AddOfflineUserDataJobOperationsRequest body: all ``create`` or all ``remove``, partial failure on.

    ``consent_granted`` (every member granted consent through the sync's consent column) gives each created
    UserData its own consent block, which Google applies instead of the job's.
    """
    key = OPERATION_KEYS[operation]
    member_consent = {"consent": dict(GRANTED)} if consent_granted and operation == "add" else {}
    operations = [{key: {"userIdentifiers": found, **member_consent}} for found in user_data]
    return {"operations": operations, "enablePartialFailure": True}


def consent_body(consent: Consent) -> dict[str, str]:
    """Job-level consent; UNSPECIFIED (the proto default) is left out."""
    values = {"adUserData": consent.ad_user_data, "adPersonalization": consent.ad_personalization}
    return {name: value for name, value in values.items() if value != "UNSPECIFIED"}


def create_job_body(user_list: str, operation: Operation, consent: Consent) -> dict[str, Any]:
    """A CreateOfflineUserDataJobRequest body; consent goes with add jobs only."""
    metadata: dict[str, Any] = {"userList": user_list}
    if operation == "add" and (given := consent_body(consent)):
        metadata["consent"] = given
    return {"job": {"type": "CUSTOMER_MATCH_USER_LIST", "customerMatchUserListMetadata": metadata}}


def create_list_body(target: ListTarget, settings: GoogleAdsSettings) -> dict[str, Any]:
    """A MutateUserListsRequest body creating one CRM-based (Customer Match) user list."""
    crm: dict[str, Any] = {"uploadKeyType": settings.upload_key_type, "dataSourceType": "FIRST_PARTY"}
    if settings.app_id:
        crm["appId"] = settings.app_id
    user_list: dict[str, Any] = {
        "name": target.name,
        "membershipLifeSpan": str(settings.membership_life_span_days),
        "crmBasedUserList": crm,
    }
    if target.description:
        user_list["description"] = target.description
    return {"operations": [{"create": user_list}]}
