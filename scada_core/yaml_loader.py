"""YAML loading that remembers the file and line of every key, with HA's tags."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .const import MAX_INCLUDE_DEPTH, MAX_YAML_DEPTH, SECRETS_FILE
from .exceptions import ConfigError

Location = tuple[str, int]
_COLLECTION_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


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


@dataclass(frozen=True)
class _Site:
    """Where a file was included: the including file's text, the tag's offset in it, and its own site."""

    text: str
    index: int
    parent: _Site | None

    def path(self) -> list[Any]:
        """Return the key path of the include, from configuration.yaml down."""
        return [*(self.parent.path() if self.parent else []), *_path_at(self.text, self.index)]


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """SafeLoader that annotates nodes and resolves our tags."""

    def __init__(
        self, text: str, path: Path, root: Path, chain: tuple[Path, ...], depth: int, site: _Site | None
    ) -> None:
        super().__init__(text)
        self.text = text
        self.path = path
        self.root = root
        self.display = _display(path, root)
        self.chain = (*chain, path.resolve())  # the files being loaded, outermost first (a cycle is refused)
        self.depth = depth  # nesting levels of this file and of the files including it
        self.site = site

    def fail(self, node: yaml.Node, problem: str) -> YamlError:
        """Return the error 'file:line: key -> path: problem' for ``node``."""
        path = [*(self.site.path() if self.site else []), *_path_at(self.text, node.start_mark.index)]
        return _error(self.display, node.start_mark.line + 1, path, problem)


def _error(display: str, line: int, path: list[Any], problem: str) -> YamlError:
    keys = " -> ".join(str(key) for key in path)
    return YamlError(f"{display}:{line}: {keys}: {problem}" if keys else f"{display}:{line}: {problem}")


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
        if isinstance(key, (dict, list)):
            raise loader.fail(key_node, "a key must be a plain value, not a collection")
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


def _load_child(loader: _Loader, node: yaml.Node, target: Path) -> Any:
    """Load a file named at ``node`` (an include or the secrets); refuse a cycle or too long a chain."""
    if target.resolve() in loader.chain:
        cycle = " -> ".join(_display(p, loader.root) for p in (*loader.chain, target.resolve()))
        raise loader.fail(node, f"{_display(target, loader.root)} includes itself ({cycle})")
    if len(loader.chain) >= MAX_INCLUDE_DEPTH:
        raise loader.fail(node, f"includes nested more than {MAX_INCLUDE_DEPTH} files deep")
    site = _Site(loader.text, node.start_mark.index, loader.site)
    return _load(target, loader.root, loader.chain, loader.depth, site)


def _include(loader: _Loader, node: yaml.Node) -> Any:
    target = loader.path.parent / loader.construct_scalar(node)  # type: ignore[arg-type]
    if not target.is_file():
        raise YamlError(f"{loader.display}:{node.start_mark.line + 1}: included file {target.name} not found")
    return _load_child(loader, node, target)


def _include_dir_named(loader: _Loader, node: yaml.Node) -> NodeDict:
    folder = loader.path.parent / loader.construct_scalar(node)  # type: ignore[arg-type]
    if not folder.is_dir():
        raise YamlError(f"{loader.display}:{node.start_mark.line + 1}: included folder {folder.name} not found")
    result = NodeDict()
    result.location = _where(loader, node)
    result.key_locations = {}
    for file in sorted(folder.glob("*.yaml")):
        result[file.stem] = _load_child(loader, node, file)
        result.key_locations[file.stem] = (_display(file, loader.root), 1)
    return result


def _secret(loader: _Loader, node: yaml.Node) -> Any:
    name = loader.construct_scalar(node)  # type: ignore[arg-type]
    where = f"{loader.display}:{node.start_mark.line + 1}"
    secrets_path = loader.root / SECRETS_FILE
    if not secrets_path.is_file():
        raise YamlError(f"{where}: secret {name!r} asked for but {SECRETS_FILE} does not exist")
    secrets = _load_child(loader, node, secrets_path)
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
        try:
            return yaml.safe_load(default)
        except (yaml.YAMLError, RecursionError):  # the pure-Python parser recurses per nesting level
            problem = f"the default of !env_var {name} is not a plain YAML value ({default[:40]!r})"
            raise loader.fail(node, problem) from None
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
    return _load(path, root or path.parent, (), 0, None)


def _path_at(text: str, index: int) -> list[Any]:
    """Return the key path of the node starting at character ``index`` of ``text`` (or the last one before).

    Only run to explain a mistake: it walks the parser's events, so it works on a document that fails later.
    """
    parser = _BaseLoader(text)
    frames: list[list[Any]] = []  # per open collection: [key or index now, is a mapping, next is a key]
    path: list[Any] = []
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, _COLLECTION_END):
                frames.pop()
                continue
            if not isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, *_COLLECTION_START)):
                continue
            if event.start_mark.index > index:
                break
            if frames:
                frame = frames[-1]
                if not frame[1]:
                    frame[0] += 1
                elif frame[2]:
                    frame[0] = event.value if isinstance(event, yaml.ScalarEvent) else "?"
                frame[2] = frame[1] and not frame[2]
            path = [frame[0] for frame in frames]
            if isinstance(event, _COLLECTION_START):
                mapping = isinstance(event, yaml.MappingStartEvent)
                frames.append([None if mapping else -1, mapping, True])
    except yaml.YAMLError:
        pass
    finally:
        parser.dispose()
    return path


def _decode(data: bytes, display: str, site: _Site | None) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        good = data[: err.start].decode("utf-8")
        text = data.decode("utf-8", errors="replace")
        path = [*(site.path() if site else []), *_path_at(text, len(good))]
        problem = f"not UTF-8 text (byte 0x{data[err.start]:02x}); save the file as UTF-8"
        raise _error(display, good.count("\n") + 1, path, problem) from None


def _nesting(text: str, display: str, depth: int, site: _Site | None) -> int:
    """Return how deep ``text`` nests; refuse over MAX_YAML_DEPTH levels or an alias inside its own anchor.

    Checked on the parser's events before any node is built: libyaml's composer recurses in C, and a document
    nested many thousand levels deep would overflow its stack.
    """
    parser = _BaseLoader(text)
    level = deepest = 0
    anchors: list[str | None] = []  # the anchors of the collections now open
    problem = None
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, _COLLECTION_START):
                level += 1
                deepest = max(deepest, level)
                anchors.append(event.anchor)
                if depth + level > MAX_YAML_DEPTH:
                    problem = f"nested more than {MAX_YAML_DEPTH} levels deep"
                    break
            elif isinstance(event, _COLLECTION_END):
                level -= 1
                anchors.pop()
            elif isinstance(event, yaml.AliasEvent) and event.anchor in anchors:
                problem = f"alias *{event.anchor} is inside its own anchor (a collection cannot hold itself)"
                break
    finally:
        parser.dispose()
    if problem is not None:
        path = [*(site.path() if site else []), *_path_at(text, event.start_mark.index)]
        raise _error(display, event.start_mark.line + 1, path, problem)
    return deepest


def _load(path: Path, root: Path, chain: tuple[Path, ...], depth: int, site: _Site | None) -> Any:
    display = _display(path, root)
    text = ""
    try:
        text = _decode(path.read_bytes(), display, site)
        deepest = _nesting(text, display, depth, site)
        loader = _Loader(text, path, root, chain, depth + deepest, site)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else 0
        raise YamlError(f"{display}:{line}: invalid YAML: {err.problem or err}") from None
    except yaml.reader.ReaderError as err:
        line = text[: err.position].count("\n") + 1
        raise YamlError(f"{display}:{line}: invalid YAML: {err.reason}") from None
    except OSError as err:
        raise YamlError(f"{display}: cannot read: {err.strerror}") from None


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


def describe(config: Any, path: list[Any], message: str) -> str:
    """Return 'file:line: key -> path: message' for a mistake at ``path`` inside ``config``."""
    location = find_location(config, path)
    where = f"{location[0]}:{location[1]}: " if location else ""
    keys = " -> ".join(str(getattr(p, "schema", p)) for p in path)
    return f"{where}{keys}: {message}" if keys else f"{where}{message}"


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
