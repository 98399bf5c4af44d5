"""Build the ``xlapm.xlam`` Excel add-in from the sources in ``workbook/``.

The add-in gives CSMs the "Account Matrix" ribbon tab and serves the ``APM_``
formulas from ``xlapm.udfs``, so their own workbooks stay plain ``.xlsx``.

It starts from xlwings' own custom add-in template (``xlwings quickstart NAME
--addin --ribbon``), which brings the xlwings VBA module that ``RunPython``
lives in, matched to the installed xlwings version. The build then:

- replaces the template's ribbon with ``workbook/ribbon.xml``;
- replaces its one ``RunMain`` callback module with the modules in
  ``workbook/vba/*.bas``: one ribbon callback per button, and ``xlwings_udfs``,
  the VBA wrappers through which Excel calls the ``APM_`` formulas (written by
  ``write_udf_wrappers`` from ``xlapm.udfs`` with xlwings' own generator);
- renames the VBA project and the xlwings ``PROJECT_NAME`` from ``myaddin`` to
  ``xlapm``, and turns on the add-in's ``xlapm.conf`` settings sheet with
  ``UDF Modules`` set to ``xlapm.udfs``;
- writes ``vbaProject.bin`` again from module source only (see ``_ovba``), so
  Excel compiles the project when it opens the add-in.

The result is reproducible: the same sources and xlwings version give the same
bytes, with sorted zip members and fixed timestamps.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET

from xlapm.addin import _ovba
from xlapm.addin.udf_wrappers import WRAPPER_MODULE, udf_wrapper_vba
from xlapm.errors import FileProblem, WorkbookLocked

logger = logging.getLogger(__name__)

ADDIN_NAME = "xlapm"
"""The add-in's name: its file stem, VBA project and xlwings ``PROJECT_NAME``."""

ADDIN_SETTINGS = {"UDF Modules": "xlapm.udfs"}
"""What the add-in's ``xlapm.conf`` sheet tells xlwings.

Only settings with a value belong here: xlwings reads a key on this sheet
before the CSM's own ``~/.xlapm/xlapm.conf``, so an empty ``Interpreter_Win``
row would hide the interpreter a CSM set there.
"""

CUSTOM_UI_NAMESPACE = "http://schemas.microsoft.com/office/2009/07/customui"
CUSTOM_UI_PART = "customUI/customUI14.xml"

SOURCES = Path(__file__).resolve().parents[2] / "workbook"
"""``workbook/`` in a source checkout: ribbon XML, VBA callbacks, built add-in."""

SHIPPED_ADDIN = Path(__file__).with_name(f"{ADDIN_NAME}.xlam")
"""The copy inside the package, for people who ``pip install xlapm``."""

UDF_WRAPPERS = SOURCES / "vba" / f"{WRAPPER_MODULE}.bas"
"""The generated VBA wrappers of the UDFs, committed so a review shows them."""

_TEMPLATE = "quickstart_addin_ribbon.xlam"
_TEMPLATE_NAME = "myaddin"
_TEMPLATE_RIBBON_MODULE = "RibbonMyAddin"
_TEMPLATE_PARTS_KEPT = (
    "[Content_Types].xml",
    "docProps/app.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/styles.xml",
    "xl/theme/theme1.xml",
)

