"""The CSV export opened in real LibreOffice Calc (headless): no cell becomes a formula."""

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from conftest import require, sign_in

from lepsite.admin.export import COLUMNS, safe_cell

CALC_CSV = "Text - txt - csv (StarCalc)"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"

# Fields an attacker fills in through the public form, each with a formula a spreadsheet
# would compute. Single-line fields lose tabs and line breaks to the form, so those go in the
# long texts, which keep them (with a browser's CRLF).
PAYLOADS = [
    {
        "organisation_name": "Org;=2+3;x",
        "contact_name": '=HYPERLINK("http://x")',
        "municipality": "x,=1+1",
        "contact_role": "@SUM(1)",
        "contribution": "-2+3",
        "motivation": "Goals:\r\n=4+5\r\n- training\r\n\r\nTab:\t=6+1\r\n\t=7+1",
        "email": "one@example.org",
    },
    {
        "organisation_name": "Smith-Jones Ltd|=7+7",
        "contact_name": "Ana Smith-Jones",
        "municipality": "Kyiv; =8+8",
        "contribution": "Places\t+9+9;=3+3 | @SUM(2)",
        "motivation": '"quoted";=5+5\n\n-1+1,=6+6',
        "email": "two@example.org",
    },
]
PHONE = "+380 44 000 00 00"  # the form's default: a plus at the start, as phones have


@pytest.fixture
def soffice():
    """The LibreOffice program, or a skip (a failure in CI) when it is not installed."""
    program = shutil.which("soffice")
    require(program is not None, "LibreOffice Calc (soffice, Debian: libreoffice-calc)")
    return program


