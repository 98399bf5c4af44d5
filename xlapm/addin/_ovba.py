"""The VBA project of the add-in: read xlwings' project, write it back from source.

MS-OVBA keeps each module's source compressed in its own stream, after an
optional compiled "performance cache" (p-code). The cache depends on the VBA
version that wrote it, and ``_VBA_PROJECT`` says which version that was. This
module writes projects the way the specification asks writers to (and the way
EPPlus, LibreOffice and xlwings' own templates do): ``_VBA_PROJECT`` with version
0xFFFF and no cache, every module stream holding only compressed source, and
every module's text offset at 0. Excel then finds no cache it can use and
compiles the project from source when it opens the add-in.
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass, replace

import olefile

from xlapm.addin._cfb import write_compound_file
from xlapm.errors import FileProblem

_CHUNK = 4096
_MAX_CANDIDATES = 64

# MS-OVBA 2.3.4.1: Reserved1, Version 0xFFFF (no usable cache), Reserved2/3.
_VBA_PROJECT_STREAM = b"\xcc\x61\xff\xff\x00\x01\x00"

_PROJECT_NAME = 0x0004
_PROJECT_VERSION = 0x0009
_PROJECT_MODULES = 0x000F
_PROJECT_COOKIE = 0x0013
_DIR_TERMINATOR = 0x0010
_MODULE_NAME = 0x0019
_MODULE_NAME_UNICODE = 0x0047
_MODULE_STREAM_NAME = 0x001A
_MODULE_STREAM_NAME_UNICODE = 0x0032
_MODULE_DOCSTRING = 0x001C
_MODULE_DOCSTRING_UNICODE = 0x0048
_MODULE_OFFSET = 0x0031
_MODULE_HELP_CONTEXT = 0x001E
_MODULE_COOKIE = 0x002C
_MODULE_PROCEDURAL = 0x0021
_MODULE_NON_PROCEDURAL = 0x0022
_MODULE_READ_ONLY = 0x0025
_MODULE_PRIVATE = 0x0028
_MODULE_TERMINATOR = 0x002B

STANDARD = "Module"
CLASS = "Class"
DOCUMENT = "Document"


@dataclass(frozen=True)
class VbaModule:
    """One module: its name, kind (``Module``, ``Class``, ``Document``), source.

    ``source`` is the text exactly as the module stream stores it, in the
    project's code page with CRLF line ends, ``Attribute`` lines included.
    """

    name: str
    kind: str
    source: bytes
    docstring: bytes = b""
    read_only: bool = False
    private: bool = False


@dataclass(frozen=True)
class VbaProject:
    """What the add-in build needs of a VBA project to write it again."""

    name: str
    codepage: str
    information: bytes
    project_lines: tuple[str, ...]
    modules: tuple[VbaModule, ...]

    def module(self, name: str) -> VbaModule:
        """Return the module called ``name``."""
        for module in self.modules:
            if module.name == name:
                return module
        raise FileProblem(f"The VBA project has no module {name!r}.")


def compress(data: bytes) -> bytes:
    """Compress ``data`` into an MS-OVBA CompressedContainer (section 2.4.1)."""
    starts = range(0, len(data), _CHUNK)
    return b"\x01" + b"".join(_compress_chunk(data[i : i + _CHUNK]) for i in starts)


def _compress_chunk(chunk: bytes) -> bytes:
    """Encode one chunk of at most 4096 bytes as literal and copy tokens."""
    body = bytearray()
    seen: dict[bytes, list[int]] = {}
    position = 0
    while position < len(chunk):
        flag_at = len(body)
        body.append(0)
        for bit in range(8):
            if position >= len(chunk):
                break
            offset, length = _longest_match(chunk, position, seen)
            if length >= 3:
                body += _copy_token(position, offset, length)
                body[flag_at] |= 1 << bit
            else:
                body.append(chunk[position])
                length = 1
            for taken in range(position, position + length):
                seen.setdefault(chunk[taken : taken + 3], []).append(taken)
            position += length

    # A chunk that does not shrink would have to be stored raw; Excel is
    # reported to drop modules written that way, and VBA text always shrinks.
    if len(body) > _CHUNK:
        raise FileProblem("A VBA module could not be compressed for Excel.")
    header = 0xB000 | (len(body) - 1)
    return struct.pack("<H", header) + bytes(body)


def _longest_match(
    chunk: bytes, position: int, seen: dict[bytes, list[int]]
) -> tuple[int, int]:
    """Return (offset, length) of the nearest longest earlier match (2.4.1.3.19.3).

    Only the 64 nearest earlier places that start with the same three bytes
    are tried, which keeps long runs of spaces fast; any match is valid.
    """
    limit = min(_max_length(position), len(chunk) - position)
    best_length, best_start = 0, position
    candidates = seen.get(chunk[position : position + 3], [])[-_MAX_CANDIDATES:]
    for start in reversed(candidates):
        length = 0
        while length < limit and chunk[start + length] == chunk[position + length]:
            length += 1
        if length > best_length:
            best_length, best_start = length, start
            if length == limit:
                break
    return position - best_start, best_length


def _bit_count(position: int) -> int:
    # 2.4.1.3.19.1: the offset field grows with the distance into the chunk.
    return max((position - 1).bit_length(), 4)


def _max_length(position: int) -> int:
    return (0xFFFF >> _bit_count(position)) + 3


def _copy_token(position: int, offset: int, length: int) -> bytes:
    bits = _bit_count(position)
    return struct.pack("<H", ((offset - 1) << (16 - bits)) | (length - 3))


def decompress(container: bytes) -> bytes:
    """Decompress an MS-OVBA CompressedContainer (section 2.4.1.3.1)."""
    if not container or container[0] != 1:
        raise FileProblem("A VBA stream is not in the MS-OVBA compressed format.")
    out = bytearray()
    position = 1
    while position < len(container):
        (header,) = struct.unpack_from("<H", container, position)
        end = min(position + (header & 0x0FFF) + 3, len(container))
        position += 2
        start = len(out)
        if not header & 0x8000:
            out += container[position : position + _CHUNK]
            position += _CHUNK
            continue
        while position < end:
            flags = container[position]
            position += 1
            for bit in range(8):
                if position >= end:
                    break
                if not flags & (1 << bit):
                    out.append(container[position])
                    position += 1
                    continue
                (token,) = struct.unpack_from("<H", container, position)
                position += 2
                bits = _bit_count(len(out) - start)
                offset = (token >> (16 - bits)) + 1
                for _ in range((token & (0xFFFF >> bits)) + 3):
                    out.append(out[-offset])
    return bytes(out)


def read_project(vba_bin: bytes) -> VbaProject:
    """Read the modules and project settings out of a ``vbaProject.bin``."""
    ole = olefile.OleFileIO(io.BytesIO(vba_bin))
    try:
        records = _records(decompress(ole.openstream("VBA/dir").read()))
        project_text = ole.openstream("PROJECT").read()
        information, module_records = _split_modules(records)
        codepage = _codepage(information)
        kinds = _kinds(project_text.decode(codepage))
        modules = tuple(
            _read_module(ole, fields, kinds, codepage) for fields in module_records
        )
    finally:
        ole.close()

    name = _field(information, _PROJECT_NAME).decode(codepage)
    lines = tuple(project_text.decode(codepage).split("\r\n"))
    return VbaProject(name, codepage, _join(information), lines, modules)


def _records(data: bytes) -> list[tuple[int, bytes]]:
    """Split a decompressed ``dir`` stream into (id, payload) records."""
    records = []
    position = 0
    while position < len(data):
        record_id, size = struct.unpack_from("<HI", data, position)
        position += 6
        # 2.3.4.2.1.11 PROJECTVERSION: its size field says 4, yet 6 bytes follow.
        if record_id == _PROJECT_VERSION:
            size = 6
        records.append((record_id, data[position : position + size]))
        position += size
    return records


def _split_modules(
    records: list[tuple[int, bytes]],
) -> tuple[list[tuple[int, bytes]], list[dict[int, bytes]]]:
    at = next(i for i, (rid, _) in enumerate(records) if rid == _PROJECT_MODULES)
    modules: list[dict[int, bytes]] = []
    for record_id, payload in records[at + 2 :]:
        if record_id == _MODULE_NAME:
            modules.append({})
        if record_id not in (_MODULE_TERMINATOR, _DIR_TERMINATOR):
            modules[-1][record_id] = payload
    return records[:at], modules


def _join(records: list[tuple[int, bytes]]) -> bytes:
    out = bytearray()
    for record_id, payload in records:
        size = 4 if record_id == _PROJECT_VERSION else len(payload)
        out += struct.pack("<HI", record_id, size) + payload
    return bytes(out)


def _field(records: list[tuple[int, bytes]], wanted: int) -> bytes:
    return next(payload for record_id, payload in records if record_id == wanted)


def _codepage(information: list[tuple[int, bytes]]) -> str:
    (number,) = struct.unpack("<H", _field(information, 0x0003))
    return f"cp{number}"


def _kinds(project_text: str) -> dict[str, str]:
    kinds = {}
    for line in project_text.split("\r\n"):
        key, _, value = line.partition("=")
        if key in (STANDARD, CLASS, DOCUMENT):
            kinds[value.split("/")[0]] = key
    return kinds


def _read_module(
    ole: olefile.OleFileIO,
    fields: dict[int, bytes],
    kinds: dict[str, str],
    codepage: str,
) -> VbaModule:
    name = fields[_MODULE_NAME].decode(codepage)
    stream = fields[_MODULE_STREAM_NAME].decode(codepage)
    (offset,) = struct.unpack("<I", fields[_MODULE_OFFSET])
    source = decompress(ole.openstream(f"VBA/{stream}").read()[offset:])
    return VbaModule(
        name=name,
        kind=kinds.get(name, STANDARD),
        source=source,
        docstring=fields.get(_MODULE_DOCSTRING, b""),
        read_only=_MODULE_READ_ONLY in fields,
        private=_MODULE_PRIVATE in fields,
    )


def renamed(project: VbaProject, name: str) -> VbaProject:
    """Return ``project`` with a new project name (the one the VBA editor shows)."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,127}", name):
        raise FileProblem(f"{name!r} is not a valid VBA project name.")
    records = _records(project.information)
    records = [(i, name.encode() if i == _PROJECT_NAME else p) for i, p in records]
    lines = tuple(
        f'Name="{name}"' if line.startswith("Name=") else line
        for line in project.project_lines
    )
    return replace(project, name=name, information=_join(records), project_lines=lines)


