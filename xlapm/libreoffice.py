"""LibreOffice headless, for computing formulas that were saved without results."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

from xlapm.errors import FileProblem

_TIMEOUT = 600


def recalculated_copy(workbook: Path, folder: Path) -> Path:
    """A copy of ``workbook`` in ``folder`` with every formula computed by LibreOffice.

    The original is only read. Raises ``FileProblem`` when LibreOffice is missing
    or fails.
    """
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise FileProblem(
            "LibreOffice is needed to compute the formulas but is not installed.",
            hint="Install it (apt-get install libreoffice-calc-nogui), or open and "
            "save the workbook in Excel.",
        )
    profile = folder / f"profile-{uuid.uuid4().hex}"
    command = [
        soffice,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--calc",
        "--convert-to",
        "xlsx",
        "--outdir",
        str(folder),
        str(workbook),
    ]
    try:
        subprocess.run(command, capture_output=True, timeout=_TIMEOUT, check=True)
    except (subprocess.SubprocessError, OSError) as error:
        raise FileProblem(
            f"LibreOffice could not recalculate {workbook.name}: {error}."
        ) from None
    copy = folder / f"{workbook.stem}.xlsx"
    if not copy.exists():
        raise FileProblem(f"LibreOffice wrote no recalculated copy of {workbook.name}.")
    return copy
