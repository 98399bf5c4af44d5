"""Write a Compound File Binary (MS-CFB, version 3) holding a few small streams.

``vbaProject.bin`` is a compound file: a little FAT file system in one file. The
add-in build rewrites every stream of the VBA project, and streams change size,
which olefile cannot write, so this module lays out a fresh file. It is a writer
for what a VBA project needs and no more: 512-byte sectors, no DIFAT sectors
(at most 109 FAT sectors, about 7 MB), and storages with streams in them. Every
timestamp and CLSID is zero so the same streams always give the same bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from xlapm.errors import FileProblem

_SECTOR = 512
_MINI_SECTOR = 64
_MINI_CUTOFF = 4096
_ENTRY = 128

_FREE = 0xFFFFFFFF
_END_OF_CHAIN = 0xFFFFFFFE
_FAT_SECTOR = 0xFFFFFFFD
_NO_STREAM = 0xFFFFFFFF

_STORAGE = 1
_STREAM = 2
_ROOT = 5
_RED = 0
_BLACK = 1

_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
_MAX_HEADER_FAT = 109


@dataclass
class _Entry:
    """One directory entry: the root, a storage or a stream."""

    name: str
    kind: int
    data: bytes = b""
    children: dict[str, _Entry] = field(default_factory=dict)
    sid: int = 0
    left: int = _NO_STREAM
    right: int = _NO_STREAM
    child: int = _NO_STREAM
    color: int = _BLACK
    start: int = _END_OF_CHAIN


def write_compound_file(streams: dict[str, bytes]) -> bytes:
    """Return a compound file that holds ``streams``.

    Args:
        streams: stream contents keyed by path, storages separated by ``/``
            (``"VBA/dir"`` is the stream ``dir`` in the storage ``VBA``).

    Returns:
        The bytes of the compound file.
    """
    root = _tree(streams)
    entries = _number(root)

    mini_stream, mini_fat = _place_mini_streams(entries)
    layout = _Layout(entries, mini_stream, mini_fat)
    return layout.render()


def _tree(streams: dict[str, bytes]) -> _Entry:
    root = _Entry("Root Entry", _ROOT)
    for path, data in sorted(streams.items()):
        *storages, name = path.split("/")
        parent = root
        for storage in storages:
            parent = parent.children.setdefault(
                _checked(storage), _Entry(storage, _STORAGE)
            )
        parent.children[_checked(name)] = _Entry(name, _STREAM, data)
    return root


def _checked(name: str) -> str:
    # MS-CFB 2.6.1: 31 UTF-16 characters at most, and these four are reserved.
    if not name or len(name) > 31 or any(c in name for c in "/\\:!"):
        raise FileProblem(f"{name!r} cannot name a stream inside vbaProject.bin.")
    return name


def _number(root: _Entry) -> list[_Entry]:
    """Give every entry its directory index and link the sibling trees."""
    entries = [root]
    pending = [root]
    while pending:
        parent = pending.pop(0)
        ordered = sorted(parent.children.values(), key=_cfb_order)
        for entry in ordered:
            entry.sid = len(entries)
            entries.append(entry)
            pending.append(entry)
        if ordered:
            parent.child = _link(ordered, 0, len(ordered), _depth_of(len(ordered)))
    return entries


def _cfb_order(entry: _Entry) -> tuple[int, str]:
    # MS-CFB 2.6.4: shorter names first, then case-insensitive code points.
    return len(entry.name), entry.name.upper()


def _depth_of(count: int) -> int:
    return count.bit_length()


def _link(
    ordered: list[_Entry], low: int, high: int, levels: int, depth: int = 1
) -> int:
    """Link ``ordered[low:high]`` as a balanced tree and return its root's index.

    The siblings of a storage must form a red-black tree. A tree balanced by
    halving has every level full except the deepest; colouring that level red
    (when it is not full) and the rest black keeps the black height equal on
    every path, which makes it a valid red-black tree.
    """
    if low >= high:
        return _NO_STREAM
    middle = (low + high) // 2
    entry = ordered[middle]
    full = len(ordered) == (1 << levels) - 1
    entry.color = _RED if depth == levels and not full else _BLACK
    entry.left = _link(ordered, low, middle, levels, depth + 1)
    entry.right = _link(ordered, middle + 1, high, levels, depth + 1)
    return entry.sid


def _place_mini_streams(entries: list[_Entry]) -> tuple[bytes, list[int]]:
    """Put the small streams into the mini stream, 64 bytes a mini sector."""
    mini_stream = bytearray()
    mini_fat: list[int] = []
    for entry in entries:
        if entry.kind != _STREAM or not entry.data or len(entry.data) >= _MINI_CUTOFF:
            continue
        count = _sectors(len(entry.data), _MINI_SECTOR)
        entry.start = len(mini_fat)
        mini_fat.extend(_chain(entry.start, count))
        mini_stream += _padded(entry.data, _MINI_SECTOR)
    return bytes(mini_stream), mini_fat


class _Layout:
    """Sector layout: FAT, directory, mini FAT, mini stream, then big streams."""

    def __init__(
        self, entries: list[_Entry], mini_stream: bytes, mini_fat: list[int]
    ) -> None:
        self.entries = entries
        self.mini_stream = mini_stream
        self.mini_fat = struct.pack(f"<{len(mini_fat)}I", *mini_fat)
        self.big = [
            e for e in entries if e.kind == _STREAM and len(e.data) >= _MINI_CUTOFF
        ]

    def render(self) -> bytes:
        """Allocate every sector and return the whole file."""
        directory_sectors = _sectors(len(self.entries) * _ENTRY, _SECTOR)
        payloads = [
            _sectors(len(self.mini_fat), _SECTOR),
            _sectors(len(self.mini_stream), _SECTOR),
            *(_sectors(len(e.data), _SECTOR) for e in self.big),
        ]
        fat_sectors = _fat_sector_count(directory_sectors + sum(payloads))
        if fat_sectors > _MAX_HEADER_FAT:
            raise FileProblem("The VBA project is too large for this add-in builder.")

        fat = [_FAT_SECTOR] * fat_sectors
        directory_start = len(fat)
        fat.extend(_chain(directory_start, directory_sectors))
        starts = []
        for count in payloads:
            starts.append(len(fat) if count else _END_OF_CHAIN)
            fat.extend(_chain(len(fat), count))
        mini_fat_start, mini_stream_start, *big_starts = starts

        self.entries[0].start = mini_stream_start
        for entry, start in zip(self.big, big_starts, strict=True):
            entry.start = start

        fat.extend([_FREE] * (fat_sectors * (_SECTOR // 4) - len(fat)))
        body = b"".join(
            [
                struct.pack(f"<{len(fat)}I", *fat),
                _padded(self._directory(), _SECTOR),
                _padded(self.mini_fat, _SECTOR),
                _padded(self.mini_stream, _SECTOR),
                *(_padded(e.data, _SECTOR) for e in self.big),
            ]
        )
        header = _header(fat_sectors, directory_start, mini_fat_start, payloads[0])
        return header + body

    def _directory(self) -> bytes:
        records = [_entry_bytes(e, len(self.mini_stream)) for e in self.entries]
        # Unused slots in the last directory sector must read as empty entries.
        while len(records) % (_SECTOR // _ENTRY):
            records.append(_empty_entry())
        return b"".join(records)


def _entry_bytes(entry: _Entry, mini_stream_size: int) -> bytes:
    name = entry.name.encode("utf-16-le") + b"\x00\x00"
    size = mini_stream_size if entry.kind == _ROOT else len(entry.data)
    start = entry.start if size else _END_OF_CHAIN
    if entry.kind == _STORAGE:
        start, size = 0, 0
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name,
        len(name),
        entry.kind,
        entry.color,
        entry.left,
        entry.right,
        entry.child,
        bytes(16),
        0,
        0,
        0,
        start,
        size,
    )


def _empty_entry() -> bytes:
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        b"",
        0,
        0,
        0,
        _NO_STREAM,
        _NO_STREAM,
        _NO_STREAM,
        bytes(16),
        0,
        0,
        0,
        0,
        0,
    )


def _header(
    fat_sectors: int, directory_start: int, mini_fat_start: int, mini_fat_sectors: int
) -> bytes:
    difat = list(range(fat_sectors)) + [_FREE] * (_MAX_HEADER_FAT - fat_sectors)
    return struct.pack(
        "<8s16sHHHHH6sIIIIIIIII109I",
        _SIGNATURE,
        bytes(16),
        0x003E,  # minor version
        0x0003,  # major version 3: 512-byte sectors
        0xFFFE,  # little-endian byte order mark
        9,  # sector size 2**9
        6,  # mini sector size 2**6
        bytes(6),
        0,  # directory sector count: must be zero in version 3
        fat_sectors,
        directory_start,
        0,  # transaction signature
        _MINI_CUTOFF,
        mini_fat_start,
        mini_fat_sectors,
        _END_OF_CHAIN,  # no DIFAT sectors
        0,
        *difat,
    )


def _fat_sector_count(other_sectors: int) -> int:
    # The FAT also maps its own sectors, so grow it until it covers itself.
    per_sector = _SECTOR // 4
    count = 1
    while count * per_sector < count + other_sectors:
        count += 1
    return count


def _chain(start: int, count: int) -> list[int]:
    return [start + i + 1 for i in range(count - 1)] + [_END_OF_CHAIN] * (count > 0)


def _sectors(size: int, sector: int) -> int:
    return -(-size // sector)


def _padded(data: bytes, sector: int) -> bytes:
    return data + bytes(-len(data) % sector)