def write_project(project: VbaProject) -> bytes:
    """Return ``vbaProject.bin`` bytes for ``project``, with no compiled cache."""
    streams = {
        "PROJECT": _project_stream(project),
        "PROJECTwm": _name_map(project),
        "VBA/_VBA_PROJECT": _VBA_PROJECT_STREAM,
        "VBA/dir": compress(_dir_stream(project)),
    }
    for module in project.modules:
        streams[f"VBA/{module.name}"] = compress(module.source)
    return write_compound_file(streams)


def _dir_stream(project: VbaProject) -> bytes:
    out = bytearray(project.information)
    out += struct.pack("<HIH", _PROJECT_MODULES, 2, len(project.modules))
    # 2.3.4.2.3: cookies are ignored on read and written as 0xFFFF.
    out += struct.pack("<HIH", _PROJECT_COOKIE, 2, 0xFFFF)
    for module in project.modules:
        out += _module_record(module, project.codepage)
    out += struct.pack("<HI", _DIR_TERMINATOR, 0)
    return bytes(out)


def _module_record(module: VbaModule, codepage: str) -> bytes:
    name = module.name.encode(codepage)
    wide = module.name.encode("utf-16-le")
    docstring = module.docstring.decode(codepage).encode("utf-16-le")
    kind = _MODULE_PROCEDURAL if module.kind == STANDARD else _MODULE_NON_PROCEDURAL
    parts = [
        (_MODULE_NAME, name),
        (_MODULE_NAME_UNICODE, wide),
        (_MODULE_STREAM_NAME, name),
        (_MODULE_STREAM_NAME_UNICODE, wide),
        (_MODULE_DOCSTRING, module.docstring),
        (_MODULE_DOCSTRING_UNICODE, docstring),
        (_MODULE_OFFSET, struct.pack("<I", 0)),
        (_MODULE_HELP_CONTEXT, struct.pack("<I", 0)),
        (_MODULE_COOKIE, struct.pack("<H", 0xFFFF)),
        (kind, b""),
    ]
    if module.read_only:
        parts.append((_MODULE_READ_ONLY, b""))
    if module.private:
        parts.append((_MODULE_PRIVATE, b""))
    parts.append((_MODULE_TERMINATOR, b""))
    return _join(parts)


