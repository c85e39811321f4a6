"""The code location Dagster loads (see ``workspace.yaml``)."""

from audience_pipelines.config import load_config
from audience_pipelines.defs import build_definitions

defs = build_definitions(load_config())
