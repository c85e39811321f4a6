"""The whole configuration file: audiences, destinations and syncs, checked against each other."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import dagster as dg
from pydantic import Field, model_validator

from audience_pipelines.config.audiences import Audience, DynamicAudience, StrictModel
from audience_pipelines.config.combined import (
    combined_audience_problems,
    draft_input_warnings,
    with_inherited_columns,
)
from audience_pipelines.config.destinations import DestinationConfigUnion
from audience_pipelines.config.refresh import cron_for
from audience_pipelines.config.syncs import FOLLOW, MANUAL, SyncConfig
from audience_pipelines.destinations.registry import destination_type
from audience_pipelines.destinations.settings import credential_warnings


class ProjectConfig(StrictModel):
    """Everything declared in ``audiences.yaml``."""

    audiences: list[Audience] = Field(default_factory=list)
    destinations: list[DestinationConfigUnion] = Field(default_factory=list)
    syncs: list[SyncConfig] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _combined_audience_columns(cls, raw: Any) -> Any:
        """A combined audience listing no columns takes the ones its includes share."""
        if not isinstance(raw, dict) or not isinstance(raw.get("audiences"), list):
            return raw
        return {**raw, "audiences": with_inherited_columns(raw["audiences"])}

    @model_validator(mode="before")
    @classmethod
    def _destination_defaults(cls, raw: Any) -> Any:
        """Fields a sync leaves out take its destination type's defaults (TikTok's 1,000-member minimum)."""
        if not isinstance(raw, dict) or not isinstance(raw.get("syncs"), list):
            return raw
        types = {d.get("name"): d.get("type") for d in raw.get("destinations") or [] if isinstance(d, dict)}
        syncs = []
        for sync in raw["syncs"]:
            kind = _known_type(types.get(sync.get("destination"))) if isinstance(sync, dict) else None
            syncs.append({**kind.sync_defaults, **sync} if kind else sync)
        return {**raw, "syncs": syncs}

    @model_validator(mode="after")
    def _consistent(self) -> ProjectConfig:
        problems = [
            *_repeated("audiences", "audience", [a.name for a in self.audiences]),
            *_repeated("destinations", "destination", [d.name for d in self.destinations]),
            *_repeated("syncs", "sync", [s.name for s in self.syncs]),
            *combined_audience_problems(self.audiences),
        ]
        for index, sync in enumerate(self.syncs):
            problems.extend(f"sync '{sync.name}' (item {index + 1}): {p}" for p in self._sync_problems(sync))
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _sync_problems(self, sync: SyncConfig) -> list[str]:
        audiences = {a.name: a for a in self.audiences}
        destinations = {d.name: d for d in self.destinations}
        problems = []
        audience = audiences.get(sync.audience)
        destination = destinations.get(sync.destination)
        if audience is None:
            problems.append(f"field 'audience': no audience named '{sync.audience}'")
        if destination is None:
            problems.append(f"field 'destination': no destination named '{sync.destination}'")
        if destination is not None:
            kind = destination_type(destination.type)
            if sync.type not in kind.capabilities:
                problems.append(
                    f"field 'type': destination '{destination.name}' ({destination.type}) does not support "
                    f"{sync.type} sync (supports: {', '.join(sorted(kind.capabilities))})"
                )
            if kind.check_sync is not None:
                problems.extend(kind.check_sync(sync.identifiers, destination, sync.fields))
            allowed = kind.fields
            unknown = [f for f in [*sync.identifiers.values(), *sync.fields.values()] if allowed and f not in allowed]
            if unknown:
                problems.append(
                    f"field 'identifiers': {destination.type} has no field(s) {', '.join(unknown)} "
                    f"(allowed: {', '.join(allowed or ())})"
                )
        if audience is not None:
            declared_identifiers = set(map(str, audience.identifiers))
            for column in sync.identifiers:
                if column not in declared_identifiers:
                    problems.append(
                        f"field 'identifiers.{column}': audience '{audience.name}' declares no identifier "
                        f"column '{column}' (declared: {', '.join(sorted(declared_identifiers)) or 'none'})"
                    )
            for column in sync.fields:
                if column not in audience.columns:
                    problems.append(f"field 'fields.{column}': audience '{audience.name}' has no column '{column}'")
            if sync.consent is not None and sync.consent.column not in audience.columns:
                problems.append(
                    f"field 'consent.column': audience '{audience.name}' has no column '{sync.consent.column}' "
                    f"(columns: {', '.join(audience.columns) or 'none'}; list it under traits)"
                )
        return problems

    @property
    def warnings(self) -> list[str]:
        """Problems that do not stop anything but deserve a look."""
        used = {s.destination for s in self.syncs if s.is_active}
        found = [w for d in self.destinations if d.name in used for w in credential_warnings(d)]
        found.extend(draft_input_warnings(self.audiences))
        for sync in self.syncs:
            audience = next((a for a in self.audiences if a.name == sync.audience), None)
            if (
                isinstance(audience, DynamicAudience)
                and sync.schedule not in (FOLLOW, MANUAL)
                and _faster(cron_for(sync.schedule), cron_for(audience.refresh))
            ):
                found.append(
                    f"sync '{sync.name}': schedule '{sync.schedule}' is faster than audience "
                    f"'{audience.name}' refreshes ('{audience.refresh}'); runs in between have nothing new"
                )
        return found

    def audience(self, name: str) -> Audience:
        """The audience called ``name`` (KeyError if none)."""
        return _find(self.audiences, name, "audience")

    def destination(self, name: str) -> Any:
        """The destination called ``name`` (KeyError if none)."""
        return _find(self.destinations, name, "destination")

    def sync(self, name: str) -> SyncConfig:
        """The sync called ``name`` (KeyError if none)."""
        return _find(self.syncs, name, "sync")

    def syncs_to(self, destination: str) -> list[SyncConfig]:
        return [s for s in self.syncs if s.destination == destination]


def _known_type(name: Any) -> Any:
    try:
        return destination_type(name) if isinstance(name, str) else None
    except ValueError:
        return None  # an unknown type is reported by the destination's own validation


def _find(items: list[Any], name: str, kind: str) -> Any:
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"no {kind} named {name!r}")


def _repeated(section: str, kind: str, names: list[str]) -> list[str]:
    return [
        f"{section}: {kind} name '{name}' is used by items "
        + ", ".join(str(i + 1) for i, n in enumerate(names) if n == name)
        for name, count in Counter(names).items()
        if count > 1
    ]


def _faster(cron: str, than: str) -> bool:
    """Whether ``cron`` ticks more often than ``than``, counted over one week."""
    return _ticks_per_week(cron) > _ticks_per_week(than)


def _ticks_per_week(cron: str) -> int:
    start = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    partitions = dg.TimeWindowPartitionsDefinition(cron_schedule=cron, start=start, fmt="%Y-%m-%d-%H:%M")
    return len(partitions.get_partition_keys(current_time=start + dt.timedelta(days=7)))
