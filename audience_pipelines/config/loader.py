"""Read ``audiences.yaml`` and turn every problem into a message naming file, item and field."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from audience_pipelines.config.project import ProjectConfig

CONFIG_PATH_ENV = "AUDIENCE_PIPELINES_CONFIG"
DEFAULT_CONFIG_FILE = "audiences.yaml"
MAX_DEPTH = 64
MAX_ALIAS_VALUES = 10_000
_MERGE_TAG = "tag:yaml.org,2002:merge"
_SECTION_ITEM = {"audiences": "audience", "destinations": "destination", "syncs": "sync"}


class ConfigError(Exception):
    """The configuration file is missing or invalid; the message says where and why."""


class ConfigYamlLoader(yaml.SafeLoader):
    """``yaml.safe_load`` semantics, except that repeated keys, deep nesting and alias bombs are errors."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._alias_values = 0
        self._open_anchors: set[str] = set()
        self._sizes: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._check_alias(event)
            return super().compose_node(parent, index)
        if self._depth >= MAX_DEPTH:
            raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        self._depth += 1
        if event.anchor:
            self._open_anchors.add(event.anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open_anchors.discard(event.anchor)

    def _check_alias(self, event: yaml.AliasEvent) -> None:
        """Refuse aliases to an enclosing node, and aliases that together expand past the limits."""
        if event.anchor in self._open_anchors:
            raise ComposerError(None, None, f"alias *{event.anchor} refers to a node containing it", event.start_mark)
        node = self.anchors.get(event.anchor)
        if node is None:
            return  # PyYAML reports the undefined alias
        size, height = self._measure(node)
        self._alias_values += size
        if self._alias_values > MAX_ALIAS_VALUES:
            problem = f"aliases expand to more than {MAX_ALIAS_VALUES:,} values"
            raise ComposerError(None, None, problem, event.start_mark)
        if self._depth + height > MAX_DEPTH:
            raise ComposerError(None, None, f"alias nests deeper than {MAX_DEPTH} levels", event.start_mark)

    def _measure(self, node: yaml.Node) -> tuple[int, int]:
        """How many values a node holds once aliases are expanded, and how deep it nests."""
        if id(node) not in self._sizes:
            if isinstance(node, yaml.MappingNode):
                children = [child for pair in node.value for child in pair]
            elif isinstance(node, yaml.SequenceNode):
                children = node.value
            else:
                children = []
            measured = [self._measure(child) for child in children]
            size = 1 + sum(s for s, _ in measured)
            self._sizes[id(node)] = (size, 1 + max((h for _, h in measured), default=0))
        return self._sizes[id(node)]

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            self._refuse_repeated_keys(node)
        return super().construct_mapping(node, deep=deep)

    def _refuse_repeated_keys(self, node: yaml.MappingNode) -> None:
        """YAML keeps the last of two equal keys silently; here it is an error naming both lines."""
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:
                continue  # an unhashable key: PyYAML reports it
            if first is not key_node.start_mark:
                problem = f"found duplicate key {key!r} (first at line {first.line + 1})"
                raise ConstructorError("while constructing a mapping", node.start_mark, problem, key_node.start_mark)


def config_path() -> Path:
    """The configuration file: ``$AUDIENCE_PIPELINES_CONFIG`` or ``./audiences.yaml``."""
    return Path(os.environ.get(CONFIG_PATH_ENV) or Path.cwd() / DEFAULT_CONFIG_FILE).resolve()


def load_config(path: Path | str | None = None) -> ProjectConfig:
    """Load and validate the configuration, raising :class:`ConfigError` with every problem found."""
    path = Path(path).resolve() if path else config_path()
    raw = parse_yaml(path, read_text(path))
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with 'audiences:' at the top level")
    try:
        return ProjectConfig.model_validate(raw)
    except ValidationError as error:
        lines = [_describe(path, raw, e) for e in error.errors(include_url=False, include_input=False)]
        raise ConfigError("\n".join([f"{path}: {len(lines)} configuration error(s)", *lines])) from None


def read_text(path: Path) -> str:
    """The file's text, or a :class:`ConfigError` saying why it cannot be read as UTF-8."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found (set {CONFIG_PATH_ENV})") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a configuration file (set {CONFIG_PATH_ENV})") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration file: {error.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise ConfigError(
            f"{path}: line {line}, column {column}: not UTF-8 text (byte 0x{data[error.start]:02x}); "
            "save the file as UTF-8"
        ) from None


def parse_yaml(path: Path, text: str) -> Any:
    """``yaml.safe_load`` through :class:`ConfigYamlLoader`, errors as :class:`ConfigError` with the line."""
    try:
        loader = ConfigYamlLoader(text)  # checks for unprintable characters
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}:{_where(error, text)} invalid YAML: {_problem(error)}") from None


def _where(error: yaml.YAMLError, text: str) -> str:
    mark = getattr(error, "problem_mark", None)
    if mark is not None:
        return f" line {mark.line + 1}, column {mark.column + 1}"
    if isinstance(error, yaml.reader.ReaderError):
        return f" line {text.count(chr(10), 0, error.position) + 1}"
    return ""


def _problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.reader.ReaderError) and isinstance(error.character, int):
        return f"unacceptable character #x{error.character:04x}: {error.reason}"
    return str(getattr(error, "problem", None) or error)


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
