"""The Excel add-in: what Excel will find in the built ``xlapm.xlam``.

No Excel runs here, so the built file is read back by tools that do not share
code with the builder: oletools/olefile for the VBA project, defusedxml for the
package parts and, where installed, LibreOffice, which imports the VBA modules
with its own compound-file and MS-OVBA readers.
"""

from __future__ import annotations

import importlib.util
import inspect
import io
import re
import shutil
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import defusedxml.ElementTree as SafeET
import olefile
import pytest
import xlwings
from click.testing import CliRunner

# oletools 0.60 still calls pyparsing names that pyparsing 3 deprecates; those
# warnings are about oletools' code, not ours, so they are ignored on import.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.olevba import VBA_Parser, decompress_stream

import xlapm.udfs
from xlapm.addin import build, build_addin, install_addin, write_udf_wrappers
from xlapm.addin._ovba import compress, decompress
from xlapm.addin.udf_wrappers import udf_wrapper_vba
from xlapm.cli import main
from xlapm.errors import FileProblem

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "workbook" / "xlapm.xlam"
CUSTOM_UI = "{http://schemas.microsoft.com/office/2009/07/customui}"
CONTENT_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
UI_RELATIONSHIP = (
    "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
)

# Button label -> the xlapm.macros entry point its callback must run.
BUTTONS = {
    "Rebuild matrix": "rebuild",
    "Playbook": "show_playbook",
    "Snapshot quarter": "snapshot_quarter",
    "Settings": "open_settings",
    "Help": "show_help",
}

REBUILD_HINT = "run: xlapm addin build"

# The formulas a CSM types; APM_MOVE joins them when xlapm.udfs defines it.
UDFS = sorted(
    {"APM_TIER", "APM_PLAYBOOK", "APM_SEGMENT", "APM_THRESHOLD"}
    | ({"APM_MOVE"} if hasattr(xlapm.udfs, "APM_MOVE") else set())
)
WINDOWS_ONLY = ("pythoncom", "pywintypes", "win32com", "win32com.client")
HAS_COM = importlib.util.find_spec("pythoncom") is not None


@pytest.fixture(scope="module")
def addin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_addin(tmp_path_factory.mktemp("addin") / "xlapm.xlam")


