"""Syncs: which audience goes to which destination, how, and how often."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

import phonenumbers
from pydantic import AfterValidator, Field, field_validator, model_validator

from audience_pipelines.config.audiences import ColumnName, Name, StrictModel
from audience_pipelines.config.durations import Duration
from audience_pipelines.config.refresh import PRESETS, validate_refresh

FOLLOW = "follow"
MANUAL = "manual"


def _schedule(value: str) -> str:
    return value if value in (FOLLOW, MANUAL) else validate_refresh(value)


def _phone_region(value: str) -> str:
    """A region phonenumbers knows, such as US, GB or DE."""
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not a phone region phonenumbers knows (two capital letters: US, GB, DE, ...)")
    return value


_OWNER = re.compile(r"^(team:[A-Za-z0-9_.-]+|[^@\s]+@[^@\s]+\.[^@\s]+)$")


def _owner(value: str) -> str:
    """An owner as Dagster shows it: an email address or ``team:<name>``."""
    if not _OWNER.match(value):
        raise ValueError(f"{value!r} is not an owner: use an email address or team:<name>")
    return value


SyncSchedule = Annotated[str, AfterValidator(_schedule)]
PhoneRegion = Annotated[str, AfterValidator(_phone_region)]
Owner = Annotated[str, AfterValidator(_owner)]


class ListTargetConfig(StrictModel):
    """The destination list: an existing id, or a name to find or create on the first run."""

    list_id: str | None = None
    name: str | None = None
    description: str = ""

    @model_validator(mode="after")
    def _one_of(self) -> ListTargetConfig:
        if bool(self.list_id) == bool(self.name):
            raise ValueError("give exactly one of list_id (an existing list) or name (found or created)")
        return self


#: values a consent column may be mapped to: letters, digits, space, '_', '-', '.' (compared case-insensitively)
CONSENT_VALUE = re.compile(r"^[A-Za-z0-9 _.\-]{1,64}$")


class ConsentConfig(StrictModel):
    """The audience column that says whether a member consented, and which of its values mean yes.

    A boolean column needs only ``column`` (``true`` means consent). A text column maps its values:
    ``granted: ["yes", "true"]`` (case and surrounding spaces ignored). Anything else, or no value, is no
    consent: the member is not sent, and a member the destination holds is removed.
    """

    column: ColumnName
    granted: list[str] = Field(default_factory=lambda: ["true"], min_length=1, max_length=20)

    @model_validator(mode="before")
    @classmethod
    def _column_shorthand(cls, raw: object) -> object:
        return {"column": raw} if isinstance(raw, str) else raw

    @field_validator("granted", mode="before")
    @classmethod
    def _granted_values(cls, values: object) -> object:
        if not isinstance(values, list):
            return values
        found = []
        for value in values:
            if isinstance(value, bool):
                raise ValueError(
                    "quote the consent values ('yes', 'true'): YAML reads unquoted yes/no/true/false/on/off as "
                    "booleans, and a boolean column needs no granted list"
                )
            text = str(value) if isinstance(value, int) else value
            if not isinstance(text, str) or not CONSENT_VALUE.match(text.strip()):
                raise ValueError(
                    f"{value!r} is not a consent value: use 1 to 64 letters, digits, spaces, '_', '-' or '.'"
                )
            found.append(text.strip().lower())
        return found


class SyncConfig(StrictModel):
    """One audience pushed to one destination."""

    name: Name
    audience: Name
    destination: Name
    type: Literal["list", "event"]
    mode: Literal["mirror", "additive", "subtractive"] = "mirror"
    target: ListTargetConfig | None = None
    identifiers: dict[ColumnName, str] = Field(min_length=1, description="audience column -> destination field")
    fields: dict[ColumnName, str] = Field(default_factory=dict, description="extra audience columns to send")
    schedule: SyncSchedule = Field(
        default=FOLLOW,
        description=f"'{FOLLOW}' (after every refresh), '{MANUAL}' (only the CLI or the UI), a preset "
        f"({', '.join(PRESETS)}) or cron",
    )
    status: Literal["active", "paused"] = "active"
    owners: list[Owner] = Field(default_factory=list, description="shown on the destination asset in Dagster")
    min_size: int = Field(default=0, ge=0, description="refuse a run that would leave fewer members")
    max_exit_ratio: float = Field(default=0.5, gt=0, le=1, description="refuse a run removing more than this")
    max_member_attempts: int = Field(
        default=3, ge=1, le=100, description="runs that retry a member the destination refused before parking it"
    )
    cooldown: Duration = Field(default=dt.timedelta(minutes=15), description="between manual triggers")
    default_phone_region: PhoneRegion = Field(
        default="US",
        description="region for phone numbers written without a country code",
    )
    consent: ConsentConfig | None = Field(
        default=None, description="audience column (and its values) that grant consent; members without it are not sent"
    )
    added_event: str = "added_to_segment"
    removed_event: str = "removed_from_segment"

    @model_validator(mode="after")
    def _list_needs_target(self) -> SyncConfig:
        if self.type == "list" and self.target is None:
            raise ValueError("a list sync needs a target (list_id or name)")
        if self.type == "event" and self.target is not None:
            raise ValueError("an event sync has no target list")
        return self

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def adds(self) -> bool:
        return self.mode in ("mirror", "additive")

    @property
    def removes(self) -> bool:
        return self.mode in ("mirror", "subtractive")
