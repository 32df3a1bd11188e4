"""Reading roster files: cells, headers, encodings, and hostile files (SECURITY E6)."""

import datetime as dt
import io
import re
import time
import zipfile

import openpyxl
import pytest

from jiafang.roster import parsing
from jiafang.roster.parsing import CellError, GradeRef, parse_class, read_table
from jiafang.roster.tests.conftest import csv_bytes, xlsx


def test_openpyxl_parses_with_defusedxml():
    assert openpyxl.DEFUSEDXML is True


@pytest.mark.parametrize(("text", "grade", "number"), [
    ("2", None, 2), ("(2)班", None, 2), ("（2）班", None, 2), ("2班", None, 2),
    ("三(2)班", 3, 2), ("三年级2班", 3, 2), ("三年级(2)班", 3, 2), ("3年级2班", 3, 2),
    ("3.2", 3, 2), ("3-2", 3, 2), ("三年级二班", 3, 2), ("初一(3)班", 7, 3), ("初二3班", 8, 3),
    ("初三（1）班", 9, 1), ("高一(2)班", 10, 2), ("高三12班", 12, 12), ("十二(1)班", 12, 1),
    ("七年级(4)班", 7, 4), ("301班", 3, 1), (" 三 ( 2 ) 班 ", 3, 2), ("12", None, 12),
])
def test_class_spellings(text, grade, number):
    ref = parse_class(text)
    assert ref.number == number
    assert (ref.grade.grade if ref.grade else None) == grade


def test_cohort_class():
    assert parse_class("2023级3班").grade == GradeRef(cohort=2023)


@pytest.mark.parametrize("text", ["三年级", "abc", "0班", "13.2", "三年级一百班"])
def test_unreadable_classes(text):
    with pytest.raises(CellError, match="无法识别的班级"):
        parse_class(text)


@pytest.mark.parametrize(("text", "grade"), [
    ("三年级", 3), ("三", 3), ("3", 3), ("初一", 7), ("初中二年级", 8), ("高二", 11), ("九年级", 9),
])
def test_grades(text, grade):
    assert parsing.parse_grade(text) == GradeRef(grade=grade)


@pytest.mark.parametrize(("value", "expected"), [
    (dt.datetime(2015, 3, 2), dt.date(2015, 3, 2)), (dt.date(2015, 3, 2), dt.date(2015, 3, 2)),
    (42065, dt.date(2015, 3, 2)), (42065.0, dt.date(2015, 3, 2)),
    ("2015-03-02", dt.date(2015, 3, 2)),
    ("2015/3/2", dt.date(2015, 3, 2)), ("2015.3.2", dt.date(2015, 3, 2)),
    ("2015年3月2日", dt.date(2015, 3, 2)), ("20150302", dt.date(2015, 3, 2)),
    (20150302, dt.date(2015, 3, 2)), ("2015-03-02 00:00:00", dt.date(2015, 3, 2)),
    ("２０１５－０３－０２", dt.date(2015, 3, 2)), (None, None), ("", None),
])
def test_dates(value, expected):
    assert parsing.parse_date(value)[0] == expected


def test_year_and_month_only_is_kept_as_the_first_with_a_warning():
    value, warnings = parsing.parse_date("2015.03")
    assert value == dt.date(2015, 3, 1) and "只有年月" in warnings[0]
    assert parsing.parse_date(201503)[0] == dt.date(2015, 3, 1)
    with pytest.raises(CellError, match="无法确定月份"):
        parsing.parse_date(2015.1)  # typed 2015.10 into a number cell


@pytest.mark.parametrize(("value", "expected"), [
    (13812345678.0, "13812345678"), (13812345678, "13812345678"),
    ("138 1234 5678", "13812345678"), ("138-1234-5678", "13812345678"),
    ("+86 13812345678", "13812345678"), ("１３８１２３４５６７８", "13812345678"),
    ("0519-88881234", "0519-88881234"), ("051988881234", "051988881234"),
    ("(0519)88881234", "0519-88881234"), ("010-12345678", "010-12345678"), (None, ""),
])
def test_phones(value, expected):
    assert parsing.parse_phone(value)[0] == expected


