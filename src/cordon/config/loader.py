"""Load a zone file, reporting every problem with the file's line number.

PyYAML composes the document into nodes that remember where they were written; pydantic's error locations
are walked through those nodes to find the line of each problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cordon.config.zone import Loc, ZoneConfig


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a configuration file."""

    path: str  # dotted location, e.g. "cameras[2].site"
    line: int | None  # 1-based line in the file, when known
    message: str

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line is not None else source
        return f"{where}: {self.path or '(document)'}: {self.message}"


class ConfigError(Exception):
    """A configuration file that cannot be used; `issues` lists every problem found."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        super().__init__("\n".join(issue.render(source) for issue in issues))


def load_zone(path: str | Path) -> ZoneConfig:
    """Read and validate a zone file; raise `ConfigError` listing every problem with its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), [ConfigIssue("", None, "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [ConfigIssue("", None, f"cannot read: {exc}")]) from None
    return parse_zone(text, source=str(path))


def parse_zone(text: str, source: str = "<zone>") -> ZoneConfig:
    """Validate a zone file's text; raise `ConfigError` listing every problem with its line."""
    node, data = _compose(text, source)
    problems: list[tuple[Loc, str]] = []
    try:
        zone = ZoneConfig.model_validate(data, context={"reference_problems": problems})
    except ValidationError as exc:
        issues = [
            _issue(node, tuple(error["loc"]), _message(error["msg"], error["type"], error.get("input")))
            for error in exc.errors(include_url=False)
        ]
        raise ConfigError(source, issues) from None
    if problems:
        raise ConfigError(source, [_issue(node, loc, msg) for loc, msg in problems])
    return zone


def _compose(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError(source, [ConfigIssue("", 1, "the file is empty")])
        duplicates = list(_duplicate_keys(node, ()))
        if duplicates:
            raise ConfigError(source, duplicates)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(source, [ConfigIssue("", line, f"YAML syntax: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, [ConfigIssue("", None, f"YAML: {exc}")]) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError(source, [ConfigIssue("", 1, "the file must be a mapping (key: value)")])
    return node, data


def _duplicate_keys(node: yaml.Node, loc: Loc) -> Any:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                yield ConfigIssue(_dotted((*loc, key)), key_node.start_mark.line + 1, "duplicate key")
            seen.add(key)
            yield from _duplicate_keys(value_node, (*loc, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, index))


def _issue(root: yaml.Node | None, loc: Loc, message: str) -> ConfigIssue:
    node, used = _locate(root, loc)
    line = node.start_mark.line + 1 if node is not None else None
    if loc and used[-1:] != loc[-1:] and isinstance(loc[-1], str):
        used = (*used, loc[-1])  # a missing key: name it, at the line of the mapping that lacks it
    return ConfigIssue(_dotted(used), line, message)


def _locate(root: yaml.Node | None, loc: Loc) -> tuple[yaml.Node | None, Loc]:
    """The deepest node on `loc`'s path, and the part of `loc` that led there.

    Parts the document does not hold (a union's tag, a model-level check) are skipped, so the line is
    that of the closest enclosing value.
    """
    node: yaml.Node | None = root
    used: Loc = ()
    for part in loc:
        child = _child(node, part)
        if child is None:
            continue
        node, used = child, (*used, part)
    return node, used


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key_node, value_node in node.value:
            if key_node.value == part:
                return value_node  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]  # type: ignore[no-any-return]
    return None


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _message(msg: str, kind: str, value: Any) -> str:
    if kind == "extra_forbidden":
        return "unknown field (check its spelling; every field is listed in docs/zone-schema.json)"
    if kind == "missing":
        return "required field missing"
    if kind.startswith("union_tag") or kind == "literal_error":
        return f"{msg} (got {value!r})"
    return msg.removeprefix("Value error, ")
