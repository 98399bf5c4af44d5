"""Open a workbook's zip package only if it is safe to read.

A workbook comes from anywhere (an e-mail, a CRM export), so before xlapm reads a
byte of XML it refuses: files that are not zip packages, encrypted workbooks, zip
bombs, and XML carrying a DTD (the door to entity expansion and external entities;
OOXML parts never need one). Every refusal is an ``UnsafeWorkbook`` whose one-line
message names the file.
"""

from __future__ import annotations

import logging
import posixpath
import zipfile
import zlib
from pathlib import Path
from types import TracebackType
from typing import IO
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from xlapm.errors import FileProblem, UnsafeWorkbook

log = logging.getLogger(__name__)

MAX_TOTAL_UNCOMPRESSED = 2 * 1024**3
MAX_RATIO = 200
RATIO_MIN_SIZE = 50 * 1024**2

# How far into a part the root element must start; real parts start it at once.
MAX_PROLOG = 64 * 1024

# An encrypted .xlsx is not a zip at all but an OLE compound file holding the
# encrypted package; old binary .xls files share the same signature.
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_ZIP_ENCRYPTED_FLAG = 0x1
_NOT_A_WORKBOOK_HINT = (
    "Rebuild works on .xlsx and .xlsm workbooks; for a CSV export, run "
    "'xlapm build FILE' instead."
)


