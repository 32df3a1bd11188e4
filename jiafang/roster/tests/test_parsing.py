"""Reading roster files: cells, headers, encodings, and hostile files (SECURITY E6)."""

import datetime as dt
import io
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
    members["xl/worksheets/sheet1.xml"] = sheet.replace(b'<dimension ref="A1:C3" />',
                                                        b'<dimension ref="A1" />')
    assert members["xl/worksheets/sheet1.xml"] != sheet
    table = read_table("a.xlsx", _zip(members))
    assert [r.values["name"] for r in table.rows] == ["甲", "乙"]
