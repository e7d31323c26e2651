"""YAML front matter: metadata for the document, and a span that stays searchable."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

_OPEN = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n")
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
# Front matter is a few hundred bytes of metadata; anything far larger is not.
_MAX_BYTES = 64 * 1024
_MAX_ALIASES = 50


@dataclass(frozen=True)
class FrontMatter:
    start: int  # first character of the YAML body
    end: int  # character after the YAML body (before the closing ---)
    body_start: int  # where the document's body starts
    metadata: dict[str, Any]
    error: str | None = None


def split_front_matter(text: str) -> FrontMatter | None:
    found = _delimiters(text)
    if found is None:
        return None
    opening, closing, body_start = found
    raw = text[opening.end() : closing.start()]
    metadata, error = _parse(raw)
    return FrontMatter(opening.end(), closing.start(), body_start, metadata, error)


def body_start(text: str) -> int:
    """Where the document's body starts (after its front matter, if any), without parsing the YAML."""
    found = _delimiters(text)
    return found[2] if found is not None else 0


def _delimiters(text: str) -> tuple[re.Match, re.Match, int] | None:
    """The opening and closing ``---`` of the front matter, and where the body starts."""
    opening = _OPEN.match(text)
    if not opening:
        return None
    closing = _CLOSE.search(text, opening.end())
    if not closing:
        return None
    start = closing.end()
    if text.startswith("\r\n", start):
        start += 2
    elif text.startswith("\n", start):
        start += 1
    return opening, closing, start


def _parse(raw: str) -> tuple[dict[str, Any], str | None]:
    if len(raw.encode("utf-8", "replace")) > _MAX_BYTES:
        return {}, "front matter larger than 64 KiB ignored as metadata"
    # Aliases are how YAML bombs multiply; real front matter does not need them.
    if raw.count("*") > _MAX_ALIASES and raw.count("&") > 0:
        return {}, "front matter uses too many YAML aliases; ignored as metadata"
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError:
        return _salvage(raw)
    if not isinstance(data, dict):
        return {}, None
    if _too_many_values(data):
        return {}, f"front matter expands to more than {_MAX_VALUES:,} values (YAML aliases?); ignored as metadata"
    return {str(k): v for k, v in data.items()}, None


_MAX_VALUES = 10_000


def _too_many_values(data: Any) -> bool:
    """Aliases share objects, so a few of them can stand for millions of values once the
    metadata is walked or stored. Count (with a budget, so this walk is cheap too)."""
    budget = _MAX_VALUES
    stack = [data]
    while stack:
        value = stack.pop()
        budget -= 1
        if budget < 0:
            return True
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
    return False


def _salvage(raw: str) -> tuple[dict[str, Any], str | None]:
    """Real front matter is often hand-edited and broken in one place; parsing each
    top-level key on its own keeps every key but the broken ones."""
    blocks: list[list[str]] = []
    for line in raw.split("\n"):
        if line and not line[0].isspace() and not line.startswith(("-", "#")):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
    metadata: dict[str, Any] = {}
    broken: list[str] = []
    for block in blocks:
        try:
            data = yaml.safe_load("\n".join(block))
        except yaml.YAMLError:
            data = _mixed_block(block)
            if data is None:
                broken.append(block[0].split(":", 1)[0].strip())
                continue
        if isinstance(data, dict):
            metadata.update({str(k): v for k, v in data.items()})
    if not metadata:
        return {}, "malformed YAML front matter; kept as text only"
    if not broken:  # every key was read
        return metadata, None
    return metadata, f"malformed YAML front matter: key(s) {', '.join(broken)} could not be read; kept as text only"


def _mixed_block(block: list[str]) -> dict[str, Any] | None:
    """A key whose list is followed by more keys at the list's indentation, a common
    hand-edit::

        founders_team:
          - name: "Arthur Mensch"
            role: "CEO"
          team_connection: "Met at École Polytechnique"

    is not YAML; read it as the list under the key and the trailing keys beside it."""
    children = [line for line in block[1:] if line.strip()]
    if not children:
        return None
    indent = min(len(line) - len(line.lstrip()) for line in children)
    items: list[str] = []
    keys: list[str] = []
    current = None
    for line in block[1:]:
        if line.strip() and len(line) - len(line.lstrip()) == indent:
            current = items if line.lstrip().startswith("- ") else keys
        if current is None:
            return None
        current.append(line[indent:] if current is keys else line)
    if not items or not keys:
        return None
    try:
        listed = yaml.safe_load("\n".join([block[0], *items]))
        beside = yaml.safe_load("\n".join(keys))
    except yaml.YAMLError:
        return None
    if not isinstance(listed, dict) or not isinstance(beside, dict):
        return None
    return {**listed, **beside}


def title_from_metadata(metadata: dict[str, Any]) -> str | None:
    for key in ("title", "name"):
        value = metadata.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
