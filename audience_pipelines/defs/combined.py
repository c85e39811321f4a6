"""How a combined audience's assets hang off its inputs: asset deps, automation conditions and their sensor.

A combined audience has no schedule. Its snapshot is ``eager``: it runs for the latest partition once every
input snapshot of that partition exists and none is in progress, and again whenever one of them is
re-materialized. Its diff follows its snapshot. History comes from backfills, which order partitions by these
same deps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg

from audience_pipelines.config import Audience


@dataclass(frozen=True)
class CombinedAutomation:
    """What :func:`combined_audience_automation` adds to an audience's assets (nothing for a SQL audience)."""

    snapshot_deps: list[dg.AssetDep] = field(default_factory=list)
    snapshot_condition: dg.AutomationCondition | None = None
    diff_condition: dg.AutomationCondition | None = None
    sensor_status: dg.DefaultSensorStatus | None = None

    def sensors(self, audience_name: str, assets: Sequence[dg.AssetsDefinition]) -> list[dg.SensorDefinition]:
        """The sensor evaluating the conditions of this audience's assets (none for a SQL or draft audience)."""
        if self.sensor_status is None:
            return []
        return [
            dg.AutomationConditionSensorDefinition(
                f"{audience_name}_automation",
                target=dg.AssetSelection.assets(*assets),
                default_status=self.sensor_status,
                description=f"Refresh '{audience_name}' once the audiences it is built from have refreshed.",
            )
        ]


def diff_after_snapshot() -> dg.AutomationCondition:
    """``eager`` without waiting for the previous snapshot: a diff falls back to the newest earlier one."""
    return (
        dg.AutomationCondition.in_latest_time_window()
        & dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("after its snapshot")


def combined_audience_automation(audience: Audience, input_snapshots: Sequence[dg.AssetKey]) -> CombinedAutomation:
    """Deps on the input snapshots (same partition), and conditions running the assets after their inputs."""
    if not audience.is_combined:
        return CombinedAutomation()
    status = None
    if audience.status != "draft":
        status = dg.DefaultSensorStatus.RUNNING if audience.is_active else dg.DefaultSensorStatus.STOPPED
    return CombinedAutomation(
        snapshot_deps=[dg.AssetDep(key, partition_mapping=dg.IdentityPartitionMapping()) for key in input_snapshots],
        snapshot_condition=dg.AutomationCondition.eager(),
        diff_condition=diff_after_snapshot(),
        sensor_status=status,
    )
