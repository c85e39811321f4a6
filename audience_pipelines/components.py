"""``AudiencePipelinesComponent``: the dg component that turns ``audiences.yaml`` into Dagster definitions."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from pydantic import Field

from audience_pipelines.config import load_config
from audience_pipelines.config.loader import CONFIG_PATH_ENV, DEFAULT_CONFIG_FILE
from audience_pipelines.defs import build_definitions


class AudiencePipelinesComponent(dg.Component, dg.Model, dg.Resolvable):
    """Every audience, destination and sync declared in one ``audiences.yaml``, as Dagster definitions.

    Per audience: a ``snapshot`` and a ``diff`` asset partitioned by its refresh interval, their checks, a
    refresh job and its schedule. Per sync: a materializable destination asset (plan -> list or event sync
    -> record) partitioned like its audience and downstream of its diff, an asset job, and the destination's
    sensor or the sync's own schedule. ``audiences.yaml`` stays the source of truth: it is validated as the
    CLI validates it, and a mistake fails the code location with the CLI's message (file, item, field).

    An instance lives in ``defs.yaml`` under the project's defs folder
    (``audience_pipelines/dg_defs/audiences/defs.yaml``)::

        type: audience_pipelines.components.AudiencePipelinesComponent
        attributes:
          # optional; relative to the project root. Without it: $AUDIENCE_PIPELINES_CONFIG, else
          # audiences.yaml in the project root, the same file the audience-pipelines CLI reads.
          config_file: audiences.yaml

    The warehouse is read from ``$AUDIENCE_PIPELINES_WAREHOUSE_URL`` at run time.
    """

    config_file: str | None = Field(
        default=None,
        description="audiences.yaml, relative to the project root (default: $AUDIENCE_PIPELINES_CONFIG, "
        "else audiences.yaml in the project root)",
    )

    def config_path(self, project_root: Path) -> Path:
        """The configuration file this instance reads."""
        if self.config_file:
            return (project_root / self.config_file).resolve()
        return Path(os.environ.get(CONFIG_PATH_ENV) or project_root / DEFAULT_CONFIG_FILE).resolve()

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return build_definitions(load_config(self.config_path(context.project_root)))