# 1980-01-01 is the earliest time a zip entry can carry.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_DOCUMENT = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
)
_CORE_PROPERTIES = (
    "http://schemas.openxmlformats.org/package/2006/relationships/metadata/"
    "core-properties"
)
_EXTENDED_PROPERTIES = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    "extended-properties"
)
# Office 2010 and later read the 2009/07 customUI through this relationship.
_UI_EXTENSIBILITY = (
    "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

_RIBBON_CALLBACK = (
    r"^[ \t]*(?:Public[ \t]+)?Sub[ \t]+(\w+)[ \t]*"
    r"\([ \t]*control[ \t]+As[ \t]+IRibbonControl[ \t]*\)"
)


def build_addin(target: Path, *, sources: Path | None = None) -> Path:
    """Build the add-in from ``sources`` and write it to ``target``.

    Args:
        target: where to write the ``.xlam`` file (its folder is created).
        sources: the folder with ``ribbon.xml`` and ``vba/*.bas``; defaults to
            ``workbook/`` of this source checkout.

    Returns:
        ``target``.

    Raises:
        FileProblem: a source is missing or inconsistent (a button whose
            ``onAction`` names no ribbon callback, say), or xlwings' template
            is not what this build expects.
    """
    sources = SOURCES if sources is None else sources
    template = _template_parts()
    ribbon = _read_ribbon(sources / "ribbon.xml")
    callbacks = _read_callback_modules(sources / "vba")
    _check_actions(ribbon, callbacks)
    _check_udf_wrappers(sources / "vba", callbacks)

    parts = {name: template[name] for name in _TEMPLATE_PARTS_KEPT}
    parts |= {
        "_rels/.rels": _package_relationships(),
        CUSTOM_UI_PART: ribbon,
        "docProps/core.xml": _core_properties(),
        "xl/workbook.xml": _workbook(template["xl/workbook.xml"]),
        "xl/worksheets/sheet1.xml": _settings_sheet(),
        "xl/sharedStrings.xml": _shared_strings(),
        "xl/vbaProject.bin": _vba_project(template["xl/vbaProject.bin"], callbacks),
    }
    _check_content_types(parts)

    _write_package(target, parts)
    logger.info("built %s from %s", target, sources)
    return target


def build_shipped_addins() -> tuple[Path, Path, Path]:
    """Regenerate the UDF wrappers, rebuild ``workbook/xlapm.xlam``, copy it.

    Run it after changing a UDF, the ribbon or a ``.bas`` file, or after
    upgrading xlwings; the tests fail until the committed files match.

    Returns:
        The three files written: ``workbook/vba/xlwings_udfs.bas``, the
        committed add-in and the copy in the package.
    """
    wrappers = write_udf_wrappers()
    committed = build_addin(SOURCES / f"{ADDIN_NAME}.xlam")
    shutil.copyfile(committed, SHIPPED_ADDIN)
    return wrappers, committed, SHIPPED_ADDIN


def write_udf_wrappers(target: Path | None = None) -> Path:
    """Write the ``xlwings_udfs`` module for the add-in's UDF modules.

    It is the module xlwings' "Import Functions" would put in the add-in: one
    VBA Function per ``@xw.func`` of ``xlapm.udfs`` (see ``udf_wrappers``).

    Args:
        target: the ``.bas`` file to write; defaults to ``UDF_WRAPPERS``.

    Returns:
        ``target``.
    """
    target = UDF_WRAPPERS if target is None else target
    text = udf_wrapper_vba(
        ADDIN_SETTINGS["UDF Modules"], workbook_name=f"{ADDIN_NAME}.xlam"
    )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="\n")
    except OSError as error:
        raise FileProblem(
            f"Cannot write the UDF wrappers {target}: {error}."
        ) from error
    logger.info("wrote %s", target)
    return target


