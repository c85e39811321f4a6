"""Values checked at load: phone regions phonenumbers knows, bounded partition counts, bounded durations."""

import datetime as dt

import dagster as dg
import pytest

from audience_pipelines.config import ConfigError, load_config
from audience_pipelines.config.refresh import cron_for, partition_count

CONFIG = """
audiences:
  - name: buyers
    type: dynamic
    refresh: "{refresh}"
    window: {window}
    start: {start}
    identifiers: [email, phone]
    sql: select user_id::text as member_key, email, phone from users
destinations:
  - name: hook
    type: webhook
    base_url: http://localhost:9
    credentials: {{signing_secret: HOOK_SECRET}}
syncs:
  - name: buyers_to_hook
    audience: buyers
    destination: hook
    type: list
    target: {{name: buyers}}
    identifiers: {{email: email, phone: phone}}
    default_phone_region: {region}
"""


def load(tmp_path, refresh="daily", window="30d", start="2026-01-01", region="GB"):
    path = tmp_path / "audiences.yaml"
    path.write_text(CONFIG.format(refresh=refresh, window=window, start=start, region=region))
    return load_config(path)


def error_of(tmp_path, **changes) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, **changes)
    return str(caught.value)


def test_a_known_phone_region_loads(tmp_path):
    assert load(tmp_path).sync("buyers_to_hook").default_phone_region == "GB"


@pytest.mark.parametrize("region", ["ZZ", "us", "XK1", '"001"'])
def test_an_unknown_phone_region_is_refused_naming_the_field(tmp_path, region):
    error = error_of(tmp_path, region=region)
    assert "sync 'buyers_to_hook' (item 1): field 'default_phone_region': " in error
    assert "is not a phone region" in error


def test_a_refresh_making_too_many_partitions_is_refused_with_the_count(tmp_path):
    before = partition_count("* * * * *", dt.date(2020, 1, 1), dt.datetime.now(dt.UTC))
    error = error_of(tmp_path, refresh="* * * * *", start="2020-01-01")
    assert "audience 'buyers' (item 1): field 'start': refresh '* * * * *' from 2020-01-01 makes " in error
    count = int(error.split(" makes ")[1].split()[0].replace(",", ""))
    assert before <= count <= before + 5  # a minute or two may pass while loading
    assert "partitions by now (at most 100,000); use a later start or a slower refresh" in error


def test_an_hourly_refresh_from_last_year_is_fine(tmp_path):
    assert load(tmp_path, refresh="hourly", start="2025-01-01").audience("buyers").refresh == "hourly"


@pytest.mark.parametrize(
    ("refresh", "start"),
    [
        ("* * * * *", dt.date(2026, 11, 20)),
        ("15m", dt.date(2026, 1, 1)),
        ("daily", dt.date(2020, 1, 1)),
        ("weekly", dt.date(2020, 1, 3)),
        ("0 0 1,15 * sun", dt.date(2024, 1, 1)),
        ("0 0 L * *", dt.date(2023, 1, 1)),
        ("0 0 * * 1#2", dt.date(2023, 1, 1)),
        ("5 */2 * 2-4 *", dt.date(2022, 1, 1)),
        ("0 0 29 2 *", dt.date(2000, 1, 1)),
        ("30 9 * * 7", dt.date(2025, 6, 1)),
        ("daily", dt.date(2027, 1, 1)),
    ],
)
def test_the_partition_count_is_the_one_dagster_lists(refresh, start):
    now = dt.datetime(2026, 11, 28, 9, 17, tzinfo=dt.UTC)
    partitions = dg.TimeWindowPartitionsDefinition(
        cron_schedule=cron_for(refresh),
        start=dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC),
        fmt="%Y-%m-%d-%H:%M",
        timezone="UTC",
    )
    assert partition_count(refresh, start, now) == len(partitions.get_partition_keys(current_time=now))


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ("999999999w", "'999999999w' is longer than 36,600 days"),
        ("99999999999d", "is not a duration"),
        ("9" * 5000 + "d", "'" + "9" * 37 + "...' is not a duration"),
    ],
)
def test_absurd_durations_are_refused(tmp_path, window, message):
    assert message in error_of(tmp_path, window=window)