@pytest.mark.parametrize("value", ["12345", "23812345678", "1381234567", "电话", "1.38123E+10"])
def test_impossible_phones(value):
    with pytest.raises(CellError):
        parsing.parse_phone(value)


def test_two_numbers_in_one_cell_keep_the_first():
    phone, warnings = parsing.parse_phone("13812345678/13987654321")
    assert phone == "13812345678" and "只保存第一个" in warnings[0]


def test_codes_never_get_a_decimal_point():
    assert parsing.parse_code(2021001) == "2021001"
    assert parsing.parse_code(2021001.0) == "2021001"
    assert parsing.parse_code("2021001.0") == "2021001"
    assert parsing.parse_code(" Ａ０００１ ") == "A0001"
    with pytest.raises(CellError, match="末几位已经丢失"):
        parsing.parse_code(float("32041220150302001"))


@pytest.mark.parametrize(("value", "expected"), [
    ("男", "M"), ("女", "F"), ("M", "M"), ("f", "F"), (1, "M"), (2, "F"), ("2", "F"), (None, ""),
])
def test_genders(value, expected):
    assert parsing.parse_gender(value) == expected


def test_category_lists_split_on_every_separator():
    assert parsing.parse_list("留守、单亲，心理, 经济;学困；残障 随迁") == [
        "留守", "单亲", "心理", "经济", "学困", "残障", "随迁"]
    assert parsing.parse_list("无") == []


def test_header_found_below_title_rows_and_matched_by_name():
    data = xlsx([
        ["某某小学2026学年学生名册"], [None], ["制表：德育处"],
        ["备注", "班别", "学籍号", "学生姓名", "监护人姓名", "联系电话", "身份证号"],
        ["", "三(1)班", 2021001, "张三", "张父", 13812345678, "320412201503020011"],
    ], merged=["A1:G1"])
    table = read_table("a.xlsx", data)
    assert table.header_row == 4
    assert table.labels == {"class": "班别", "student_number": "学籍号", "name": "学生姓名",
                            "guardian_name": "监护人姓名", "guardian_phone": "联系电话"}
    [row] = table.rows
    assert row.number == 5
    assert row.values["student_number"] == "2021001"
    assert row.values["guardian_phone"] == "13812345678"
    assert "320412201503020011" not in repr(row.values)
    texts = [m.text for m in table.messages]
    assert any("身份证号" in t and "最少必要" in t for t in texts)
    assert any("备注" in t and "已忽略" in t for t in texts)


def test_a_vertically_merged_class_fills_its_students():
    data = xlsx([
        ["学号", "姓名", "班级"],
        ["1", "甲", "三(1)班"], ["2", "乙", None], ["3", "丙", None], ["4", "丁", "三(2)班"],
    ], merged=["C2:C4"])
    table = read_table("a.xlsx", data)
    assert [r.values["class"].number for r in table.rows] == [1, 1, 1, 2]


def test_the_roster_sheet_is_chosen_among_several():
    data = xlsx([["说明：请在第二个工作表填写"]], extra_sheets={
        "学生": [["学号", "姓名", "班级"], ["1", "甲", "三(1)班"]]})
    table = read_table("a.xlsx", data)
    assert table.sheet == "学生" and len(table.rows) == 1


def test_formulas_give_their_cached_values_and_footers_are_skipped():
    data = xlsx([["学号", "姓名", "班级"], ["1", "甲", "三(1)班"], ["合计：1人", None, None]])
    table = read_table("a.xlsx", data)
    assert len(table.rows) == 1
    assert any("表尾" in m.text for m in table.messages)


