"""Runs started in this process (demo, CLI) filed under the code location, and their ranges as backfills.

``execute_in_process`` runs carry no code-location origin, so the UI would not list them under their jobs,
in the Overview timeline or in the Backfills tab. They get the code location's repository label (how the UI
finds a job's runs), and an in-process range is recorded as a job backfill over the partitions it ran, with
the runs tagged with its id, so the Backfills tab shows it with its runs and their partitions.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
from dagster._core.definitions.repository_definition import SINGLETON_REPOSITORY_NAME
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemotePartitionSetOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.storage.tags import BACKFILL_ID_TAG, REPOSITORY_LABEL_TAG
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

#: The code location's name in workspace.yaml and dg.toml.
LOCATION_NAME = "audience_pipelines"
DEFINITIONS_MODULE = "audience_pipelines.definitions"


def location_tags() -> dict[str, str]:
    """Run tags that file an in-process run under the code location's jobs."""
    return {REPOSITORY_LABEL_TAG: f"{SINGLETON_REPOSITORY_NAME}@{LOCATION_NAME}"}


def new_backfill_id() -> str:
    return uuid.uuid4().hex[:8]


def backfill_tags(backfill_id: str) -> dict[str, str]:
    """Run tags tying an in-process run to the backfill recorded for its range."""
    return {**location_tags(), BACKFILL_ID_TAG: backfill_id}


def record_backfill(
    instance: dg.DagsterInstance,
    backfill_id: str,
    job_name: str,
    partition_keys: Sequence[str],
    *,
    started: float,
    succeeded: bool,
    title: str,
) -> None:
    """Record a finished in-process range of ``job_name`` runs as a job backfill of the code location."""
    origin = ManagedGrpcPythonEnvCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(
            executable_path=sys.executable, module_name=DEFINITIONS_MODULE, working_directory=str(Path.cwd())
        ),
        location_name=LOCATION_NAME,
    )
    repository = RemoteRepositoryOrigin(code_location_origin=origin, repository_name=SINGLETON_REPOSITORY_NAME)
    backfill = PartitionBackfill(
        backfill_id=backfill_id,
        status=BulkActionStatus.COMPLETED_SUCCESS if succeeded else BulkActionStatus.COMPLETED_FAILED,
        from_failure=False,
        tags={},
        backfill_timestamp=started,
        title=title,
        partition_set_origin=RemotePartitionSetOrigin(
            repository_origin=repository, partition_set_name=f"{job_name}_partition_set"
        ),
        partition_names=list(partition_keys),
        last_submitted_partition_name=partition_keys[-1] if partition_keys else None,
        backfill_end_timestamp=time.time(),
    )
    instance.add_backfill(backfill)
