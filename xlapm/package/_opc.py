"""The Open Packaging Conventions layer: relationships, content types, zip output.

Parts are named without the leading slash, as zip members are; OPC compares part
names case-insensitively, so sets of names hold lower-case keys.
"""

from __future__ import annotations

import itertools
import posixpath
import re
import struct
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import quote, unquote
from xml.etree.ElementTree import Element

from xlapm.errors import FileProblem
from xlapm.package._xml import (
    CT_NS,
    PKG_REL_NS,
    Span,
    apply_edits,
    escape_attr,
    get_attr,
    prefixes,
    scan,
    set_attr,
)
from xlapm.package.safety import Package

OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
OFFICE_DOCUMENT = f"{OFFICE_REL}/officeDocument"
STRICT_OFFICE_DOCUMENT = (
    "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument"
)
WORKSHEET = f"{OFFICE_REL}/worksheet"
CHARTSHEET = f"{OFFICE_REL}/chartsheet"
STYLES = f"{OFFICE_REL}/styles"
SHARED_STRINGS = f"{OFFICE_REL}/sharedStrings"
CALC_CHAIN = f"{OFFICE_REL}/calcChain"
THEME = f"{OFFICE_REL}/theme"
SHEET_METADATA = f"{OFFICE_REL}/sheetMetadata"

RELS_TYPE = "application/vnd.openxmlformats-package.relationships+xml"
SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_NUMBERED = re.compile(r"^(.*?)(\d*)(\.[^./]+)$")


@dataclass
class Rel:
    """One relationship; ``part`` is the resolved target for internal ones."""

    rid: str
    type: str
    target: str
    external: bool
    part: str | None

    @property
    def kind(self) -> str:
        """The last word of the relationship type, e.g. ``worksheet``."""
        return self.type.rstrip("/").rpartition("/")[2]


def rels_name(part: str) -> str:
    """Return the relationships part of ``part`` ('' is the package itself)."""
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{base}.rels")


def resolve(source: str, target: str) -> str:
    """Return the part a relative or absolute target of ``source`` points at."""
    target = unquote(target.split("#", 1)[0])
    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/")
    folder = posixpath.dirname(source)
    return posixpath.normpath(posixpath.join(folder, target)).lstrip("/")


def relative(source: str, part: str) -> str:
    """Return the target that points from ``source`` to ``part``."""
    folder = posixpath.dirname(source) or "."
    return quote(posixpath.relpath(part, folder), safe="/!$&'()*+,;=:@-._~")


def read_rels(package: Package, part: str) -> list[Rel]:
    """Return the relationships of ``part`` (none if it has no rels part)."""
    name = package.find(rels_name(part))
    if name is None:
        return []
    return rels_from(package.parse(name), part)


def rels_from(root: Element, part: str) -> list[Rel]:
    """Return the relationships in a parsed rels part of ``part``."""
    result = []
    for element in root.iter(f"{{{PKG_REL_NS}}}Relationship"):
        target = element.get("Target", "")
        external = element.get("TargetMode", "") == "External"
        result.append(
            Rel(
                rid=element.get("Id", ""),
                type=element.get("Type", ""),
                target=target,
                external=external,
                part=None if external else resolve(part, target),
            )
        )
    return result