@pytest.mark.parametrize(("encoding", "bom", "delimiter"), [
    ("utf-8", False, ","), ("utf-8", True, ","), ("gbk", False, ","), ("gb18030", False, "\t"),
    ("utf-8", False, ";"), ("utf-16", False, "\t"),
])
def test_csv_encodings_and_delimiters(encoding, bom, delimiter):
    data = csv_bytes([["学号", "姓名", "班级", "家庭住址"],
                      ["2021001", "张三", "三(1)班", "塘桥路18号"]],
                     encoding=encoding, bom=bom, delimiter=delimiter)
    table = read_table("a.csv", data)
    assert not table.refused, table.messages
    assert table.rows[0].values == {"student_number": "2021001", "name": "张三",
                                    "class": parse_class("三(1)班"), "address": "塘桥路18号"}


def test_missing_required_columns():
    table = read_table("a.csv", csv_bytes([["学号", "性别", "出生日期"], ["1", "男", ""]]))
    assert table.refused
    assert "缺少必需的列：姓名、班级" in table.messages[-1].text


def test_no_header_at_all():
    table = read_table("a.csv", csv_bytes([["a", "b"], ["1", "2"]]))
    assert table.refused and "没有找到表头" in table.messages[0].text


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xlsx"),
    ("renamed.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "另存为"),
    ("broken.xlsx", b"PK\x03\x04 not really", "可能已损坏"),
    ("roster.pdf", b"%PDF-1.4", "不支持的文件类型"),
    ("empty.csv", b"", "文件是空的"),
])
def test_files_that_are_not_rosters(name, data, expected):
    table = read_table(name, data)
    assert table.refused and expected in table.messages[0].text


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_zip_bomb_refused_before_opening():
    bomb = _zip({"xl/workbook.xml": b"<workbook/>",
                 "xl/worksheets/sheet1.xml": b"\0" * (parsing.ZIP_MAX_UNCOMPRESSED + 1)})
    assert len(bomb) < 1_000_000
    started = time.monotonic()
    table = read_table("bomb.xlsx", bomb)
    assert time.monotonic() - started < 2  # generous: CI machines are shared
    assert table.refused and "出于安全原因" in table.messages[0].text


def test_too_many_zip_members_refused():
    many = _zip({"xl/workbook.xml": b"<workbook/>",
                 **{f"xl/media/{i}.bin": b"x" for i in range(parsing.ZIP_MAX_MEMBERS)}})
    table = read_table("many.xlsx", many)
    assert table.refused and "出于安全原因" in table.messages[0].text


def test_billion_laughs_refused():
    good = xlsx([["学号", "姓名", "班级"], ["1", "甲", "三(1)班"]])
    entities = b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10) for i in range(1, 10))
    dtd = b'<!DOCTYPE worksheet [<!ENTITY lol0 "lol">' + entities + b"]>"
    source = zipfile.ZipFile(io.BytesIO(good))
    members = {info.filename: source.read(info.filename) for info in source.infolist()}
    sheet = members["xl/worksheets/sheet1.xml"]
    members["xl/worksheets/sheet1.xml"] = dtd + sheet.replace("甲".encode(), b"&lol9;")
    started = time.monotonic()
    table = read_table("laughs.xlsx", _zip(members))
    assert time.monotonic() - started < 3
    assert table.refused and "出于安全原因" in table.messages[0].text


def test_too_many_rows_csv_refused_quickly():
    lines = ["学号,姓名,班级"] + [f"{i},学生{i},三(1)班" for i in range(parsing.MAX_ROWS + 100)]
    started = time.monotonic()
    table = read_table("big.csv", "\n".join(lines).encode())
    assert time.monotonic() - started < 5
    assert table.refused and "20000" in table.messages[0].text and not table.rows


def test_too_many_rows_xlsx_refused_quickly():
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["学号", "姓名", "班级"])
    for i in range(parsing.MAX_ROWS + 100):
        sheet.append([i, "某", "三(1)班"])
    out = io.BytesIO()
    book.save(out)
    started = time.monotonic()
    table = read_table("big.xlsx", out.getvalue())
    assert time.monotonic() - started < 10
    assert table.refused and "20000" in table.messages[0].text


