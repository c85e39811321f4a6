"""Configuration: audiences, destinations and syncs declared in YAML, validated by pydantic."""

from audience_pipelines.config.audiences import Audience, DateRange, DynamicAudience, StaticAudience
from audience_pipelines.config.destinations import MissingSecretError, read_env
from audience_pipelines.config.loader import CONFIG_PATH_ENV, ConfigError, config_path, load_config
from audience_pipelines.config.project import ProjectConfig
from audience_pipelines.config.syncs import FOLLOW, MANUAL, ListTargetConfig, SyncConfig

__all__ = [
    "CONFIG_PATH_ENV",
    "FOLLOW",
    "MANUAL",
    "Audience",
    "ConfigError",
    "DateRange",
    "DynamicAudience",
    "ListTargetConfig",
    "MissingSecretError",
    "ProjectConfig",
    "StaticAudience",
    "SyncConfig",
    "config_path",
    "load_config",
    "read_env",
]
