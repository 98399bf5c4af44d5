"""Edit XML parts as text, so that every byte not edited stays as it was.

Re-serialising a part through ElementTree renames namespace prefixes and drops
unused declarations; Excel then rejects ``mc:Ignorable`` lists that name prefixes no
longer declared. So parts are located with expat (which reports byte offsets) and
changed by splicing text into the original bytes.
"""

from __future__ import annotations

import re
import xml.parsers.expat as expat
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_MAIN_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
XML_NS = "http://www.w3.org/XML/1998/namespace"

_START_TAG = re.compile(
    rb"<[^\s/>]+(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*/?>"
)
_NS_DECL = re.compile(rb"\sxmlns(?::([^\s=]+))?\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


@dataclass
class Span:
    """Where one element sits in a part's bytes.

    ``start`` is its ``<``; ``head_end`` follows its start tag; ``close_start`` is
    the ``<`` of its end tag (equal to ``head_end`` for an empty-element tag);
    ``end`` follows the element.
    """

    tag: str
    start: int
    head_end: int
    close_start: int = -1
    end: int = -1
    children: list[Span] = field(default_factory=list)

    @property
    def local(self) -> str:
        """The tag without its namespace."""
        return self.tag.rpartition("}")[2]

    @property
    def self_closing(self) -> bool:
        """Whether the element is written as ``<tag/>``."""
        return self.close_start == self.head_end and self.end == self.head_end

    def child(self, local: str) -> Span | None:
        """Return the first child with local name ``local``."""
        return next((span for span in self.children if span.local == local), None)


class _Refused(Exception):
    """Raised from expat handlers when a part declares a DTD."""


def scan(data: bytes, depth: int = 2) -> Span:
    """Return the spans of the root and its descendants down to ``depth`` levels.

    The caller has already parsed ``data`` with defusedxml; expat is run again only
    for byte offsets, with DTDs refused here too.
    """
    parser = expat.ParserCreate(namespace_separator="}")
    stack: list[Span | None] = []
    found: list[Span] = []

    def start(name: str, attrs: object) -> None:
        level = len(stack)
        if level > depth or (level and stack[-1] is None):
            stack.append(None)
            return
        position = parser.CurrentByteIndex
        head = _START_TAG.match(data, position)
        if head is None:
            raise ValueError(f"cannot read the start tag at byte {position}")
        span = Span(_clark(name), position, head.end())
        if level == 0:
            found.append(span)
        else:
            stack[-1].children.append(span)  # type: ignore[union-attr]
        stack.append(span)

    def end(name: str) -> None:
        span = stack.pop()
        if span is None:
            return
        position = parser.CurrentByteIndex
        if position == span.head_end and data[span.head_end - 2 : span.head_end] == (
            b"/>"
        ):
            span.close_start = span.end = span.head_end
            return
        span.close_start = position
        span.end = data.index(b">", position) + 1

    def refuse(*args: object) -> None:
        raise _Refused("DTD")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.Parse(data, True)
    return found[0]


def _clark(name: str) -> str:
    """Turn expat's ``uri}local`` into ElementTree's ``{uri}local``."""
    return "{" + name if "}" in name else name


def namespaces(tag: bytes) -> dict[str, str]:
    """Return the prefix -> namespace declarations of one start tag ('' = default)."""
    declared = {}
    for match in _NS_DECL.finditer(tag):
        uri = match.group(2) if match.group(2) is not None else match.group(3)
        declared[(match.group(1) or b"").decode()] = uri.decode()
    return declared


def prefixes(tag: bytes) -> dict[str, str]:
    """Return the namespace -> prefix map declared by one start tag ('' = default)."""
    return {uri: prefix for prefix, uri in namespaces(tag).items()}


def get_attr(tag: bytes, name: str) -> str | None:
    """Return the raw (still escaped) value of attribute ``name`` in a start tag."""
    match = _attr_pattern(name).search(tag)
    return None if match is None else match.group(2).decode()[1:-1]


def set_attr(tag: bytes, name: str, value: str) -> bytes:
    """Return start tag ``tag`` with attribute ``name`` set to ``value``."""
    quoted = b'"' + escape_attr(value).encode() + b'"'
    pattern = _attr_pattern(name)
    if pattern.search(tag):
        return pattern.sub(lambda match: match.group(1) + quoted, tag, count=1)
    closing = 2 if tag.endswith(b"/>") else 1
    head = tag[:-closing].rstrip()
    return head + b" " + name.encode() + b"=" + quoted + tag[-closing:]


def split_head(element: bytes) -> tuple[bytes, bytes]:
    """Split an element's text into its start tag and the rest."""
    head = _START_TAG.match(element)
    if head is None:
        raise ValueError("not an element")
    return element[: head.end()], element[head.end() :]


def remove_attr(tag: bytes, name: str) -> bytes:
    """Return start tag ``tag`` without attribute ``name``."""
    return _attr_pattern(name, leading_space=True).sub(b"", tag, count=1)


def _attr_pattern(name: str, leading_space: bool = False) -> re.Pattern[bytes]:
    """Match ``name="value"`` in a start tag (group 2 is the quoted value)."""
    space = rb"\s+" if leading_space else rb"\s"
    return re.compile(
        rb"(" + space + re.escape(name.encode()) + rb"\s*=\s*)(\"[^\"]*\"|'[^']*')"
    )


def apply_edits(data: bytes, edits: Iterable[tuple[int, int, bytes]]) -> bytes:
    """Return ``data`` with each ``(start, end, text)`` range replaced by text."""
    pieces = []
    position = 0
    for start, end, text in sorted(edits, key=lambda edit: (edit[0], edit[1])):
        if start < position:
            raise ValueError("overlapping edits")
        pieces.append(data[position:start])
        pieces.append(text)
        position = end
    pieces.append(data[position:])
    return b"".join(pieces)


def escape_text(text: str) -> str:
    """Escape character data."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attr(text: str) -> str:
    """Escape an attribute value for double quotes (line breaks kept as is)."""
    text = escape_text(text).replace('"', "&quot;")
    return text.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


def serialize(element: Element, context: dict[str, str]) -> bytes:
    """Write ``element`` as text for a part whose root declares ``context``.

    ``context`` maps namespace -> prefix ('' for the default namespace). Namespaces
    the part does not declare are declared on the element that needs them.
    """
    pieces: list[str] = []
    _write(element, dict(context), pieces)
    return "".join(pieces).encode()


def _write(element: Element, context: dict[str, str], pieces: list[str]) -> None:
    """Append one element and its subtree to ``pieces``."""
    declarations: list[str] = []
    tag = _qualify(element.tag, context, declarations, is_attribute=False)
    attributes = [
        f"{_qualify(name, context, declarations, is_attribute=True)}="
        f'"{escape_attr(value)}"'
        for name, value in element.attrib.items()
    ]
    head = " ".join([tag, *declarations, *attributes])
    text = element.text or ""
    if not len(element) and not text:
        pieces.append(f"<{head}/>")
    else:
        pieces.append(f"<{head}>{escape_text(text)}")
        for child in element:
            _write(child, dict(context), pieces)
            pieces.append(escape_text(child.tail or ""))
        pieces.append(f"</{tag}>")


def _qualify(
    name: str, context: dict[str, str], declarations: list[str], is_attribute: bool
) -> str:
    """Return the prefixed form of a Clark name, declaring its namespace if new."""
    if not name.startswith("{"):
        return name
    uri, _, local = name[1:].partition("}")
    if uri == XML_NS:
        return f"xml:{local}"
    prefix = context.get(uri)
    if prefix is None or (is_attribute and prefix == ""):
        prefix = _new_prefix(context)
        context[uri] = prefix
        declarations.append(f'xmlns:{prefix}="{escape_attr(uri)}"')
    return f"{prefix}:{local}" if prefix else local


def _new_prefix(context: dict[str, str]) -> str:
    """Return a prefix not used in ``context``."""
    used = set(context.values())
    number = 1
    while f"x{number}" in used:
        number += 1
    return f"x{number}"


def canonical(element: Element) -> str:
    """Return a key under which equal elements (attribute order aside) match."""
    return repr(_canonical(element))


def _canonical(element: Element) -> tuple[object, ...]:
    """Return the element as nested tuples with sorted attributes."""
    text = element.text if element.text and element.text.strip() else ""
    return (
        element.tag,
        tuple(sorted(element.attrib.items())),
        text,
        tuple(_canonical(child) for child in element),
    )


def is_true(value: str | None) -> bool:
    """Read an xsd:boolean attribute ("1"/"true" and "0"/"false")."""
    return (value or "").strip().lower() in ("1", "true")
