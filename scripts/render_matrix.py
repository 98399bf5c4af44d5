"""Render page 1 of a workbook's Matrix sheet to PNG, as LibreOffice prints it.

    python scripts/render_matrix.py maven_matrix.xlsx docs/matrix_maven.png
    python scripts/render_matrix.py telco.xlsx docs/matrix_telco.png 400 2600 1500

The optional DPI, WIDTH and HEIGHT zoom into the top-left corner of a big board.
Needs LibreOffice (soffice) and poppler-utils (pdftoppm). The Matrix is the first
sheet xlapm writes, so the first PDF page is the board's top.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def render(
    workbook: Path, picture: Path, dpi: int = 110, crop: tuple[int, int] | None = None
) -> None:
    """Write page 1 of ``workbook`` to ``picture``; ``crop`` keeps the top-left part."""
    with tempfile.TemporaryDirectory(prefix="xlapm-render-") as folder:
        work = Path(folder)
        profile = (work / "profile").as_uri()
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation={profile}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(work),
                str(workbook),
            ],
            check=True,
            capture_output=True,
        )
        pdf = work / f"{workbook.stem}.pdf"

        area = []
        if crop:
            area = ["-x", "0", "-y", "0", "-W", str(crop[0]), "-H", str(crop[1])]
        pages = ["-f", "1", "-l", "1", "-singlefile"]
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                str(dpi),
                *pages,
                *area,
                str(pdf),
                str(work / "page"),
            ],
            check=True,
        )
        picture.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / "page.png", picture)


if __name__ == "__main__":
    numbers = [int(value) for value in sys.argv[3:6]]
    size = (numbers[1], numbers[2]) if len(numbers) == 3 else None
    render(Path(sys.argv[1]), Path(sys.argv[2]), numbers[0] if numbers else 110, size)