class Package:
    """A zip package that passed the safety checks, opened read-only.

    Part names in OPC are case-insensitive, so lookups go through ``find``.
    """

    def __init__(self, path: Path, archive: zipfile.ZipFile) -> None:
        self.path = path
        self.archive = archive
        self.infos = archive.infolist()
        self._by_key = {info.filename.lower(): info for info in self.infos}

    def __enter__(self) -> Package:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the zip file."""
        self.archive.close()

    @property
    def names(self) -> list[str]:
        """Member names in the order they are stored."""
        return [info.filename for info in self.infos]

    def find(self, name: str) -> str | None:
        """Return the stored spelling of part ``name``, or None if absent."""
        info = self._by_key.get(name.lstrip("/").lower())
        return None if info is None else info.filename

    def info(self, name: str) -> zipfile.ZipInfo:
        """Return the zip entry of part ``name``."""
        return self._by_key[name.lstrip("/").lower()]

    def read(self, name: str) -> bytes:
        """Return the bytes of part ``name``."""
        try:
            return self.archive.read(self.info(name))
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise UnsafeWorkbook(
                f"{self.path.name} is damaged: part {name} cannot be read ({error})"
            ) from error

    def open(self, name: str) -> IO[bytes]:
        """Return a stream over the bytes of part ``name``."""
        return self.archive.open(self.info(name))

    def parse(self, name: str) -> Element:
        """Return part ``name`` parsed as XML, refusing DTDs and entities."""
        return parse_xml(self.read(name), name, self.path)


def open_package(path: Path) -> Package:
    """Open ``path`` as a zip package after the safety checks.

    Args:
        path: the workbook file.

    Returns:
        An open ``Package``; close it (or use it as a context manager).

    Raises:
        FileProblem: the file does not exist or cannot be read.
        UnsafeWorkbook: the file is not a zip package, is encrypted, is a zip bomb,
            or holds XML with a DTD.
    """
    path = Path(path)
    _check_signature(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise UnsafeWorkbook(
            f"{path.name} is not an Excel workbook: it is not a zip package ({error})",
            hint=_NOT_A_WORKBOOK_HINT,
        ) from error
    package = Package(path, archive)
    try:
        _check_members(package)
        _check_prologs(package)
    except BaseException:
        archive.close()
        raise
    return package


def _check_signature(path: Path) -> None:
    """Refuse a missing file, an encrypted workbook or anything not a zip."""
    try:
        with path.open("rb") as stream:
            head = stream.read(len(_OLE_SIGNATURE))
    except FileNotFoundError as error:
        raise FileProblem(f"{path.name} does not exist ({path})") from error
    except OSError as error:
        raise FileProblem(f"{path.name} cannot be read: {error}") from error
    if head == _OLE_SIGNATURE:
        raise UnsafeWorkbook(
            f"{path.name} is password-protected (encrypted) or an old binary .xls; "
            "xlapm opens only unencrypted .xlsx and .xlsm workbooks",
            hint="Remove the password (File > Info > Protect Workbook) and save "
            "as .xlsx.",
        )
    if not zipfile.is_zipfile(path):
        raise UnsafeWorkbook(
            f"{path.name} is not an Excel workbook: it is not a zip package",
            hint=_NOT_A_WORKBOOK_HINT,
        )


def _check_members(package: Package) -> None:
    """Refuse encrypted members, odd member names and zip bombs."""
    name = package.path.name
    total = 0
    seen: set[str] = set()
    for info in package.infos:
        if info.flag_bits & _ZIP_ENCRYPTED_FLAG:
            raise UnsafeWorkbook(f"{name} has encrypted parts ({info.filename})")
        _check_member_name(info.filename, seen, name)
        total += info.file_size
        if _is_bomb_member(info):
            raise UnsafeWorkbook(
                f"{name} looks like a zip bomb: part {info.filename} expands "
                f"{info.file_size // max(info.compress_size, 1)} times to "
                f"{info.file_size:,} bytes"
            )
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise UnsafeWorkbook(
            f"{name} looks like a zip bomb: it expands to {total:,} bytes, "
            f"more than {MAX_TOTAL_UNCOMPRESSED:,}"
        )


def _is_bomb_member(info: zipfile.ZipInfo) -> bool:
    """Tell whether one member expands suspiciously far."""
    ratio = info.file_size / max(info.compress_size, 1)
    return ratio > MAX_RATIO and info.file_size > RATIO_MIN_SIZE


def _check_member_name(member: str, seen: set[str], name: str) -> None:
    """Refuse duplicate names (two readers could see two different parts) and
    names that climb out of the package."""
    key = member.lower()
    if key in seen:
        raise UnsafeWorkbook(f"{name} holds the part {member} twice")
    seen.add(key)
    parts = posixpath.normpath(member).split("/")
    if member.startswith("/") or ".." in parts or "\\" in member:
        raise UnsafeWorkbook(f"{name} has a part with an unsafe name: {member!r}")


def _check_prologs(package: Package) -> None:
    """Refuse any XML member whose prolog declares a DTD.

    A DTD can only stand before the root element, so reading up to the root start
    tag is enough to rule out entity declarations in the whole part, without
    inflating large sheets.
    """
    for info in package.infos:
        if info.is_dir() or info.file_size == 0:
            continue
        try:
            head = _read_prolog(package, info)
        except (zipfile.BadZipFile, NotImplementedError, OSError, zlib.error) as error:
            raise UnsafeWorkbook(
                f"{package.path.name} is damaged: part {info.filename} cannot be "
                f"read ({error})"
            ) from error
        if head is not None:
            check_prolog(head, info.filename, package.path)


def _read_prolog(package: Package, info: zipfile.ZipInfo) -> bytes | None:
    """Return the start of an XML member up to its root tag (None if not XML)."""
    with package.archive.open(info) as stream:
        head = stream.read(4096)
        if not _decode_head(head).lstrip().startswith(b"<"):
            return None
        while _scan_prolog(head) == _MORE and len(head) <= MAX_PROLOG:
            more = stream.read(4096)
            if not more:
                break
            head += more
    return head


def check_prolog(head: bytes, part: str, path: Path) -> None:
    """Raise ``UnsafeWorkbook`` if the start of part ``part`` declares a DTD.

    Args:
        head: the first bytes of the part, up to at least its root start tag.
        part: the part name, for the message.
        path: the workbook, for the message.
    """
    verdict = _scan_prolog(head)
    if verdict == _DTD:
        raise UnsafeWorkbook(
            f"{path.name} is unsafe: part {part} declares a DTD "
            "(XML entities are refused)"
        )
    if verdict == _MORE and len(head) > MAX_PROLOG:
        raise UnsafeWorkbook(
            f"{path.name} is unsafe: part {part} does not start its XML content"
        )


_MORE, _ROOT, _DTD = "more", "root", "dtd"


def _scan_prolog(head: bytes) -> str:
    """Walk the prolog: declaration, comments and PIs, up to the root start tag.

    Returns ``_ROOT`` once the root element starts, ``_DTD`` on a ``<!DOCTYPE``
    (or any other ``<!`` markup, which has no place before the root), and ``_MORE``
    when ``head`` ends inside the prolog.
    """
    text = _decode_head(head)
    position = 0
    while True:
        while position < len(text) and text[position : position + 1].isspace():
            position += 1
        rest = text[position:]
        if not rest:
            return _MORE
        if rest.startswith(b"<?") or rest.startswith(b"<!--"):
            closing = b"?>" if rest.startswith(b"<?") else b"-->"
            end = rest.find(closing, 2)
            if end < 0:
                return _MORE
            position += end + len(closing)
            continue
        if rest.startswith(b"<!"):
            return _DTD
        # Anything else is the root start tag, or text a parser will refuse.
        return _ROOT


def _decode_head(head: bytes) -> bytes:
    """Return the start of a part as ASCII-compatible bytes."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be"
        usable = head[2 : 2 + (len(head) - 2) // 2 * 2]
        return usable.decode(encoding, "replace").encode("utf-8", "replace")
    return head.removeprefix(b"\xef\xbb\xbf")


def parse_xml(data: bytes, part: str, path: Path) -> Element:
    """Parse one part with defusedxml, refusing DTDs, entities and external refs.

    Args:
        data: the part's bytes.
        part: the part name, for messages.
        path: the workbook, for messages.

    Returns:
        The root element.
    """
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as error:
        raise UnsafeWorkbook(
            f"{path.name} is unsafe: part {part} uses a DTD or XML entities"
        ) from error
    except ParseError as error:
        raise FileProblem(
            f"{path.name} is damaged: part {part} is not well-formed XML ({error})"
        ) from error