def install_addin(addin: Path | None = None) -> str:
    """Install the add-in into Excel with ``xlwings addin install``.

    xlwings copies it to Excel's XLSTART folder, so Excel opens it at every
    start; on macOS it also installs the AppleScript that ``RunPython`` needs.

    Args:
        addin: the ``.xlam`` to install; defaults to the copy in the package.

    Returns:
        What xlwings reported.

    Raises:
        FileProblem: there is no Excel here (Linux), the add-in file is
            missing, or xlwings could not install it.
    """
    addin = SHIPPED_ADDIN if addin is None else addin
    if not addin.is_file():
        raise FileProblem(
            f"The add-in {addin} does not exist.",
            hint="Reinstall xlapm, or build it with `xlapm addin build`.",
        )
    if not sys.platform.startswith(("win", "darwin")):
        raise FileProblem(
            "Excel add-ins install only where Excel runs (Windows or macOS): copy "
            f"{addin} into Excel's XLSTART folder, or add it in Excel under "
            "File > Options > Add-ins > Go... > Browse.",
            hint="Run `xlapm addin install` on the computer that has Excel.",
        )

    command = [sys.executable, "-m", "xlwings.cli", "addin", "install", "--file"]
    result = subprocess.run(
        [*command, str(addin)], capture_output=True, text=True, check=False
    )
    report = "\n".join(part.strip() for part in (result.stdout, result.stderr))
    report = report.strip()
    # xlwings prints its errors and still exits 0, so read what it said.
    if result.returncode != 0 or "Successfully installed" not in report:
        last_line = report.splitlines()[-1] if report else "no output"
        raise FileProblem(
            f"xlwings could not install {addin.name}: {last_line}",
            hint="Quit Excel and try again, or copy the file to Excel's XLSTART "
            "folder by hand.",
        )
    return report


def _template_parts() -> dict[str, bytes]:
    import xlwings

    path = Path(xlwings.__file__).with_name(_TEMPLATE)
    if not path.is_file():
        raise FileProblem(
            f"xlwings {xlwings.__version__} has no add-in template {_TEMPLATE}.",
            hint="Install the xlwings version in xlapm's requirements.",
        )
    with zipfile.ZipFile(path) as template:
        return {name: template.read(name) for name in template.namelist()}


def _read_ribbon(path: Path) -> bytes:
    """Return the ribbon XML after checking it is customUI that Excel accepts."""
    ribbon = _read_source(path)
    try:
        root = SafeET.fromstring(ribbon)
    except SafeET.ParseError as error:
        raise FileProblem(f"{path} is not well-formed XML: {error}.") from error
    if root.tag != f"{{{CUSTOM_UI_NAMESPACE}}}customUI":
        raise FileProblem(
            f"{path} must have a <customUI> root in the namespace "
            f"{CUSTOM_UI_NAMESPACE}, not {root.tag}."
        )
    return ribbon


def _read_callback_modules(folder: Path) -> list[_ovba.VbaModule]:
    """Read each ``.bas`` file as a standard module named after the file.

    Sorted by file name, so the modules keep one order in the VBA project.
    """
    files = sorted(folder.glob("*.bas"))
    if not files:
        raise FileProblem(f"{folder} has no .bas files with the ribbon callbacks.")
    return [_read_module(path) for path in files]


def _read_module(path: Path) -> _ovba.VbaModule:
    text = _read_source(path).decode("utf-8")
    first_line = text.splitlines()[0] if text else ""
    if first_line != f'Attribute VB_Name = "{path.stem}"':
        raise FileProblem(
            f'{path} must start with the line Attribute VB_Name = "{path.stem}".',
            hint="The VBA editor's File > Export writes that line.",
        )

    # Module streams keep text in the project's code page with CRLF line ends.
    lines = text.replace("\r\n", "\n").split("\n")
    source = "\r\n".join(lines).rstrip("\r\n") + "\r\n"
    try:
        encoded = source.encode("cp1252")
    except UnicodeEncodeError as error:
        raise FileProblem(
            f"{path} has a character VBA cannot store: {source[error.start]!r}.",
            hint="Keep VBA sources to plain Western European text.",
        ) from error
    return _ovba.VbaModule(path.stem, _ovba.STANDARD, encoded)