def _project_stream(project: VbaProject) -> bytes:
    """The PROJECT stream: the template's settings with this module list."""
    lines = [line for line in project.project_lines if not _is_module_line(line)]
    workspace = lines.index("[Workspace]") if "[Workspace]" in lines else len(lines)
    lines = lines[:workspace]
    while lines and not lines[-1]:
        lines.pop()

    # The module list comes right after the project ID (MS-OVBA 2.3.1.1).
    after_id = next(i for i, line in enumerate(lines) if line.startswith("ID=")) + 1
    lines[after_id:after_id] = [_declaration(module) for module in project.modules]
    lines += ["", "[Workspace]"]
    lines += [f"{module.name}=0, 0, 0, 0, C" for module in project.modules]
    return ("\r\n".join(lines) + "\r\n").encode(project.codepage)


def _is_module_line(line: str) -> bool:
    return line.partition("=")[0] in (STANDARD, CLASS, DOCUMENT, "Package", "BaseClass")


def _declaration(module: VbaModule) -> str:
    if module.kind == DOCUMENT:
        return f"Document={module.name}/&H00000000"
    return f"{module.kind}={module.name}"


def _name_map(project: VbaProject) -> bytes:
    # 2.3.3 PROJECTwm: each module name in the code page, then in UTF-16.
    out = bytearray()
    for module in project.modules:
        out += module.name.encode(project.codepage) + b"\x00"
        out += module.name.encode("utf-16-le") + b"\x00\x00"
    return bytes(out + b"\x00\x00")
