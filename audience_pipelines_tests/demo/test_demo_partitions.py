"""The demo builds the recent partitions up to the latest complete one, for whatever day it runs on."""

import datetime as dt

import pytest

from audience_pipelines.cli.demo import RECENT_DAYS, demo_partitions
from audience_pipelines.config import load_config
from audience_pipelines_tests.conftest import PROJECT_DIR

CONFIG = load_config(PROJECT_DIR / "audiences.yaml")


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("today", "baseline", "first", "last"),
    [
        (dt.date(2026, 11, 28), "2026-11-13", "2026-11-14", "2026-11-27"),
        (dt.date(2027, 2, 3), "2027-01-19", "2027-01-20", "2027-02-02"),
        (dt.date(2026, 11, 10), None, "2026-11-07", "2026-11-09"),
    ],
)
def test_a_daily_audience_gets_the_recent_days_up_to_yesterday_and_a_baseline(today, baseline, first, last):
    until = midnight(today)
    got_baseline, keys = demo_partitions(
        CONFIG.audience("cart_abandoners_7d"), until - dt.timedelta(RECENT_DAYS), until
    )
    assert (got_baseline, keys[0], keys[-1]) == (baseline, first, last)
    assert len(keys) == min(RECENT_DAYS, (today - dt.date(2026, 11, 7)).days)


def test_a_static_audience_is_built_whole_once_its_range_has_closed():
    until = midnight(dt.date(2027, 2, 3))
    assert demo_partitions(CONFIG.audience("october_2026_purchasers"), until - dt.timedelta(14), until) == (
        None,
        ["2026-11-01"],
    )
