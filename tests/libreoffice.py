"""Open workbooks in LibreOffice headless, the spreadsheet application tests use."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice")

needs_libreoffice = pytest.mark.skipif(
    SOFFICE is None, reason="LibreOffice (soffice) is not installed"
)


def convert(
    book: Path, out_dir: Path, to: str = "xlsx", registry: str | None = None
) -> Path:
    """Have LibreOffice open ``book`` and save it as ``to``.

    Each call gets its own profile folder so parallel calls do not collide;
    ``registry`` is a ``registrymodifications.xcu`` for that profile (such as
    one that makes LibreOffice recalculate every formula on loading).
    """
    assert SOFFICE is not None
    profile = out_dir / f"lo-profile-{uuid.uuid4().hex}"
    out_dir.mkdir(parents=True, exist_ok=True)
    if registry is not None:
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(registry)
    completed = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--calc",
            "--convert-to",
            to,
            "--outdir",
            str(out_dir),
            str(book),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    converted = out_dir / f"{book.stem}.{to.split(':')[0]}"
    assert completed.returncode == 0, completed.stderr
    assert converted.exists(), f"LibreOffice wrote nothing: {completed.stderr}"
    shutil.rmtree(profile, ignore_errors=True)
    return converted


def convert_all(books: list[Path], out_dir: Path) -> list[Path]:
    """Open every one of ``books`` in one LibreOffice run; return those it failed.

    Books are copied under unique names first, since several tests write files of
    the same name in their own folders.
    """
    assert SOFFICE is not None
    staging = out_dir / "in"
    staging.mkdir(parents=True, exist_ok=True)
    copies = []
    for index, book in enumerate(books):
        copy = staging / f"{index:04d}_{book.name}"
        shutil.copyfile(book, copy)
        copies.append(copy)
    profile = out_dir / f"lo-profile-{uuid.uuid4().hex}"
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--calc",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out_dir / "out"),
            *map(str, copies),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    shutil.rmtree(profile, ignore_errors=True)
    return [
        book
        for book, copy in zip(books, copies, strict=True)
        if not (out_dir / "out" / f"{copy.stem}.xlsx").exists()
    ]