def _read_source(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise FileProblem(f"Cannot read the add-in source {path}: {error}.") from error


def _check_actions(ribbon: bytes, modules: list[_ovba.VbaModule]) -> None:
    """Fail unless every ``onAction`` names a ribbon callback in ``modules``."""
    callbacks = {
        (module.name, sub)
        for module in modules
        for sub in ribbon_callbacks(module.source.decode("cp1252"))
    }
    names = {sub for _, sub in callbacks}
    for control in SafeET.fromstring(ribbon).iter():
        action = control.get("onAction")
        if action is None:
            continue
        module, _, sub = action.rpartition(".")
        found = (module, sub) in callbacks if module else sub in names
        if not found:
            raise FileProblem(
                f"Ribbon control {control.get('id')!r} calls {action}, but no VBA "
                f"file defines Sub {sub}(control As IRibbonControl) there.",
                hint="Add the Sub to a .bas file in workbook/vba, or fix onAction.",
            )


def _check_udf_wrappers(folder: Path, modules: list[_ovba.VbaModule]) -> None:
    """Fail unless the UDF wrappers are there: without them Excel has no APM_."""
    if WRAPPER_MODULE not in {module.name for module in modules}:
        raise FileProblem(
            f"{folder} has no {WRAPPER_MODULE}.bas, so Excel would not know the "
            "APM_ formulas.",
            hint="Write it with `xlapm addin build`.",
        )


def ribbon_callbacks(source: str) -> list[str]:
    """Return the names of the Subs in VBA ``source`` that the ribbon can call.

    A ribbon ``onAction`` callback is a public Sub taking exactly
    ``(control As IRibbonControl)``.
    """
    flags = re.IGNORECASE | re.MULTILINE
    return re.findall(_RIBBON_CALLBACK, source, flags)


def _vba_project(template_bin: bytes, callbacks: list[_ovba.VbaModule]) -> bytes:
    project = _ovba.read_project(template_bin)
    kept = [
        _renamed_xlwings(module) if module.name == "xlwings" else module
        for module in project.modules
        if module.name != _TEMPLATE_RIBBON_MODULE
    ]
    clashes = {m.name.lower() for m in kept} & {m.name.lower() for m in callbacks}
    if clashes:
        raise FileProblem(
            f"workbook/vba may not define modules the template has: {sorted(clashes)}."
        )

    project = _ovba.renamed(project, ADDIN_NAME)
    return _ovba.write_project(replace(project, modules=(*kept, *callbacks)))


def _renamed_xlwings(module: _ovba.VbaModule) -> _ovba.VbaModule:
    """Point the xlwings module's config lookups at ``xlapm.conf``."""
    old = f'Public Const PROJECT_NAME As String = "{_TEMPLATE_NAME}"'.encode()
    new = f'Public Const PROJECT_NAME As String = "{ADDIN_NAME}"'.encode()
    if module.source.count(old) != 1:
        raise FileProblem(
            "The xlwings VBA module in the add-in template has no PROJECT_NAME line.",
            hint="This xlwings version changed its template; pin the one xlapm "
            "supports.",
        )
    return replace(module, source=module.source.replace(old, new))


def _workbook(template: bytes) -> bytes:
    """The template's workbook part, with the settings sheet switched on."""
    text = template.decode("utf-8")
    # xlwings reads settings from a sheet named PROJECT_NAME + ".conf"; the
    # template ships it as "_myaddin.conf", which keeps it switched off.
    disabled = f'name="_{_TEMPLATE_NAME}.conf"'
    if text.count(disabled) != 1:
        raise FileProblem(f"The add-in template has no {disabled} sheet.")
    text = text.replace(disabled, f'name="{ADDIN_NAME}.conf"')

    # The template remembers the folder it was last saved in on its author's
    # computer; that path means nothing here.
    text = re.sub(r"<mc:AlternateContent\b.*?</mc:AlternateContent>", "", text)
    return text.encode("utf-8")


def _settings_sheet() -> bytes:
    """The ``xlapm.conf`` sheet: one setting a row, name in A, value in B."""
    rows = "".join(
        f'<row r="{n}"><c r="A{n}" t="s"><v>{2 * (n - 1)}</v></c>'
        f'<c r="B{n}" t="s"><v>{2 * n - 1}</v></c></row>'
        for n in range(1, len(ADDIN_SETTINGS) + 1)
    )
    return _xml(
        f'<worksheet xmlns="{_MAIN}">'
        # The codeName binds the sheet to the Sheet2 module of the template.
        '<sheetPr codeName="Sheet2"/>'
        f'<dimension ref="A1:B{len(ADDIN_SETTINGS)}"/>'
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        '<cols><col min="1" max="1" width="18" customWidth="1"/>'
        '<col min="2" max="2" width="24" customWidth="1"/></cols>'
        f"<sheetData>{rows}</sheetData>"
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" '
        'header="0.3" footer="0.3"/>'
        "</worksheet>"
    )


def _shared_strings() -> bytes:
    strings = [text for pair in ADDIN_SETTINGS.items() for text in pair]
    items = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    count = len(strings)
    return _xml(
        f'<sst xmlns="{_MAIN}" count="{count}" uniqueCount="{count}">{items}</sst>'
    )


def _core_properties() -> bytes:
    # Excel's Add-ins dialog shows the title and, below the list, the comments.
    return _xml(
        "<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<dc:title>Account Matrix (xlapm)</dc:title>"
        "<dc:description>The Account Matrix ribbon tab and the APM_TIER and "
        "APM_PLAYBOOK formulas for Customer Success account planning."
        "</dc:description>"
        "<dc:creator>xlapm</dc:creator>"
        "</cp:coreProperties>"
    )


def _package_relationships() -> bytes:
    relationships = [
        ("rId1", _OFFICE_DOCUMENT, "xl/workbook.xml"),
        ("rId2", _CORE_PROPERTIES, "docProps/core.xml"),
        ("rId3", _EXTENDED_PROPERTIES, "docProps/app.xml"),
        ("rId4", _UI_EXTENSIBILITY, CUSTOM_UI_PART),
    ]
    items = "".join(
        f'<Relationship Id="{rid}" Type="{kind}" Target="{target}"/>'
        for rid, kind, target in relationships
    )
    return _xml(f'<Relationships xmlns="{_RELS}">{items}</Relationships>')


def _xml(body: str) -> bytes:
    declaration = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    return (declaration + body).encode("utf-8")


def _check_content_types(parts: dict[str, bytes]) -> None:
    """Fail unless ``[Content_Types].xml`` gives every part a content type."""
    types = SafeET.fromstring(parts["[Content_Types].xml"])
    namespace = "{http://schemas.openxmlformats.org/package/2006/content-types}"
    defaults = {d.get("Extension") for d in types.iter(f"{namespace}Default")}
    overrides = {o.get("PartName") for o in types.iter(f"{namespace}Override")}
    for name in parts:
        if name == "[Content_Types].xml":
            continue
        if f"/{name}" not in overrides and name.rpartition(".")[2] not in defaults:
            raise FileProblem(f"The add-in part {name} has no content type.")
    missing = {o.lstrip("/") for o in overrides} - set(parts)
    if missing:
        raise FileProblem(f"Content types name parts the add-in lacks: {missing}.")


def _write_package(target: Path, parts: dict[str, bytes]) -> None:
    """Zip ``parts`` in name order with fixed metadata, then swap into place."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name in sorted(parts):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            # Zip entries record the system that wrote them; pin it so a build
            # on Windows and one on Linux give the same bytes.
            info.create_system = 0
            package.writestr(info, parts[name])

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.partial")
    try:
        staging.write_bytes(buffer.getvalue())
        os.replace(staging, target)
    except PermissionError as error:
        staging.unlink(missing_ok=True)
        raise WorkbookLocked(
            f"Cannot replace {target}: it is open in Excel or read-only.",
            hint="Close the add-in in Excel (or quit Excel) and build again.",
        ) from error
    except OSError as error:
        staging.unlink(missing_ok=True)
        raise FileProblem(f"Cannot write the add-in {target}: {error}.") from error
