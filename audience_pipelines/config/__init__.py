"""Configuration: audiences (and later destinations and syncs) declared in YAML, validated by pydantic."""

from audience_pipelines.config.audiences import Audience, DateRange, DynamicAudience, StaticAudience
from audience_pipelines.config.loader import CONFIG_PATH_ENV, ConfigError, config_path, load_config
from audience_pipelines.config.project import ProjectConfig

__all__ = [
    "CONFIG_PATH_ENV",
    "Audience",
    "ConfigError",
    "DateRange",
    "DynamicAudience",
    "ProjectConfig",
    "StaticAudience",
    "config_path",
    "load_config",
]