def test_a_staff_file_uploaded_as_students_says_so():
    data = csv_bytes([["姓名", "手机号", "角色", "任教班级"], ["钱老师", "13911110001", "班主任",
                                                               "三(1)班"]])
    table = read_table("a.csv", data, "students")
    assert table.refused and "教职工名册" in table.messages[-1].text


def test_a_wrong_sheet_dimension_does_not_hide_rows():
    """Exports from some school systems claim <dimension ref="A1"/>: every row is still read."""
    good = xlsx([["学号", "姓名", "班级"], ["1", "甲", "三(1)班"], ["2", "乙", "三(2)班"]])
    source = zipfile.ZipFile(io.BytesIO(good))
    members = {info.filename: source.read(info.filename) for info in source.infolist()}
    sheet = members["xl/worksheets/sheet1.xml"]
    # the writer may or may not put a space before "/>" (lxml installed or not)
    members["xl/worksheets/sheet1.xml"] = re.sub(rb'<dimension ref="A1:C3"\s*/>',
                                                 b'<dimension ref="A1"/>', sheet)
    assert members["xl/worksheets/sheet1.xml"] != sheet
    table = read_table("a.xlsx", _zip(members))
    assert [r.values["name"] for r in table.rows] == ["甲", "乙"]


# --- hostile workbooks: memory and time stay bounded (SECURITY E2, E6) -------------------------

