"""YAML loading that remembers the file and line of every key, with HA's tags."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .const import SECRETS_FILE
from .exceptions import ConfigError

Location = tuple[str, int]


class NodeDict(dict[Any, Any]):
    """A mapping that knows where each of its keys was written."""

    location: Location = ("?", 0)
    key_locations: dict[Any, Location]


class NodeList(list[Any]):
    """A list that knows where each of its items was written."""

    location: Location = ("?", 0)
    item_locations: list[Location]


class YamlError(ConfigError):
    """A YAML file could not be read; the message names file and line."""

    def __init__(self, message: str) -> None:
        super().__init__([message])


# libyaml's parser when PyYAML has it (its wheels do): a 10,000-meter configuration loads several times
# faster and with a fraction of the pure-Python parser's peak memory; marks (file:line) are the same.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """SafeLoader that annotates nodes and resolves our tags."""

    def __init__(self, stream: Any, path: Path, root: Path) -> None:
        super().__init__(stream)
        self.path = path
        self.root = root
        self.display = _display(path, root)


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _where(loader: _Loader, node: yaml.Node) -> Location:
    return (loader.display, node.start_mark.line + 1)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> NodeDict:
    loader.flatten_mapping(node)
    result = NodeDict()
    result.location = _where(loader, node)
    result.key_locations = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise YamlError(f"{loader.display}:{key_node.start_mark.line + 1}: duplicate key {key!r}")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_locations[key] = _where(loader, key_node)
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> NodeList:
    result = NodeList(loader.construct_object(child, deep=True) for child in node.value)
    result.location = _where(loader, node)
    result.item_locations = [_where(loader, child) for child in node.value]
    return result


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as err:
        raise YamlError(f"{loader.display}:{node.start_mark.line + 1}: invalid date {node.value!r}: {err}") from None


def _include(loader: _Loader, node: yaml.Node) -> Any:
    target = loader.path.parent / loader.construct_scalar(node)  # type: ignore[arg-type]
    if not target.is_file():
        raise YamlError(f"{loader.display}:{node.start_mark.line + 1}: included file {target.name} not found")
    return load_yaml(target, loader.root)


def _include_dir_named(loader: _Loader, node: yaml.Node) -> NodeDict:
    folder = loader.path.parent / loader.construct_scalar(node)  # type: ignore[arg-type]
    if not folder.is_dir():
        raise YamlError(f"{loader.display}:{node.start_mark.line + 1}: included folder {folder.name} not found")
    result = NodeDict()
    result.location = _where(loader, node)
    result.key_locations = {}
    for file in sorted(folder.glob("*.yaml")):
        result[file.stem] = load_yaml(file, loader.root)
        result.key_locations[file.stem] = (_display(file, loader.root), 1)
    return result


def _secret(loader: _Loader, node: yaml.Node) -> Any:
    name = loader.construct_scalar(node)  # type: ignore[arg-type]
    where = f"{loader.display}:{node.start_mark.line + 1}"
    secrets_path = loader.root / SECRETS_FILE
    if not secrets_path.is_file():
        raise YamlError(f"{where}: secret {name!r} asked for but {SECRETS_FILE} does not exist")
    secrets = load_yaml(secrets_path, loader.root)
    if not isinstance(secrets, dict) or name not in secrets:
        raise YamlError(f"{where}: secret {name!r} not found in {SECRETS_FILE}")
    return secrets[name]


def _env_var(loader: _Loader, node: yaml.Node) -> Any:
    raw = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    name, _, default = raw.partition(" ")
    value = os.environ.get(name)
    if value is not None:
        return value
    if default:
        return yaml.safe_load(default)
    raise YamlError(f"{loader.display}:{node.start_mark.line + 1}: environment variable {name} is not set")


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_constructor("!include", _include)
_Loader.add_constructor("!include_dir_named", _include_dir_named)
_Loader.add_constructor("!secret", _secret)
_Loader.add_constructor("!env_var", _env_var)


def load_yaml(path: Path, root: Path | None = None) -> Any:
    """Load ``path``; errors name the file (relative to ``root``) and the line."""
    root = root or path.parent
    try:
        with path.open(encoding="utf-8") as stream:
            loader = _Loader(stream, path, root)
            try:
                return loader.get_single_data()
            finally:
                loader.dispose()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else 0
        raise YamlError(f"{_display(path, root)}:{line}: invalid YAML: {err.problem or err}") from None
    except OSError as err:
        raise YamlError(f"{_display(path, root)}: cannot read: {err.strerror}") from None


def find_location(config: Any, path: list[Any]) -> Location | None:
    """Return the deepest known (file, line) along ``path`` into ``config``."""
    found: Location | None = getattr(config, "location", None)
    node = config
    for key in path:
        key = getattr(key, "schema", key)  # vol.Required/Optional markers
        if isinstance(node, NodeDict) and key in node:
            found = node.key_locations.get(key, found)
            node = node[key]
        elif isinstance(node, NodeList) and isinstance(key, int) and 0 <= key < len(node):
            found = node.item_locations[key]
            node = node[key]
        else:
            break
        found = getattr(node, "location", None) if isinstance(node, (NodeDict, NodeList)) and found is None else found
    return found


def value_at(config: Any, path: list[Any]) -> tuple[bool, Any]:
    """Return (found, value) at ``path`` inside ``config``."""
    node = config
    for key in path:
        key = getattr(key, "schema", key)
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            return False, None
    return True, node