@pytest.fixture
def export(app, client, apply, make_user):
    """The CSV an admin downloads after the applications in PAYLOADS came in."""
    make_user("admin@example.org", role="admin")
    for fields in PAYLOADS:
        response = apply(**fields)
        assert "/apply/status/" in response.headers.get("Location", ""), response.status
    sign_in(client, "admin@example.org")
    response = client.get("/admin/applications/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return response.get_data()


def open_in_calc(soffice: str, tmp_path, data: bytes, options: str) -> ET.Element:
    """Import ``data`` into Calc with CSV filter ``options``; the sheet as flat ODF XML."""
    source = tmp_path / "applications.csv"
    source.write_bytes(data)
    out = tmp_path / "calc"
    # A profile of its own, so parallel runs and a user's open LibreOffice do not collide.
    profile = (tmp_path / "lo-profile").as_uri()
    command = [
        soffice,
        f"-env:UserInstallation={profile}",
        "--headless",
        "--norestore",
        f"--infilter={CALC_CSV}:{options}",
        "--convert-to",
        "fods",
        "--outdir",
        str(out),
        str(source),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    converted = out / "applications.fods"
    assert converted.is_file(), (done.returncode, done.stdout, done.stderr)
    return ET.parse(converted).getroot()


def paragraph_text(element: ET.Element) -> str:
    """The text of an ODF paragraph, with its space, tab and line-break elements."""
    parts = [element.text or ""]
    for child in element:
        name = child.tag.removeprefix(TEXT)
        if name == "s":
            parts.append(" " * int(child.get(f"{TEXT}c", "1")))
        elif name == "tab":
            parts.append("\t")
        elif name == "line-break":
            parts.append("\n")
        else:
            parts.append(paragraph_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def cells(sheet: ET.Element) -> list[list[ET.Element]]:
    """Every row of the first table as its cells, repeated cells spelt out."""
    table = sheet.find(f".//{TABLE}table")
    rows = []
    for row in table.iter(f"{TABLE}table-row"):
        found = []
        for cell in row:
            repeat = int(cell.get(f"{TABLE}number-columns-repeated", "1"))
            found.extend([cell] * min(repeat, len(COLUMNS)))
        rows.append(found)
    return rows


def cell_text(cell: ET.Element) -> str:
    """What the cell shows: its paragraphs, one per line."""
    return "\n".join(paragraph_text(p) for p in cell.iter(f"{TEXT}p"))


def formulas(sheet: ET.Element) -> list[str]:
    """The formulas Calc made of the import, with the text it shows for each."""
    return [
        f"{cell.get(f'{TABLE}formula')} -> {cell_text(cell)!r}"
        for cell in sheet.iter(f"{TABLE}table-cell")
        if cell.get(f"{TABLE}formula") is not None
    ]


def texts(sheet: ET.Element) -> list[str]:
    """What every cell of the sheet shows, row by row."""
    return [cell_text(cell) for row in cells(sheet) for cell in row]


def pieces(text: str) -> list[str]:
    """The pieces of a field that a split at ``;`` or a line break leaves, as Calc shows them.

    Apostrophes, quotes and tabs are left out: the export adds apostrophes, Calc keeps some of
    the quotes where it splits a quoted field, and drops tabs from multi-line cells.
    """
    text = without(text.replace("\r\n", "\n"), "'\"\t")
    return [piece for piece in re.split(r"[;\n]", text) if piece]


def without(text: str, characters: str) -> str:
    """``text`` with every one of ``characters`` taken out."""
    return text.translate({ord(character): None for character in characters})


# The comma the file is written with, and the semicolon Calc offers in the bs and uk locales.
SEPARATORS = {"comma": 44, "semicolon": 59}


@pytest.mark.parametrize("separator", SEPARATORS)
def test_calc_computes_no_cell_and_keeps_the_text(soffice, export, tmp_path, separator):
    # Separator, text delimiter '"', UTF-8 (76), from line 1: what a user picks in the dialog.
    sheet = open_in_calc(soffice, tmp_path, export, f"{SEPARATORS[separator]},34,76,1")

    assert formulas(sheet) == []
    kinds = {cell.get(f"{OFFICE}value-type") for cell in sheet.iter(f"{TABLE}table-cell")}
    assert kinds <= {None, "string", "date", "boolean"}, kinds  # no number came out of a sum
    shown = texts(sheet)
    # Not even the signs only Excel runs (+ - @) begin a cell: Calc shows them as plain text.
    assert [text for text in shown if text.lstrip(' "\t')[:1] in set("=+-@")] == []
    everything = without("\n".join(shown), "'\"\t")
    for fields in PAYLOADS:
        for original in (*fields.values(), PHONE):
            for piece in pieces(original):
                assert piece in everything, (piece, shown)


def test_calc_reads_each_field_into_its_own_cell(soffice, export, tmp_path):
    sheet = open_in_calc(soffice, tmp_path, export, "44,34,76,1")

    rows = [[cell_text(cell) for cell in row] for row in cells(sheet)]
    assert rows[0] == list(COLUMNS)
    by_email = {
        row[COLUMNS.index("email")]: dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]
    }
    assert set(by_email) == {fields["email"] for fields in PAYLOADS}
    for fields in PAYLOADS:
        row = by_email[fields["email"]]
        for column, original in {**fields, "phone": PHONE}.items():
            original = original.replace("\r\n", "\n")
            # What the export wrote: the original, an apostrophe before each cell start with a
            # formula sign, and the tabs (which Calc drops from a multi-line cell).
            assert without(row[column], "\t") == without(safe_cell(original), "\t"), column
            assert without(row[column], "'\t") == without(original, "'\t"), column


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("Smith-Jones", "Smith-Jones"),
        ("2+3 places", "2+3 places"),
        (PHONE, "'" + PHONE),
        ("\t=1+1", "'\t'=1+1"),
        ("\r=1+1", "\n'=1+1"),
        ("a\r\n\r\n- b", "a\n\n'- b"),
        ("x, =1+1", "x, '=1+1"),
        ("O'Brien|@x", "O'Brien|'@x"),
        (None, ""),
        (True, "True"),
    ],
)
def test_safe_cell_marks_every_cell_start(value, written):
    assert safe_cell(value) == written
