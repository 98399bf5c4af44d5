"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from libreoffice import SOFFICE, convert_all

DATA = Path(__file__).parent / "data"

# Workbooks the end-to-end tests wrote, for LibreOffice to open at the end.
_WRITTEN: list[Path] = []


@pytest.fixture
def data_dir() -> Path:
    """The folder of small input files copied from ../shared/data."""
    return DATA


@pytest.fixture
def opened_by_libreoffice(tmp_path: Path) -> Iterator[None]:
    """After the test, queue every workbook it wrote for LibreOffice to open."""
    yield
    _WRITTEN.extend(
        path
        for path in sorted(tmp_path.rglob("*.xls[xm]"))
        if "lo" not in path.relative_to(tmp_path).parts[:-1]
    )


@pytest.fixture(scope="session", autouse=True)
def every_written_workbook_opens_in_libreoffice(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """One LibreOffice run at the end opens all queued workbooks; none may fail."""
    yield
    if not _WRITTEN or SOFFICE is None:
        return
    failed = convert_all(_WRITTEN, tmp_path_factory.mktemp("libreoffice_all"))
    assert not failed, f"LibreOffice could not open: {failed}"
