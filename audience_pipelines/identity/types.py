"""The identifier kinds audiences may carry, the phone formats platforms hash, and the drop-reason codes."""

from enum import StrEnum
from typing import Literal


class IdentifierType(StrEnum):
    """A kind of identifier that destinations match people on.

    The values are also the audience column names used in SQL (``select ... as email, ... as phone``).
    """

    EMAIL = "email"
    PHONE = "phone"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    FIRST_INITIAL = "first_initial"
    GENDER = "gender"
    DATE_OF_BIRTH = "date_of_birth"
    DOB_YEAR = "dob_year"
    DOB_MONTH = "dob_month"
    DOB_DAY = "dob_day"
    CITY = "city"
    STATE = "state"
    ZIP = "zip"
    COUNTRY = "country"
    MADID = "madid"
    EXTERNAL_ID = "external_id"
    FBP = "fbp"
    FBC = "fbc"
    GCLID = "gclid"
    GA_CLIENT_ID = "ga_client_id"
    TTCLID = "ttclid"


#: How a platform wants phone numbers before hashing: ``16505551212`` or ``+16505551212``.
PhoneFormat = Literal["digits_with_country_code", "e164"]
PHONE_FORMATS: tuple[PhoneFormat, ...] = ("digits_with_country_code", "e164")

# Drop reasons: short, stable codes that end up in run metadata as ``"<field>:<reason>"``.
MISSING = "missing"  # None / NaN / NA: the member has no such value
EMPTY = "empty"  # a blank or whitespace-only string
INVALID_EMAIL = "invalid_email"
INVALID_PHONE = "invalid_phone"
INVALID_DATE = "invalid_date"
INVALID_GENDER = "invalid_gender"
INVALID_COUNTRY = "invalid_country"
INVALID_FORMAT = "invalid_format"
PLACEHOLDER = "placeholder"  # text that stands for "no value": nan, None, null, undefined, N/A, -
HASHED_EMPTY = "hashed_empty"  # a SHA-256 digest of the empty string (or of whitespace)
HASHED_PLACEHOLDER = "hashed_placeholder"  # a SHA-256 digest of a placeholder ("null", "None", "nan", ...)
DEGENERATE_HASH = "degenerate_hash"  # 64 hex characters that are one repeated digit: all zeros, all f's
DROP_REASONS = frozenset(
    {
        MISSING,
        EMPTY,
        INVALID_EMAIL,
        INVALID_PHONE,
        INVALID_DATE,
        INVALID_GENDER,
        INVALID_COUNTRY,
        INVALID_FORMAT,
        PLACEHOLDER,
        HASHED_EMPTY,
        HASHED_PLACEHOLDER,
        DEGENERATE_HASH,
    }
)
