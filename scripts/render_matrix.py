"""Render page 1 of a workbook's Matrix sheet to PNG, as LibreOffice prints it.

    python scripts/render_matrix.py maven_matrix.xlsx docs/matrix_maven.png
    python scripts/render_matrix.py t.xlsx docs/matrix_telco.png 300 240 200 2800 1100

The optional DPI, X, Y, WIDTH and HEIGHT (pixels) zoom into part of a big board.
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
    workbook: Path,
    picture: Path,
    dpi: int = 110,
    crop: tuple[int, int, int, int] | None = None,
) -> None:
    """Write page 1 of ``workbook`` to ``picture``; ``crop``: x, y, width, height."""
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
            x, y, width, height = (str(number) for number in crop)
            area = ["-x", x, "-y", y, "-W", width, "-H", height]
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
    numbers = [int(value) for value in sys.argv[3:8]]
    area = (
        (numbers[1], numbers[2], numbers[3], numbers[4]) if len(numbers) == 5 else None
    )
    render(Path(sys.argv[1]), Path(sys.argv[2]), numbers[0] if numbers else 110, area)