def _save(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _small_roster() -> dict[str, bytes]:
    good = xlsx([["学号", "姓名", "班级"], ["1", "甲", "三(1)班"]])
    source = zipfile.ZipFile(io.BytesIO(good))
    return {info.filename: source.read(info.filename) for info in source.infolist()}


def _with_sheet_xml(edit) -> bytes:
    members = _small_roster()
    members["xl/worksheets/sheet1.xml"] = edit(members["xl/worksheets/sheet1.xml"])
    return _zip(members)


def _measured(data: bytes, name: str = "hostile.xlsx"):
    """The table, the seconds it took, and the peak of traced memory (measured on a second run,
    tracemalloc slows everything down)."""
    import tracemalloc

    started = time.monotonic()
    table = read_table(name, data)
    elapsed = time.monotonic() - started
    tracemalloc.start()
    try:
        read_table(name, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return table, elapsed, peak


MB = 1024 * 1024


def test_a_cell_in_the_last_column_does_not_widen_every_row():
    """One "x" in column XFD on 1,000 rows: each row used to become a 16,384-item list."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["学号", "姓名", "班级"])
    sheet.append(["1", "甲", "三(1)班"])
    for row in range(3, 1003):
        sheet.cell(row=row, column=16384, value="x")
    data = _save(book)
    assert len(data) < 50_000
    table, elapsed, peak = _measured(data)
    assert [r.values["name"] for r in table.rows] == ["甲"]
    assert elapsed < 3 and peak < 50 * MB, (elapsed, peak)


def test_a_value_in_the_last_row_is_refused_without_reading_a_million_rows():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["学号", "姓名", "班级"])
    sheet.append(["1", "甲", "三(1)班"])
    sheet.cell(row=1_048_576, column=1, value="x")
    table, elapsed, peak = _measured(_save(book))
    assert elapsed < 3 and peak < 50 * MB, (elapsed, peak)
    assert table.refused and not table.rows
    assert "第 1048576 行（A1048576 单元格）还有内容" in table.messages[0].text


def test_far_below_in_a_column_not_read_is_ignored_and_rows_within_the_limit_are_read():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["学号", "姓名", "班级"])
    sheet.append(["1", "甲", "三(1)班"])
    sheet.append(["2", "乙", "三(1)班"])
    sheet.cell(row=parsing.LAST_ROW, column=1, value="3")  # many blank rows above: still read
    sheet.cell(row=parsing.LAST_ROW, column=2, value="丙")
    sheet.cell(row=parsing.LAST_ROW, column=3, value="三(2)班")
    sheet.cell(row=1_048_576, column=16384, value="x")  # a stray mark no roster column holds
    table, elapsed, peak = _measured(_save(book))
    assert elapsed < 3 and peak < 50 * MB, (elapsed, peak)
    assert not table.refused, table.messages
    assert [(r.number, r.values["name"]) for r in table.rows] == [
        (2, "甲"), (3, "乙"), (parsing.LAST_ROW, "丙")]


def _styles_bloat() -> bytes:
    members = _small_roster()
    members["xl/styles.xml"] = members["xl/styles.xml"].replace(
        b"</cellXfs>", b'<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>' * 200_000
        + b"</cellXfs>")
    return _zip(members)


def _shared_strings_bloat() -> bytes:
    members = _small_roster()
    members["xl/sharedStrings.xml"] = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b"<si><t>a</t></si>" * 300_000 + b"</sst>")
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
        b'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    members["xl/_rels/workbook.xml.rels"] = members["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        b"</Relationships>")
    return _zip(members)


HOSTILE_XML = {
    # one row of a million empty cells
    "huge row": (lambda: _with_sheet_xml(lambda x: x.replace(
        b"</sheetData>", b'<row r="3">' + b"<c/>" * 1_000_000 + b"</row></sheetData>")),
        "内容过多"),
    # column widths repeated a million times before the rows
    "column widths": (lambda: _with_sheet_xml(lambda x: x.replace(
        b"<sheetData>", b"<cols>" + b'<col min="1" max="1" width="9"/>' * 1_000_000
        + b"</cols><sheetData>")), "内容过多"),
    # 150,000 merged ranges
    "merged ranges": (lambda: _with_sheet_xml(lambda x: x.replace(
        b"</sheetData>", b"</sheetData><mergeCells>" + b'<mergeCell ref="A2:C2"/>' * 150_000
        + b"</mergeCells>")), "合并单元格过多"),
    # 200,000 cell styles
    "styles": (_styles_bloat, "内容过多"),
    # 300,000 shared strings
    "shared strings": (_shared_strings_bloat, "内容过多"),
}


@pytest.mark.parametrize("shape", HOSTILE_XML)
def test_xml_floods_are_refused_with_bounded_memory(shape):
    """A few hundred kilobytes of repeated XML elements used to become gigabytes of objects."""
    build, expected = HOSTILE_XML[shape]
    data = build()
    assert len(data) < 1_000_000
    table, elapsed, peak = _measured(data)
    assert elapsed < 3 and peak < 50 * MB, (elapsed, peak)
    assert table.refused and expected in table.messages[0].text


def test_a_million_empty_rows_without_a_dimension_stop_at_the_row_limit():
    """openpyxl read a sheet without <dimension> whole to size it; the rows stop at LAST_ROW."""
    def edit(xml):
        xml = re.sub(rb"<dimension[^>]*/>", b"", xml)
        rows = b"".join(b'<row r="%d" ht="20"/>' % n for n in range(3, 1_000_000))
        return xml.replace(b"</sheetData>", rows + b"</sheetData>")

    data = _with_sheet_xml(edit)
    table, elapsed, peak = _measured(data)
    assert elapsed < 3 and peak < 50 * MB, (elapsed, peak)
    assert not table.refused and [r.values["name"] for r in table.rows] == ["甲"]


def test_a_header_wider_than_the_columns_read_is_told():
    header = ["学号", "姓名", "班级", *(f"列{i}" for i in range(parsing.MAX_COLUMNS))]
    table = read_table("wide.csv", csv_bytes([header, ["1", "甲", "三(1)班"]]))
    assert not table.refused
    assert any(f"只读取了前 {parsing.MAX_COLUMNS} 列" in m.text for m in table.messages)
