"""Configuration of the TikTok destinations (audiences through the Segment API, and the Events API), and the
calculate-type check of a sync's identifier mapping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

from pydantic import Field

from audience_pipelines.destinations.settings import DestinationConfig, EnvVarName, SettingsModel
from audience_pipelines.identity.types import PhoneFormat

BUSINESS_API = "https://business-api.tiktok.com"

EMAIL, PHONE = "EMAIL_SHA256", "PHONE_SHA256"
ADVERTISING_IDS = ("IDFA_SHA256", "AAID_SHA256")
#: ``id_schema`` names a list sync may map to, in the order a request's ``id_schema`` lists them.
AUDIENCE_FIELDS = (EMAIL, PHONE, *ADVERTISING_IDS)
#: Events API ``user`` keys a sync may map to (email, phone and external_id are hashed lists).
EVENT_USER_FIELDS = (
    "email", "phone", "external_id", "ttclid", "ttp", "ip", "user_agent",
    "first_name", "last_name", "city", "state", "country", "zip_code",
)  # fmt: skip

CalculateType = Literal["single", "multiple"]
DEFAULT_CALCULATE_TYPE: CalculateType = "multiple"
#: Members per ``segment/mapping`` request: 1,000 is the conservative figure of the reference (Tealium batches
#: up to 1,000); 10,000 is our own ceiling, UNCONFIRMED as TikTok's.
DEFAULT_BATCH_SIZE = 1_000
MAX_BATCH_SIZE = 10_000
#: Events per ``event/track`` request: 500 by default; 1,000 is widely repeated but UNCONFIRMED.
DEFAULT_EVENT_BATCH_SIZE = 500
MAX_EVENT_BATCH_SIZE = 1_000


class TikTokCredentials(SettingsModel):
    access_token: EnvVarName


class TikTokAudiencesSettings(SettingsModel):
    advertiser_id: str = Field(pattern=r"^\d{1,32}$")
    api_version: str = Field(default="v1.3", pattern=r"^v\d+\.\d+$")
    calculate_type: CalculateType = Field(
        default=DEFAULT_CALCULATE_TYPE,
        description="single: exactly one of EMAIL_SHA256 / PHONE_SHA256 mapped; multiple: both, plus optionally "
        "one advertising id (IDFA_SHA256 or AAID_SHA256)",
    )
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1, le=MAX_BATCH_SIZE)
    phone_format: PhoneFormat = Field(
        default="e164",
        description="how phones are hashed: e164 ('+' and digits, the API reference) or digits_with_country_code "
        "(a help-center page's rule); see the package docstring",
    )


class TikTokAudiencesConfig(DestinationConfig):
    """TikTok custom audiences filled through the Segment API (list sync)."""

    type: Literal["tiktok_audiences"]
    credentials: TikTokCredentials
    settings: TikTokAudiencesSettings

    default_base_url: ClassVar[str | None] = BUSINESS_API


class TikTokEventsSettings(SettingsModel):
    event_source_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the pixel code events go to")
    event_source: Literal["web", "crm"] = Field(
        default="web", description="web: event_source_id is a pixel code; crm: it is a CRM event set id"
    )
    api_version: str = Field(default="v1.3", pattern=r"^v\d+\.\d+$")
    batch_size: int = Field(default=DEFAULT_EVENT_BATCH_SIZE, ge=1, le=MAX_EVENT_BATCH_SIZE)
    test_event_code: str | None = Field(default=None, min_length=1)
    phone_format: PhoneFormat = Field(
        default="e164",
        description="how phones are hashed: e164 ('+' and digits, the API reference) or digits_with_country_code "
        "(a help-center page's rule); see the package docstring",
    )


class TikTokEventsConfig(DestinationConfig):
    """TikTok Events API (event sync)."""

    type: Literal["tiktok_events"]
    credentials: TikTokCredentials
    settings: TikTokEventsSettings

    default_base_url: ClassVar[str | None] = BUSINESS_API


TikTokConfig = TikTokAudiencesConfig | TikTokEventsConfig


def check_sync(identifiers: Mapping[str, str], calculate_type: str = DEFAULT_CALCULATE_TYPE) -> list[str]:
    """Problems of a list sync's ``identifiers`` (column -> id_schema name) under ``calculate_type``.

    Each problem names the field and the identifiers allowed. The settings model cannot see a sync's mapping,
    so configuration cross-checks call this with ``destination.settings.calculate_type``.
    """
    by_field: dict[str, list[str]] = {}
    for column, name in identifiers.items():
        by_field.setdefault(name, []).append(column)
    problems = [
        f"field 'identifiers.{column}': TikTok audiences have no identifier {name!r} "
        f"(allowed: {', '.join(AUDIENCE_FIELDS)})"
        for name, columns in by_field.items()
        if name not in AUDIENCE_FIELDS
        for column in columns
    ]
    problems += [
        f"field 'identifiers': {', '.join(columns)} all map to {name}; map each id_schema name once"
        for name, columns in by_field.items()
        if len(columns) > 1
    ]
    mapped = [name for name in AUDIENCE_FIELDS if name in by_field]
    if calculate_type == "single":
        problems += _single_problems(mapped, by_field)
    elif calculate_type == "multiple":
        problems += _multiple_problems(mapped, by_field)
    else:
        problems.append(f"field 'settings.calculate_type': {calculate_type!r} is not one of single, multiple")
    return problems


def _single_problems(mapped: list[str], by_field: dict[str, list[str]]) -> list[str]:
    allowed = f"allowed: exactly one of {EMAIL} or {PHONE}"
    extra = [name for name in mapped if name in ADVERTISING_IDS]
    problems = [
        f"field 'identifiers.{column}': {name} is not allowed with calculate_type 'single' ({allowed}; "
        "use calculate_type 'multiple' to add an advertising id)"
        for name in extra
        for column in by_field[name]
    ]
    contact = [name for name in mapped if name in (EMAIL, PHONE)]
    if len(contact) != 1:
        found = ", ".join(contact) or "neither"
        problems.append(
            f"field 'identifiers': calculate_type 'single' maps exactly one identifier ({allowed}; mapped: {found}); "
            "use calculate_type 'multiple' to send both"
        )
    return problems


def _multiple_problems(mapped: list[str], by_field: dict[str, list[str]]) -> list[str]:
    allowed = f"allowed: {EMAIL} and {PHONE}, plus optionally one of {', '.join(ADVERTISING_IDS)}"
    problems = []
    missing = [name for name in (EMAIL, PHONE) if name not in by_field]
    if missing:
        problems.append(
            f"field 'identifiers': calculate_type 'multiple' needs both {EMAIL} and {PHONE} mapped ({allowed}; "
            f"missing: {', '.join(missing)}); use calculate_type 'single' for one identifier"
        )
    advertising = [name for name in mapped if name in ADVERTISING_IDS]
    if len(advertising) > 1:
        problems.append(
            f"field 'identifiers': map at most one advertising id ({allowed}; mapped: {', '.join(advertising)})"
        )
    return problems
