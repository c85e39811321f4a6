"""Configuration of a Mailchimp (Marketing API v3) destination."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from audience_pipelines.destinations.settings import DestinationConfig, EnvVarName, InvalidSecretError, SettingsModel

#: members per batch subscribe call and per static-segment array (Mailchimp's documented cap)
MAX_BATCH = 500
_DATA_CENTER = re.compile(r"-([a-z]{2,5}\d{1,4})$")


def data_center(api_key: str, destination: str, variable: str) -> str:
    """The data center an API key names after its last ``-`` (``...-us6`` -> ``us6``)."""
    match = _DATA_CENTER.search(api_key.strip())
    if match is None:
        raise InvalidSecretError(
            f"destination '{destination}': api_key in ${variable} has no data-center suffix (like '-us6'); "
            "a Mailchimp API key ends with the data center it lives in"
        )
    return match.group(1)


class MailchimpCredentials(SettingsModel):
    """Name of the environment variable holding the Mailchimp API key."""

    api_key: EnvVarName


class MailchimpSettings(SettingsModel):
    list_id: str = Field(
        pattern=r"^[A-Za-z0-9]{1,64}$",
        description="id of an existing Mailchimp audience (list); required: audiences are not created by syncs",
    )
    status_if_new: Literal["subscribed", "pending", "transactional"] = Field(
        default="subscribed", description="status sent with each member (with update_existing it applies to all)"
    )
    removal: Literal["remove_tag", "unsubscribe"] = Field(
        default="remove_tag", description="remove_tag (reversible) or also unsubscribe; members are never deleted"
    )
    batch_size: int = Field(default=MAX_BATCH, ge=1, le=MAX_BATCH)
    requests_per_second: float = Field(
        default=10.0, gt=0, le=100, description="client-side pacing (Mailchimp documents 10 simultaneous connections)"
    )


class MailchimpConfig(DestinationConfig):
    """A Mailchimp audience: members upserted with merge fields, sync membership kept as a tag."""

    type: Literal["mailchimp"]
    credentials: MailchimpCredentials
    settings: MailchimpSettings

    def api_root(self, center: str) -> str:
        """``base_url`` when given, else ``https://{dc}.api.mailchimp.com/3.0``."""
        if self.base_url:
            return self.resolved_base_url()
        return f"https://{center}.api.mailchimp.com/3.0"