@pytest.fixture(scope="module")
def macros(addin: Path) -> dict[str, str]:
    """VBA module file name (``XlapmRibbon.bas``) -> source, as olevba reads it."""
    parser = VBA_Parser(str(addin))
    try:
        return {name: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


@pytest.fixture(scope="module")
def parts(addin: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(addin) as package:
        return {name: package.read(name) for name in package.namelist()}


@pytest.fixture()
def sources(tmp_path: Path) -> Path:
    """A copy of workbook/ that a test may break."""
    copy = tmp_path / "workbook"
    shutil.copytree(REPO / "workbook", copy, ignore=shutil.ignore_patterns("*.xlam"))
    return copy


def ribbon(parts: dict[str, bytes]):
    relationships = SafeET.fromstring(parts["_rels/.rels"])
    (target,) = [
        r.get("Target")
        for r in relationships.iter(f"{RELATIONSHIPS}Relationship")
        if r.get("Type") == UI_RELATIONSHIP
    ]
    return SafeET.fromstring(parts[target])


def sub_body(code: str, name: str) -> str | None:
    """The body of ``Sub name(control As IRibbonControl)``, or None."""
    found = re.search(
        rf"^\s*(?:Public\s+)?Sub\s+{name}\s*\(\s*control\s+As\s+IRibbonControl\s*\)"
        r"(.*?)^\s*End Sub",
        code,
        re.MULTILINE | re.DOTALL | re.IGNORECASE,
    )
    return found.group(1) if found else None


def test_olevba_lists_every_callback_with_its_source(macros: dict[str, str]) -> None:
    code = macros["XlapmRibbon.bas"]
    callbacks = {
        "XlapmRebuild": "rebuild",
        "XlapmPlaybook": "show_playbook",
        "XlapmSnapshotQuarter": "snapshot_quarter",
        "XlapmSettings": "open_settings",
        "XlapmHelp": "show_help",
    }

    for sub, entry_point in callbacks.items():
        body = sub_body(code, sub)
        assert body is not None, f"{sub} is missing from the built add-in"
        assert f'"import xlapm.macros; xlapm.macros.{entry_point}()"' in body

    assert "RunPython pythonCode" in code


def test_every_on_action_names_a_ribbon_callback(
    parts: dict[str, bytes], macros: dict[str, str]
) -> None:
    actions = [e.get("onAction") for e in ribbon(parts).iter() if e.get("onAction")]

    assert len(actions) == len(BUTTONS)
    for action in actions:
        module, sub = action.split(".")
        assert sub_body(macros[f"{module}.bas"], sub) is not None, action


def test_each_button_runs_its_entry_point(
    parts: dict[str, bytes], macros: dict[str, str]
) -> None:
    for button in ribbon(parts).iter(f"{CUSTOM_UI}button"):
        module, sub = button.get("onAction").split(".")
        entry_point = BUTTONS[button.get("label")]

        assert f"xlapm.macros.{entry_point}()" in sub_body(macros[f"{module}.bas"], sub)


def test_ribbon_has_the_account_matrix_tab(parts: dict[str, bytes]) -> None:
    root = ribbon(parts)
    (tab,) = root.iter(f"{CUSTOM_UI}tab")
    buttons = list(tab.iter(f"{CUSTOM_UI}button"))

    assert root.tag == f"{CUSTOM_UI}customUI"
    assert tab.get("label") == "Account Matrix"
    assert [b.get("label") for b in buttons] == list(BUTTONS)
    for button in buttons:
        assert button.get("imageMso")
        assert button.get("screentip")
        assert len(button.get("supertip")) > 40


def test_package_points_at_the_custom_ui(parts: dict[str, bytes]) -> None:
    types = SafeET.fromstring(parts["[Content_Types].xml"])
    defaults = {
        d.get("Extension"): d.get("ContentType")
        for d in types.iter(f"{CONTENT_TYPES}Default")
    }
    overrides = {
        o.get("PartName"): o.get("ContentType")
        for o in types.iter(f"{CONTENT_TYPES}Override")
    }

    assert "customUI/customUI14.xml" in parts
    assert ribbon(parts) is not None
    # The customUI part is plain XML; Excel finds it through the relationship.
    assert defaults["xml"] == "application/xml"
    assert "/customUI/customUI14.xml" not in overrides
    assert overrides["/xl/workbook.xml"] == (
        "application/vnd.ms-excel.addin.macroEnabled.main+xml"
    )
    assert overrides["/xl/vbaProject.bin"] == "application/vnd.ms-office.vbaProject"
    for name in parts:
        if name != "[Content_Types].xml":
            assert f"/{name}" in overrides or name.rsplit(".")[-1] in defaults, name


def test_settings_sheet_serves_udfs_from_xlapm_udfs(
    parts: dict[str, bytes], macros: dict[str, str]
) -> None:
    project_name = re.search(
        r'^Public Const PROJECT_NAME As String = "(\w+)"',
        macros["xlwings.bas"],
        re.MULTILINE,
    ).group(1)
    (sheet,) = SafeET.fromstring(parts["xl/workbook.xml"]).iter(f"{MAIN}sheet")
    strings = [
        t.text
        for t in SafeET.fromstring(parts["xl/sharedStrings.xml"]).iter(f"{MAIN}t")
    ]
    cells = {
        c.get("r"): strings[int(c.find(f"{MAIN}v").text)]
        for c in SafeET.fromstring(parts["xl/worksheets/sheet1.xml"]).iter(f"{MAIN}c")
    }

    # xlwings reads the add-in's settings from the sheet PROJECT_NAME + ".conf".
    assert project_name == "xlapm"
    assert sheet.get("name") == "xlapm.conf"
    assert cells == {"A1": "UDF Modules", "B1": "xlapm.udfs"}


def test_vba_project_has_no_compiled_cache(parts: dict[str, bytes]) -> None:
    ole = olefile.OleFileIO(io.BytesIO(parts["xl/vbaProject.bin"]))
    modules = [path for path in ole.listdir() if path[0] == "VBA"]
    project = ole.openstream("VBA/_VBA_PROJECT").read()

    # Version 0xFFFF tells Excel no p-code cache is usable, so it compiles the
    # modules from their source; each module stream is then source only.
    assert project[:4] == b"\xcc\x61\xff\xff"
    for path in modules:
        if path[1] not in ("_VBA_PROJECT", "dir"):
            stream = ole.openstream(path).read()
            assert stream[0] == 1
            assert decompress_stream(bytearray(stream)).startswith(b"Attribute VB_Name")
    ole.close()


def test_building_twice_gives_identical_bytes(addin: Path, tmp_path: Path) -> None:
    again = build_addin(tmp_path / "again.xlam")

    with zipfile.ZipFile(again) as package:
        infos = package.infolist()

    assert again.read_bytes() == addin.read_bytes()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_committed_addin_is_a_fresh_build(parts: dict[str, bytes]) -> None:
    # Compared part by part, not as zip bytes: another zlib may deflate the
    # same parts into different bytes, and Excel only sees the parts.
    with zipfile.ZipFile(COMMITTED) as package:
        names = package.namelist()
        committed = {name: package.read(name) for name in names}

    assert names == sorted(parts), REBUILD_HINT
    assert committed == parts, REBUILD_HINT
    assert build.SHIPPED_ADDIN.read_bytes() == COMMITTED.read_bytes(), REBUILD_HINT


def vba_function(code: str, name: str) -> tuple[str, str] | None:
    """The argument list and body of ``Function name(...)`` in ``code``, or None."""
    found = re.search(
        rf"^Function {name}\((.*?)\)\n(.*?)^End Function",
        code.replace("\r\n", "\n"),
        re.MULTILINE | re.DOTALL,
    )
    return (found.group(1), found.group(2)) if found else None


def test_olevba_lists_a_wrapper_for_every_udf(macros: dict[str, str]) -> None:
    code = macros["xlwings_udfs.bas"]

    assert code.startswith('Attribute VB_Name = "xlwings_udfs"')
    assert sorted(re.findall(r"^Function (\w+)\(", code, re.MULTILINE)) == UDFS
    for name in UDFS:
        signature = inspect.signature(getattr(xlapm.udfs, name))
        arguments = [p for p in signature.parameters if p != "caller"]
        declared, body = vba_function(code, name)
        excel_arguments = ", ".join(arguments)
        # In an add-in the UDFs get the CSM's workbook, not the add-in itself;
        # the caller argument is filled in by xlwings, so Excel passes Nothing.
        call = (
            f'{name} = XLPy.CallUDF("xlapm.udfs", "{name}", '
            f"Array({excel_arguments}, Nothing), ActiveWorkbook, Application.Caller)"
        )

        assert re.sub(r"Optional ", "", declared) == excel_arguments
        assert call in body
        assert f"Attribute {name}.VB_Description = " in body
        assert f"{name} = Err.Description" in body


def test_optional_arguments_are_optional_in_excel(macros: dict[str, str]) -> None:
    declared, _ = vba_function(macros["xlwings_udfs.bas"], "APM_TIER")

    assert declared == (
        "revenue, health, Optional revenue_threshold, Optional health_threshold"
    )


def test_description_is_the_udf_docstring_for_the_function_wizard() -> None:
    code = udf_wrapper_vba()
    (description,) = re.findall(r'^Attribute APM_SEGMENT.VB_Description = "(.*)"$',
                                code, re.MULTILINE)  # fmt: skip

    # The VBA editor's escapes: "" for a quote, \n for a line break.
    text = description.replace("\\n", "\n").replace('""', '"')
    assert text == inspect.getdoc(xlapm.udfs.APM_SEGMENT)[:255]


def test_committed_udf_wrappers_are_a_fresh_generation() -> None:
    committed = build.UDF_WRAPPERS.read_text(encoding="utf-8")

    assert committed == udf_wrapper_vba(), REBUILD_HINT


def test_addin_holds_the_committed_udf_wrappers(macros: dict[str, str]) -> None:
    committed = build.UDF_WRAPPERS.read_text(encoding="utf-8")

    assert (
        macros["xlwings_udfs.bas"].replace("\r\n", "\n")
        == committed.rstrip("\n") + "\n"
    )


def test_write_udf_wrappers_writes_the_generated_module(tmp_path: Path) -> None:
    target = write_udf_wrappers(tmp_path / "vba" / "xlwings_udfs.bas")

    assert target.read_bytes() == udf_wrapper_vba().encode("utf-8")


def test_generating_the_wrappers_leaves_nothing_behind() -> None:
    decorators = (xlwings.func, xlwings.arg, xlwings.ret)
    had_udfs_attribute = hasattr(xlwings, "udfs")
    first_before = set(sys.modules)

    udf_wrapper_vba()
    # Real modules xlwings.udfs needs (asyncio...) may stay imported; a second
    # run then must leave sys.modules exactly as it found it.
    before = dict(sys.modules)
    udf_wrapper_vba()

    assert sys.modules == before
    assert (xlwings.func, xlwings.arg, xlwings.ret) == decorators
    assert hasattr(xlwings, "udfs") == had_udfs_attribute
    assert sys.modules["xlapm.udfs"] is xlapm.udfs
    assert not hasattr(xlapm.udfs.APM_TIER, "__xlfunc__")
    if not HAS_COM:
        leaked = set(sys.modules) - first_before
        assert not leaked & {*WINDOWS_ONLY, "xlwings.udfs"}
        assert xlwings.func("category") is not None  # still the plain decorator


SAMPLE_UDFS = '''
import xlwings as xw


@xw.func(category="Samples")
@xw.arg("text", doc="Any text.")
def SHOUT(text, times=1, caller=None):
    r"""Upper case text, as in "HELLO"; a path like C:\\temp stays."""
    return text.upper() * times
'''


@pytest.fixture()
def sample_udfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A UDF module named ``sample_udfs`` that Python can import."""
    (tmp_path / "sample_udfs.py").write_text(SAMPLE_UDFS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "sample_udfs"


def test_wrappers_follow_xlwings_format(sample_udfs: str) -> None:
    code = udf_wrapper_vba(sample_udfs, workbook_name="samples.xlsm")

    assert code == (
        'Attribute VB_Name = "xlwings_udfs"\n'
        "'Autogenerated code by xlwings - changes will be lost with next import!\n"
        '#Const App = "Microsoft Excel" \'Adjust when using outside of Excel\n'
        "Function SHOUT(text, Optional times)\n"
        'Attribute SHOUT.VB_Description = "Upper case text, as in ""HELLO""; '
        'a path like C:\\\\temp stays."\n'
        '    #If App = "Microsoft Excel" Then\n'
        "        If TypeOf Application.Caller Is Range Then On Error GoTo failed\n"
        '        SHOUT = XLPy.CallUDF("sample_udfs", "SHOUT", '
        "Array(text, times, Nothing), ThisWorkbook, Application.Caller)\n"
        "        Exit Function\n"
        "    #Else\n"
        '        SHOUT = XLPy.CallUDF("sample_udfs", "SHOUT", '
        "Array(text, times, Nothing))\n"
        "        Exit Function\n"
        "    #End If\n"
        "failed:\n"
        "    SHOUT = Err.Description\n"
        "End Function\n"
        "\n"
    )
    assert sample_udfs not in sys.modules


def test_udf_without_docstring_is_refused(sample_udfs: str, tmp_path: Path) -> None:
    source = tmp_path / "sample_udfs.py"
    source.write_text(re.sub(r'    r""".*"""\n', "", source.read_text()))

    with pytest.raises(FileProblem) as raised:
        udf_wrapper_vba(sample_udfs)

    assert str(raised.value) == (
        "The UDF sample_udfs.SHOUT has no docstring, so Excel's function wizard "
        "would show the path of its source file."
    )


def test_unknown_udf_module_is_refused() -> None:
    with pytest.raises(FileProblem) as raised:
        udf_wrapper_vba("xlapm.no_such_udfs")

    assert str(raised.value) == (
        "Cannot find the UDF module 'xlapm.no_such_udfs' to write its VBA wrappers."
    )


def test_build_without_udf_wrappers_is_refused(sources: Path, tmp_path: Path) -> None:
    (sources / "vba" / "xlwings_udfs.bas").unlink()

    with pytest.raises(FileProblem) as raised:
        build_addin(tmp_path / "out.xlam", sources=sources)

    assert str(raised.value) == (
        f"{sources / 'vba'} has no xlwings_udfs.bas, so Excel would not know the "
        "APM_ formulas."
    )


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice")
def test_libreoffice_imports_the_vba_project(addin: Path, tmp_path: Path) -> None:
    # LibreOffice does not open add-ins, so hand it the same parts as a
    # macro-enabled workbook: only the workbook's content type differs.
    workbook = tmp_path / "xlapm.xlsm"
    with zipfile.ZipFile(addin) as source, zipfile.ZipFile(workbook, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "[Content_Types].xml":
                data = data.replace(b".addin.macroEnabled.", b".sheet.macroEnabled.")
            target.writestr(name, data)

    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "ods",
            "--outdir",
            str(tmp_path),
            str(workbook),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    with zipfile.ZipFile(tmp_path / "xlapm.ods") as converted:
        library = converted.read("Basic/xlapm/script-lb.xml").decode()
        ribbon_module = converted.read("Basic/xlapm/XlapmRibbon.xml").decode()
        wrappers = converted.read("Basic/xlapm/xlwings_udfs.xml").decode()

    modules = ("ThisWorkbook", "Sheet2", "Dictionary", "xlwings", "XlapmRibbon")
    for module in (*modules, "xlwings_udfs"):
        assert f'library:name="{module}"' in library
    for sub in ("XlapmRebuild", "XlapmPlaybook", "XlapmSnapshotQuarter"):
        assert f"Public Sub {sub}(control As IRibbonControl)" in ribbon_module
    assert "Public Sub XlapmHelp(control As IRibbonControl)" in ribbon_module
    for name in UDFS:
        assert f"Function {name}(" in wrappers


def test_macros_module_has_every_entry_point() -> None:
    macros = pytest.importorskip("xlapm.macros", reason="xlapm.macros not written yet")

    for entry_point in BUTTONS.values():
        assert callable(getattr(macros, entry_point)), entry_point


# The worked example of MS-OVBA section 3.2.
SPEC_TEXT = b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
SPEC_CONTAINER = bytes.fromhex(
    "012FB000236161616263646582660070616768696A013808616B6C00306D6E6F70"
    "0671027004107273747576107778797A003C"
)


def test_decompress_reads_the_specification_example() -> None:
    assert decompress(SPEC_CONTAINER) == SPEC_TEXT
    # Equal matches may be taken from different places, so only the size and
    # the meaning of the compressed bytes can be compared with the example.
    assert len(compress(SPEC_TEXT)) == len(SPEC_CONTAINER)


@pytest.mark.parametrize("size", [0, 1, 3, 57, 4095, 4096, 4097, 8192, 12345])
def test_compressed_source_reads_back_in_oletools(size: int) -> None:
    words = b'Sub End Function RunPython "xlapm" \r\n    If Then Dim As '
    text = bytes(words[(i * 7919) % len(words)] for i in range(size))

    container = compress(text)

    assert bytes(decompress_stream(bytearray(container))) == text
    assert decompress(container) == text


def test_chunk_headers_always_say_compressed() -> None:
    # Excel is reported to drop modules stored in raw chunks, so none is raw.
    container = compress(bytes(range(256)) * 40)
    position = 1
    while position < len(container):
        (header,) = struct.unpack_from("<H", container, position)
        assert header & 0xF000 == 0xB000
        position += (header & 0x0FFF) + 3


def test_on_action_without_callback_is_refused(sources: Path, tmp_path: Path) -> None:
    ribbon_xml = sources / "ribbon.xml"
    text = ribbon_xml.read_text().replace("XlapmRibbon.XlapmHelp", "XlapmRibbon.Nope")
    ribbon_xml.write_text(text)

    with pytest.raises(FileProblem) as raised:
        build_addin(tmp_path / "out.xlam", sources=sources)

    assert str(raised.value) == (
        "Ribbon control 'xlapmHelp' calls XlapmRibbon.Nope, but no VBA file "
        "defines Sub Nope(control As IRibbonControl) there."
    )
    assert not (tmp_path / "out.xlam").exists()


def test_ribbon_in_another_namespace_is_refused(sources: Path, tmp_path: Path) -> None:
    ribbon_xml = sources / "ribbon.xml"
    text = ribbon_xml.read_text().replace("2009/07/customui", "2006/01/customui")
    ribbon_xml.write_text(text)

    with pytest.raises(FileProblem) as raised:
        build_addin(tmp_path / "out.xlam", sources=sources)

    assert str(raised.value) == (
        f"{ribbon_xml} must have a <customUI> root in the namespace "
        "http://schemas.microsoft.com/office/2009/07/customui, not "
        "{http://schemas.microsoft.com/office/2006/01/customui}customUI."
    )


def test_malformed_ribbon_is_refused(sources: Path, tmp_path: Path) -> None:
    ribbon_xml = sources / "ribbon.xml"
    ribbon_xml.write_text("<customUI>")

    with pytest.raises(FileProblem) as raised:
        build_addin(tmp_path / "out.xlam", sources=sources)

    assert str(raised.value).startswith(f"{ribbon_xml} is not well-formed XML: ")


def test_module_without_its_name_attribute_is_refused(
    sources: Path, tmp_path: Path
) -> None:
    module = sources / "vba" / "XlapmRibbon.bas"
    module.write_text(module.read_text().split("\n", 1)[1])

    with pytest.raises(FileProblem) as raised:
        build_addin(tmp_path / "out.xlam", sources=sources)

    assert str(raised.value) == (
        f'{module} must start with the line Attribute VB_Name = "XlapmRibbon".'
    )


def test_module_with_text_vba_cannot_store_is_refused(
    sources: Path, tmp_path: Path
) -> None:
    module = sources / "vba" / "XlapmRibbon.bas"
    module.write_text(module.read_text() + "' \u2192 quadrant\n", encoding="utf-8")

    with pytest.raises(FileProblem) as raised:
        build_addin(tmp_path / "out.xlam", sources=sources)

    assert str(raised.value) == f"{module} has a character VBA cannot store: '\u2192'."


def test_missing_callback_folder_is_refused(sources: Path, tmp_path: Path) -> None:
    shutil.rmtree(sources / "vba")

    with pytest.raises(FileProblem) as raised:
        build_addin(tmp_path / "out.xlam", sources=sources)

    assert str(raised.value) == (
        f"{sources / 'vba'} has no .bas files with the ribbon callbacks."
    )


def test_install_on_linux_says_what_to_do_by_hand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(build.sys, "platform", "linux")

    with pytest.raises(FileProblem) as raised:
        install_addin()

    assert str(raised.value) == (
        "Excel add-ins install only where Excel runs (Windows or macOS): copy "
        f"{build.SHIPPED_ADDIN} into Excel's XLSTART folder, or add it in Excel "
        "under File > Options > Add-ins > Go... > Browse."
    )


def test_install_runs_xlwings_addin_install(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def run(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(
            command, 0, "Successfully installed the xlwings add-in! ", ""
        )

    monkeypatch.setattr(build.sys, "platform", "win32")
    monkeypatch.setattr(build.subprocess, "run", run)

    report = install_addin()

    assert report == "Successfully installed the xlwings add-in!"
    assert calls[0][1:] == [
        "-m",
        "xlwings.cli",
        "addin",
        "install",
        "--file",
        str(build.SHIPPED_ADDIN),
    ]


def test_install_reports_what_xlwings_printed_on_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    printed = "Error: Failed to install the add-in: If Excel is running, quit Excel."

    def run(command, **kwargs):
        return subprocess.CompletedProcess(command, 0, printed, "")

    monkeypatch.setattr(build.sys, "platform", "darwin")
    monkeypatch.setattr(build.subprocess, "run", run)

    with pytest.raises(FileProblem) as raised:
        install_addin()

    assert str(raised.value) == f"xlwings could not install xlapm.xlam: {printed}"


def test_install_of_a_missing_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "gone.xlam"

    with pytest.raises(FileProblem) as raised:
        install_addin(missing)

    assert str(raised.value) == f"The add-in {missing} does not exist."


def test_cli_addin_build_writes_the_output_only(
    parts: dict[str, bytes], tmp_path: Path
) -> None:
    committed = COMMITTED.read_bytes(), build.UDF_WRAPPERS.read_bytes()
    target = tmp_path / "out" / "xlapm.xlam"

    result = CliRunner().invoke(main, ["addin", "build", "-o", str(target)])

    assert result.exit_code == 0, result.output
    assert result.stdout == f"Wrote {target}\n"
    with zipfile.ZipFile(target) as package:
        assert {name: package.read(name) for name in package.namelist()} == parts
    assert (COMMITTED.read_bytes(), build.UDF_WRAPPERS.read_bytes()) == committed


def test_cli_addin_build_without_output_rebuilds_the_shipped_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    written = (tmp_path / "a.bas", tmp_path / "b.xlam", tmp_path / "c.xlam")
    monkeypatch.setattr("xlapm.cli.addin.build_shipped_addins", lambda: written)

    result = CliRunner().invoke(main, ["addin", "build"])

    assert result.exit_code == 0, result.output
    assert result.stdout == "".join(f"Wrote {path}\n" for path in written)


def test_cli_addin_build_refuses_an_output_that_is_no_addin(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["addin", "build", "-o", str(tmp_path / "xlapm.xlsx")]
    )

    assert result.exit_code == 2
    assert "Invalid value for '-o' / '--output': 'xlapm.xlsx' must end in .xlam." in (
        result.stderr
    )
    assert not (tmp_path / "xlapm.xlsx").exists()


def test_cli_addin_install_on_linux_exits_1_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(build.sys, "platform", "linux")

    result = CliRunner().invoke(main, ["addin", "install"])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: Excel add-ins install only where Excel runs (Windows or macOS): "
        f"copy {build.SHIPPED_ADDIN} into Excel's XLSTART folder, or add it in "
        "Excel under File > Options > Add-ins > Go... > Browse.\n"
        "Hint: Run `xlapm addin install` on the computer that has Excel.\n"
    )
