"""The identifier kinds audiences may carry (their values are also the audience column names)."""

from enum import StrEnum


class IdentifierType(StrEnum):
    """A kind of identifier that destinations match people on."""

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
