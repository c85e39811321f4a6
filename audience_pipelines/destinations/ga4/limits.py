"""GA4 Measurement Protocol limits and reserved names, as documented (see the package docstring for sources).

Google does not refuse a request that breaks them: ``/mp/collect`` answers 2xx and drops what it cannot take.
"""

from __future__ import annotations

import re

MAX_EVENTS_PER_REQUEST = 25
MAX_PARAMS_PER_EVENT = 25
MAX_NAME_LENGTH = 40  # event and parameter names
MAX_PARAM_VALUE_LENGTH = 100  # string parameter values (500 on GA360 properties; we keep the lower bound)
MAX_USER_ID_LENGTH = 256
MAX_BODY_BYTES = 130_000
MAX_USER_DATA_VALUES = 3  # entries per sha256_email_address / sha256_phone_number / address list
MAX_BACKDATE_SECONDS = 72 * 3600

#: letter first, then letters, digits and underscores
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
SHA256_PATTERN = re.compile(r"[0-9a-fA-F]{64}")
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
RESERVED_PARAM_NAMES = frozenset({"firebase_conversion"})
RESERVED_EVENT_NAMES = frozenset(
    {
        "ad_activeview",
        "ad_click",
        "ad_exposure",
        "ad_impression",
        "ad_query",
        "ad_reward",
        "adunit_exposure",
        "app_background",
        "app_clear_data",
        "app_exception",
        "app_remove",
        "app_store_refund",
        "app_store_subscription_cancel",
        "app_store_subscription_convert",
        "app_store_subscription_renew",
        "app_uninstall",
        "app_update",
        "app_upgrade",
        "dynamic_link_app_open",
        "dynamic_link_app_update",
        "dynamic_link_first_open",
        "error",
        "first_open",
        "first_visit",
        "in_app_purchase",
        "notification_dismiss",
        "notification_foreground",
        "notification_open",
        "notification_receive",
        "notification_send",
        "os_update",
        "session_start",
        "session_start_with_rollout",
        "user_engagement",
    }
)


def name_problem(name: str) -> str | None:
    """Why an event or parameter name breaks the naming rules (None when it is fine)."""
    if not name:
        return "is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    if name.startswith(RESERVED_PREFIXES):
        return "uses a reserved prefix"
    if not NAME_PATTERN.fullmatch(name):
        return "must start with a letter and hold only letters, digits and underscores"
    return None