def render_rels(rels: list[Rel]) -> bytes:
    """Write a relationships part from scratch."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
        f'<Relationships xmlns="{PKG_REL_NS}">',
    ]
    for rel in rels:
        mode = ' TargetMode="External"' if rel.external else ""
        lines.append(
            f'<Relationship Id="{escape_attr(rel.rid)}" '
            f'Type="{escape_attr(rel.type)}" '
            f'Target="{escape_attr(rel.target)}"{mode}/>'
        )
    lines.append("</Relationships>")
    return "".join(lines).encode()


def edit_rels(
    data: bytes,
    remove: set[str],
    retarget: dict[str, str],
    add: list[Rel],
) -> bytes:
    """Edit a relationships part in place: drop ids, change targets, append."""
    root = scan(data, depth=1)
    edits = []
    for span in root.children:
        tag = data[span.start : span.head_end]
        rid = get_attr(tag, "Id")
        if rid in remove:
            edits.append((span.start, span.end, b""))
        elif rid in retarget:
            new_tag = set_attr(tag, "Target", retarget[rid])
            edits.append((span.start, span.head_end, new_tag))
    prefix = prefixes(data[root.start : root.head_end]).get(PKG_REL_NS, "")
    name = f"{prefix}:Relationship" if prefix else "Relationship"
    added = "".join(
        f'<{name} Id="{escape_attr(rel.rid)}" Type="{escape_attr(rel.type)}" '
        f'Target="{escape_attr(rel.target)}"/>'
        for rel in add
    ).encode()
    return _append_children(data, root, edits, added)


def _append_children(
    data: bytes, root: Span, edits: list[tuple[int, int, bytes]], added: bytes
) -> bytes:
    """Apply ``edits`` and put ``added`` at the end of the root element."""
    if added and root.self_closing:
        head = data[root.start : root.head_end - 2].rstrip()
        local = head[1:].split(None, 1)[0]
        edits.append((root.start, root.end, head + b">" + added + b"</" + local + b">"))
    elif added:
        edits.append((root.close_start, root.close_start, added))
    return apply_edits(data, edits)


def free_rid(used: set[str]) -> str:
    """Return a relationship id ``rIdN`` not in ``used`` (and add it)."""
    number = len(used) + 1
    while f"rId{number}" in used:
        number += 1
    used.add(f"rId{number}")
    return f"rId{number}"


def free_part_name(wanted: str, used: set[str]) -> str:
    """Return a part name like ``wanted`` whose lower-case form is not in ``used``.

    ``xl/tables/table1.xml`` becomes ``xl/tables/table4.xml`` when tables 1-3 are
    taken; the name (and its rels part) is added to ``used``.
    """
    match = _NUMBERED.match(wanted)
    stem, extension = (match.group(1), match.group(3)) if match else (wanted, "")
    # A name without a number (xl/sharedStrings.xml) is tried as it is first.
    plain = [wanted] if match is None or not match.group(2) else []
    numbered = (f"{stem}{number}{extension}" for number in itertools.count(1))
    for candidate in itertools.chain(plain, numbered):
        if candidate.lower() not in used and rels_name(candidate).lower() not in used:
            used.add(candidate.lower())
            return candidate
    raise AssertionError("itertools.count never ends")


class ContentTypes:
    """``[Content_Types].xml``: the media type of every part."""

    PART = "[Content_Types].xml"

    def __init__(self, package: Package) -> None:
        name = package.find(self.PART)
        if name is None:
            raise FileProblem(
                f"{package.path.name} is not an Excel workbook: "
                "it has no [Content_Types].xml"
            )
        self.data = package.read(name)
        root = package.parse(name)
        self.defaults = {
            element.get("Extension", "").lower(): element.get("ContentType", "")
            for element in root.iter(f"{{{CT_NS}}}Default")
        }
        self.overrides = {
            element.get("PartName", "").lstrip("/").lower(): element.get(
                "ContentType", ""
            )
            for element in root.iter(f"{{{CT_NS}}}Override")
        }

    def of(self, part: str) -> str | None:
        """Return the content type of ``part``."""
        override = self.overrides.get(part.lower())
        if override is not None:
            return override
        extension = posixpath.splitext(part)[1].lstrip(".").lower()
        return self.defaults.get(extension)

    def needs_override(self, part: str, content_type: str) -> bool:
        """Tell whether ``part`` needs an Override to get ``content_type``."""
        extension = posixpath.splitext(part)[1].lstrip(".").lower()
        return self.defaults.get(extension) != content_type

    def render(self, remove: set[str], add: dict[str, str]) -> bytes:
        """Return the part with Overrides for ``remove`` dropped and ``add`` added.

        Both take part names; a part in both with an unchanged type is left alone.
        """
        unchanged = {
            part.lower()
            for part, kind in add.items()
            if self.overrides.get(part.lower()) == kind
        }
        remove = {part.lower() for part in remove} - unchanged
        add = {
            part: kind for part, kind in add.items() if part.lower() not in unchanged
        }
        # An Override being replaced goes too; its new one is appended.
        dropped = remove | {part.lower() for part in add}
        root = scan(self.data, depth=1)
        edits = []
        for span in root.children:
            if span.local != "Override":
                continue
            tag = self.data[span.start : span.head_end]
            part = (get_attr(tag, "PartName") or "").lstrip("/").lower()
            if part in dropped:
                edits.append((span.start, span.end, b""))
        prefix = prefixes(self.data[root.start : root.head_end]).get(CT_NS, "")
        name = f"{prefix}:Override" if prefix else "Override"
        added = "".join(
            f'<{name} PartName="/{escape_attr(part)}" '
            f'ContentType="{escape_attr(kind)}"/>'
            for part, kind in add.items()
        ).encode()
        return _append_children(self.data, root, edits, added)


class PackageWriter:
    """Writes the output zip: raw copies of untouched members, new bytes for the
    rest.

    A raw copy moves a member's compressed bytes unchanged (no inflate, no
    deflate), which keeps untouched parts bit-identical and costs only I/O.
    ``zipfile`` has no public call for this, so the local header is written with
    ``ZipInfo.FileHeader`` and the entry registered the way ``ZipFile.write`` does.
    """

    def __init__(self, path: Path, compresslevel: int = 1) -> None:
        self.compresslevel = compresslevel
        self.archive = zipfile.ZipFile(
            path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        )
        self._sources: dict[Path, IO[bytes]] = {}

    def close(self) -> None:
        """Write the central directory and close every file."""
        try:
            self.archive.close()
        finally:
            for stream in self._sources.values():
                stream.close()

    def write(
        self, name: str, data: bytes, like: zipfile.ZipInfo | None = None
    ) -> None:
        """Write ``data`` as member ``name``, deflated."""
        info = self._new_info(name, like)
        self.archive.writestr(info, data)

    def stream(self, name: str, large: bool = False) -> IO[bytes]:
        """Return a writable stream for member ``name``, deflated on the fly."""
        return self.archive.open(self._new_info(name, None), "w", force_zip64=large)

    def _new_info(self, name: str, like: zipfile.ZipInfo | None) -> zipfile.ZipInfo:
        """Return a fresh entry, keeping the date of the member it replaces."""
        date = like.date_time if like is not None else time.localtime()[:6]
        info = zipfile.ZipInfo(name, date)
        info.compress_type = zipfile.ZIP_DEFLATED
        # ZipFile applies its own level only to members named by a string; for a
        # ZipInfo the level rides on this attribute (Python 3.10 to 3.13).
        info._compresslevel = self.compresslevel  # type: ignore[attr-defined]
        info.external_attr = like.external_attr if like is not None else 0o600 << 16
        return info

    def copy_raw(self, source: Package, name: str, as_name: str | None = None) -> None:
        """Copy member ``name`` of ``source`` without recompressing it."""
        original = source.info(name)
        offset = self._data_offset(source, original)
        clone = zipfile.ZipInfo(as_name or original.filename, original.date_time)
        clone.compress_type = original.compress_type
        clone.CRC = original.CRC
        clone.compress_size = original.compress_size
        clone.file_size = original.file_size
        clone.external_attr = original.external_attr
        clone.create_system = original.create_system
        archive = self.archive
        clone.header_offset = archive.fp.tell()  # type: ignore[union-attr]
        zip64 = max(clone.file_size, clone.compress_size) > zipfile.ZIP64_LIMIT
        archive.fp.write(clone.FileHeader(zip64))  # type: ignore[union-attr]
        stream = self._source(source)
        stream.seek(offset)
        _copy_exactly(stream, archive.fp, clone.compress_size)  # type: ignore
        archive.filelist.append(clone)
        archive.NameToInfo[clone.filename] = clone
        archive.start_dir = archive.fp.tell()  # type: ignore[union-attr]
        archive._didModify = True  # the flag ZipFile.close checks

    def _source(self, source: Package) -> IO[bytes]:
        """Return an open binary handle on ``source``'s file."""
        if source.path not in self._sources:
            self._sources[source.path] = source.path.open("rb")
        return self._sources[source.path]

    def _data_offset(self, source: Package, info: zipfile.ZipInfo) -> int:
        """Return where the compressed bytes of ``info`` start in its file."""
        stream = self._source(source)
        stream.seek(info.header_offset)
        header = stream.read(_LOCAL_HEADER.size)
        fields = _LOCAL_HEADER.unpack(header)
        if fields[0] != _LOCAL_SIGNATURE:
            raise FileProblem(
                f"{source.path.name} is damaged: bad zip header for {info.filename}"
            )
        name_length, extra_length = fields[-2], fields[-1]
        return info.header_offset + _LOCAL_HEADER.size + name_length + extra_length


def _copy_exactly(source: IO[bytes], target: IO[bytes], size: int) -> None:
    """Copy ``size`` bytes from ``source`` to ``target``."""
    remaining = size
    while remaining:
        chunk = source.read(min(remaining, 1024 * 1024))
        if not chunk:
            raise FileProblem("a zip member ends early")
        target.write(chunk)
        remaining -= len(chunk)
