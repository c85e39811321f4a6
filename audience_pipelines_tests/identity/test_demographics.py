"""Gender and dates of birth."""

import datetime as dt

import pandas as pd
import pytest

from audience_pipelines.identity import date_parts, explain
from audience_pipelines_tests.identity.support import h, norm, plain, why


def test_gender_is_m_or_f():
    assert norm("meta", "gender", "Female", "M", "male ", "WOMAN", "boy", "F.", "x", "nonbinary") == [
        "f", "m", "m", "f", "m", "f", None, None,
    ]  # fmt: skip
    assert why("meta", "gender", "x", None) == ["invalid_gender", "missing"]
    assert explain("meta", "gender", "Female").hashed == h("f")


@pytest.mark.parametrize(
    "raw",
    [
        "1985-03-07",
        "1985-3-7",
        "1985/03/07",
        "19850307",
        "1985-03-07T10:00:00Z",
        dt.date(1985, 3, 7),
        dt.datetime(1985, 3, 7, 12, 30),
        pd.Timestamp("1985-03-07"),
    ],
)
def test_date_of_birth_from_dates_and_year_first_text(raw):
    assert norm("meta", "date_of_birth", raw) == ["19850307"]
    assert explain("meta", "date_of_birth", raw).hashed == h("19850307")


@pytest.mark.parametrize(
    "raw",
    ["03/07/1985", "07.03.1985", "1985-02-30", "1985-13-01", "1899-12-31", f"{dt.date.today().year + 1}-01-01", "soon"],
)
def test_ambiguous_impossible_or_implausible_dates_are_invalid(raw):
    assert norm("meta", "date_of_birth", raw) == [None]
    assert why("meta", "date_of_birth", raw) == ["invalid_date"]


def test_date_parts_split_a_date():
    year, month, day, reasons = date_parts(pd.Series(["1985-03-07", dt.date(2001, 12, 25), "x", None]))
    assert plain(year) == ["1985", "2001", None, None]
    assert plain(month) == ["03", "12", None, None]
    assert plain(day) == ["07", "25", None, None]
    assert plain(reasons) == [None, None, "invalid_date", "missing"]


def test_year_month_and_day_from_parts_or_from_a_full_date():
    assert norm("meta", "dob_year", "1985", " 1985 ", 1985, "1985-03-07") == ["1985"] * 4
    assert norm("meta", "dob_year", "85", "1899", "3000") == [None, None, None]
    assert norm("meta", "dob_month", "March", "mar", "Sept", "3", "03", 3, "1985-03-07") == [
        "03", "03", "09", "03", "03", "03", "03",
    ]  # fmt: skip
    assert norm("meta", "dob_month", "13", "0", "Smarch") == [None, None, None]
    assert norm("meta", "dob_day", "7", "07", 7, "31", "1985-03-07") == ["07", "07", "07", "31", "07"]
    assert norm("meta", "dob_day", "32", "0", "7th") == [None, None, None]
    assert why("meta", "dob_day", "32", "7") == ["invalid_date", None]
    assert explain("meta", "dob_month", "3").hashed == h("03")
    assert explain("meta", "dob_year", "1985").hashed == h("1985")
