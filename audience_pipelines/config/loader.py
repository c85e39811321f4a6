"""Read ``audiences.yaml`` and turn every problem into a message naming file, item and field."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from audience_pipelines.config.project import ProjectConfig

CONFIG_PATH_ENV = "AUDIENCE_PIPELINES_CONFIG"
DEFAULT_CONFIG_FILE = "audiences.yaml"
_SECTION_ITEM = {"audiences": "audience", "destinations": "destination", "syncs": "sync"}


class ConfigError(Exception):
    """The configuration file is missing or invalid; the message says where and why."""


def config_path() -> Path:
    """The configuration file: ``$AUDIENCE_PIPELINES_CONFIG`` or ``./audiences.yaml``."""
    return Path(os.environ.get(CONFIG_PATH_ENV) or Path.cwd() / DEFAULT_CONFIG_FILE).resolve()


def load_config(path: Path | str | None = None) -> ProjectConfig:
    """Load and validate the configuration, raising :class:`ConfigError` with every problem found."""
    path = Path(path).resolve() if path else config_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found (set {CONFIG_PATH_ENV})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} invalid YAML: {getattr(error, 'problem', error)}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with 'audiences:' at the top level")
    try:
        return ProjectConfig.model_validate(raw)
    except ValidationError as error:
        lines = [_describe(path, raw, e) for e in error.errors(include_url=False, include_input=False)]
        raise ConfigError("\n".join([f"{path}: {len(lines)} configuration error(s)", *lines])) from None


def _describe(path: Path, raw: dict[str, Any], error: Any) -> str:
    """One error as ``file: audience 'x' (item 2): field 'window': message``."""
    loc = list(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if not loc:
        return "\n".join(f"  {path.name}: {line}" for line in message.splitlines())
    section = str(loc.pop(0))
    if section not in _SECTION_ITEM or not loc or not isinstance(loc[0], int):
        return f"  {path.name}: field '{'.'.join(map(str, [section, *loc]))}': {message}"
    index = loc.pop(0)
    item = (raw.get(section) or [None] * (index + 1))[index]
    name = item.get("name") if isinstance(item, dict) else None
    label = f"{_SECTION_ITEM[section]} '{name}' (item {index + 1})" if name else f"{section} item {index + 1}"
    if isinstance(item, dict) and loc and loc[0] == item.get("type"):
        loc.pop(0)  # the discriminator tag pydantic adds for tagged unions
    if error["type"] == "union_tag_invalid" or (error["type"] == "union_tag_not_found" and not loc):
        loc = ["type"]
    field = ".".join(map(str, loc)) or "(item)"
    return f"  {path.name}: {label}: field '{field}': {message}"
