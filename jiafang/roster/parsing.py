"""Reading roster files: file bytes → header mapping, rows of normalized values, messages.

Pure functions, no database: what a cell means is decided here (a phone number saved as a
number, a date typed five ways, a class written as 三(2)班 or 3.2), what the school makes of it
(does the class exist, is the grade in the school's stage, is the category known) is decided in
`jiafang.roster.services`.

Files are the ones schools really have: .xlsx saved by Excel, WPS or LibreOffice (title rows and
merged cells above the header, numbers and dates as cells of any type) and .csv in UTF-8 (with or
without BOM), GBK/GB18030 or UTF-16, delimited by commas, tabs or semicolons. Everything is read
in memory (no temporary files, SECURITY E8), and what a file can cost is bounded whatever it holds
(SECURITY E2, E6): zip size and member count, and the elements of every XML part openpyxl parses
whole, are checked before it is opened (defusedxml parses); worksheets are read row by row by
`_sheet_rows`, never below LAST_ROW, only the header's columns once the header is found, keeping
only non-blank rows.

Row numbers in messages are the numbers the user sees at the left of the sheet in Excel/WPS:
1-based, title rows included.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import openpyxl
from defusedxml import DefusedXmlException
from django.utils.translation import gettext as _
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS, WORKSHEET_TYPE
from openpyxl.xml.functions import iterparse

from jiafang.schools.text import normalize, split_list, squash

MAX_ROWS = 20_000
HEADER_SCAN_ROWS = 15
MIN_HEADER_SCORE = 2  # distinct known columns a header row needs
MAX_COLUMNS = 256  # columns looked at for the header (Excel 2003's last column, IV)
BLANK_ROWS_ALLOWED = 5_000  # blank rows between the data rows
LAST_ROW = HEADER_SCAN_ROWS + MAX_ROWS + BLANK_ROWS_ALLOWED  # a sheet is never read below it
MAX_SHEETS_SCANNED = 10
ZIP_MAX_UNCOMPRESSED = 100 * 1024 * 1024
ZIP_MAX_MEMBERS = 1000
# XML elements (each "<" counted) openpyxl may hold at once, however well the file compresses.
XML_MAX_ELEMENTS = 100_000  # styles, workbook, relationships, theme …
SHARED_STRINGS_MAX_ELEMENTS = 1_000_000  # about 250,000 distinct texts
ROW_MAX_ELEMENTS = 100_000  # one worksheet row with all it holds (Excel: at most 16,384 cells)
# Elements read from the worksheets in all (the XML parser is pure Python, ~10 µs an element):
# 20,000 rows of 50 columns of text fit.
SHEETS_MAX_ELEMENTS = 4_000_000
MAX_MERGED = 100_000
SCAN_CHUNK = 1024 * 1024
SCAN_MARGIN = 4096

ERROR = "error"
WARNING = "warning"

# Mainland mobile, or a landline with its area code (0519-88881234 / 051988881234).
MOBILE_RE = re.compile(r"1[3-9]\d{9}")
LANDLINE_RE = re.compile(r"0\d{2,3}-?\d{7,8}")
_SCIENTIFIC_RE = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")

# Never stored (minimum necessary data, PIPL): a column whose header contains one of these.
ID_NUMBER_MARKERS = ("身份证", "证件号", "身份号码", "公民身份", "护照")


# --- messages --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Message:
    """An error (blocks the whole import) or a warning, with the sheet row and column if any."""

    level: str
    text: str
    row: int | None = None
    column: str = ""

    @property
    def is_error(self) -> bool:
        return self.level == ERROR

    def as_text(self) -> str:
        """One line for the command line and logs: 第 5 行 [学号] 学号不能为空"""
        parts = []
        if self.row is not None:
            parts.append(_("第 %(row)s 行") % {"row": self.row})
        if self.column:
            parts.append(f"[{self.column}]")
        parts.append(self.text)
        return " ".join(parts)


def sort_messages(messages: Iterable[Message], columns: Iterable[str] = ()) -> list[Message]:
    """File-level messages first, then by row, then by column in the file's order."""
    order = {label: i for i, label in enumerate(columns)}
    return sorted(messages, key=lambda m: (m.row is not None, m.row or 0,
                                           order.get(m.column, len(order))))


# --- columns ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str
    synonyms: tuple[str, ...] = ()
    required: bool = False
    max_length: int = 0
    second: str = ""  # the field a repeated header of this one goes to (家长 … 家长 …)


STUDENT_FIELDS: tuple[Field, ...] = (
    Field("student_number", "学号", "code", ("学号", "学籍号", "学生编号", "学生学号", "学籍编号",
                                            "全国学籍号", "学籍辅号"), required=True, max_length=32),
    Field("name", "姓名", "name", ("姓名", "学生姓名", "学生", "名字"), required=True,
          max_length=50),
    Field("gender", "性别", "gender", ("性别", "学生性别")),
    Field("birth_date", "出生日期", "date", ("出生日期", "出生年月", "生日", "出生年月日",
                                             "出生时间", "出生")),
    Field("grade", "年级", "grade", ("年级", "所在年级", "年级名称")),
    Field("class", "班级", "class", ("班级", "班别", "所在班级", "班级名称", "班", "班号", "行政班"),
          required=True),
    Field("guardian_name", "家长姓名", "name", ("家长", "家长姓名", "监护人", "监护人姓名",
                                                "家长1", "家长1姓名", "监护人1", "监护人1姓名",
                                                "联系人", "联系人姓名", "第一监护人"),
          max_length=50, second="guardian2_name"),
    Field("guardian_relation", "关系", "text", ("关系", "与学生关系", "与学生的关系", "家长关系",
                                                "监护人关系", "关系1", "与学生关系1", "称谓"),
          max_length=20, second="guardian2_relation"),
    Field("guardian_phone", "联系电话", "phone", ("电话", "手机", "联系电话", "家长电话",
                                                   "手机号码", "手机号", "家长手机", "家长手机号",
                                                   "联系方式", "电话1", "联系电话1", "监护人电话",
                                                   "监护人手机", "家长联系电话", "家长1电话",
                                                   "监护人1电话", "家庭电话"),
          second="guardian2_phone"),
    Field("guardian2_name", "家长2姓名", "name", ("家长2", "家长2姓名", "监护人2", "监护人2姓名",
                                                  "第二监护人", "联系人2"), max_length=50),
    Field("guardian2_relation", "关系2", "text", ("关系2", "与学生关系2", "家长2关系",
                                                  "监护人2关系"), max_length=20),
    Field("guardian2_phone", "联系电话2", "phone", ("电话2", "手机2", "联系电话2", "家长2电话",
                                                    "监护人2电话", "家长2手机", "监护人2手机",
                                                    "手机号码2", "联系方式2")),
    Field("father_name", "父亲姓名", "name", ("父亲", "父亲姓名"), max_length=50),
    Field("father_phone", "父亲电话", "phone", ("父亲电话", "父亲手机", "父亲联系电话",
                                               "父亲手机号")),
    Field("mother_name", "母亲姓名", "name", ("母亲", "母亲姓名"), max_length=50),
    Field("mother_phone", "母亲电话", "phone", ("母亲电话", "母亲手机", "母亲联系电话",
                                               "母亲手机号")),
    Field("address", "家庭住址", "text", ("家庭住址", "住址", "地址", "家庭地址", "现住址",
                                          "居住地址", "现居住地址", "家庭详细住址"),
          max_length=200),
    Field("community", "社区", "text", ("社区", "小区", "所在社区", "社区(村)", "村(社区)",
                                      "所属社区", "居委会"), max_length=100),
    Field("street", "街道", "text", ("街道", "镇", "街道(镇)", "镇(街道)", "所在街道", "乡镇",
                                   "乡镇(街道)", "街道(乡镇)", "所属街道"), max_length=100),
    Field("family_code", "家庭编号", "code", ("家庭编号", "家庭号", "户编号", "家庭代码"),
          max_length=32),
    Field("categories", "关注类别", "list", ("关注类别", "重点关注", "六类学生", "特殊群体",
                                           "关注类型", "重点关注类别", "学生类别", "特殊类别")),
    Field("status", "学籍状态", "status", ("学籍状态", "在读状态", "在校状态", "状态")),
)

STAFF_FIELDS: tuple[Field, ...] = (
    Field("name", "姓名", "name", ("姓名", "教师姓名", "教职工姓名", "老师姓名", "名字"),
          required=True, max_length=50),
    Field("phone", "手机号", "phone", ("手机号", "手机", "手机号码", "电话", "联系电话",
                                     "登录手机号", "联系方式"), required=True),
    Field("username", "用户名", "username", ("用户名", "账号", "帐号", "登录名", "登录账号"),
          max_length=150),
    Field("roles", "角色", "roles", ("角色", "职务", "岗位", "身份", "职务/角色", "角色/职务"),
          required=True),
    Field("classes", "任教班级", "classes", ("任教班级", "班级", "所教班级", "负责班级",
                                           "任课班级", "所带班级")),
    Field("subject", "任教学科", "text", ("任教学科", "学科", "科目", "任教科目", "任课学科"),
          max_length=20),
)

SCHEMAS = {"students": STUDENT_FIELDS, "staff": STAFF_FIELDS}

_HEADER_NOISE = re.compile(r"[*＊:：\s]|\((?:必填|选填|可选|必填项|非必填)\)")


def header_key(value: object) -> str:
    """The comparable form of a header: 'I 学号 *', '学号（必填）' → '学号'."""
    return _HEADER_NOISE.sub("", squash(value)).lower()


def _synonym_index(fields: tuple[Field, ...]) -> dict[str, Field]:
    index: dict[str, Field] = {}
    for f in fields:
        for synonym in (f.label, *f.synonyms):
            index.setdefault(header_key(synonym), f)
    return index


def match_header(value: object, index: dict[str, Field]) -> Field | None:
    key = header_key(value)
    if not key:
        return None
    if key in index:
        return index[key]
    # 联系电话(手机) / 出生日期(yyyy-mm-dd): drop the explanation in brackets.
    bare = re.sub(r"\(.*?\)", "", key)
    return index.get(bare) if bare else None


def is_id_number_header(value: object) -> bool:
    key = header_key(value)
    return any(marker in key for marker in ID_NUMBER_MARKERS)


# --- cells -----------------------------------------------------------------------------------

class CellError(ValueError):
    """A cell that cannot be read; the message says why, in Chinese."""


def cell_text(value: object) -> str:
    """A cell as text: 13812345678.0 → '13812345678', full-width and stray spaces removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return normalize(value)


def _check_not_scientific(text: str, what: str) -> None:
    if _SCIENTIFIC_RE.fullmatch(text):
        raise CellError(_("%(what)s“%(value)s”显示成了科学计数法，位数已经丢失。请把该列设置为"
                          "“文本”格式后重新填写。") % {"what": what, "value": text})


def parse_code(value: object, *, what: str = "编号") -> str:
    """Student numbers and family codes: 2021001 stays '2021001', never '2021001.0'."""
    if isinstance(value, float) and not value.is_integer():
        raise CellError(_("%(what)s“%(value)s”不是有效的编号") % {"what": what, "value": value})
    if isinstance(value, float) and abs(value) > 2**53:
        raise CellError(_("%(what)s“%(value)s”位数太长，作为数字保存后末几位已经丢失。请把该列"
                          "设置为“文本”格式后重新填写。") % {"what": what, "value": cell_text(value)})
    text = squash(cell_text(value))
    _check_not_scientific(text, what)
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".", 1)[0]
    return text


_CJK_RE = re.compile(r"[\u3400-\u9fff]")


def parse_name(value: object) -> str:
    """'张 三' → '张三' (padding to align two-character names); 'Li  Ming' → 'Li Ming'."""
    text = cell_text(value)
    if _CJK_RE.search(text):
        return squash(text)
    return re.sub(r"\s+", " ", text).strip()


def parse_text(value: object) -> str:
    return re.sub(r"\s+", " ", cell_text(value)).strip()


def _one_phone(text: str) -> str | None:
    """A single number normalized, or None if it is not a phone number."""
    compact = re.sub(r"[\s\-()]", "", text)
    compact = re.sub(r"^(?:\+?86|0086)(?=1[3-9]\d{9}$)", "", compact)
    if MOBILE_RE.fullmatch(compact):
        return compact
    landline = re.sub(r"\s", "", text)
    landline = re.sub(r"^\((0\d{2,3})\)-?", r"\1-", landline)
    if LANDLINE_RE.fullmatch(landline):
        return landline
    return None


def parse_phone(value: object) -> tuple[str, list[str]]:
    """A mainland mobile (1[3-9]\\d{9}) or a landline (0\\d{2,3}-?\\d{7,8}).

    Returns the number and warnings (a cell holding two numbers keeps the first).
    """
    text = cell_text(value)
    if not text:
        return "", []
    _check_not_scientific(text, _("电话号码"))
    single = _one_phone(text)
    if single:
        return single, []
    parts = [p for p in re.split(r"[/、,;|]|\s{2,}|\s(?=1[3-9]\d)", text) if p.strip()]
    if len(parts) > 1:
        numbers = [_one_phone(p.strip()) for p in parts]
        if all(numbers):
            return numbers[0] or "", [_("单元格里有多个电话号码，只保存第一个：%(phone)s")
                                      % {"phone": numbers[0]}]
    raise CellError(_("电话号码不正确：“%(value)s”") % {"value": text})


EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_RE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?")
_MONTH_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?")


def parse_date(value: object) -> tuple[dt.date | None, list[str]]:
    """Date cells, Excel serial numbers, and text: 2015-03-02, 2015/3/2, 2015.3.2, 2015年3月2日,
    20150302. A year and month only (出生年月: 2015.03, 201503) is kept as the 1st, with a warning.
    """
    if value is None or value == "":
        return None, []
    if isinstance(value, dt.datetime):
        return _plausible(value.date()), []
    if isinstance(value, dt.date):
        return _plausible(value), []
    if isinstance(value, float) and not value.is_integer() and 1900 <= value < 2101:
        # 2015.03 typed into a number cell: a year and month; 2015.1 could be January or October.
        text = repr(value)
        if not re.fullmatch(r"\d{4}\.\d{2}", text):
            raise CellError(_("出生日期“%(value)s”被保存成了数字，无法确定月份。请写成 2015-10-01 "
                              "这样的日期。") % {"value": text})
        value = text
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and 19000101 <= value <= 21001231:
            return _ymd(str(int(value))), []
        if 1 <= value < 100_000:
            return _plausible(EXCEL_EPOCH + dt.timedelta(days=int(value))), []
    text = cell_text(value)
    if not text:
        return None, []
    compact = re.sub(r"\s", "", text)
    if m := _DATE_RE.fullmatch(text):
        return _make_date(*(int(g) for g in m.groups()), text), []
    if re.fullmatch(r"\d{8}", compact):
        return _ymd(compact), []
    month_only = _MONTH_RE.fullmatch(text) or re.fullmatch(r"(\d{4})(\d{2})", compact)
    if month_only:
        year, month = (int(g) for g in month_only.groups())
        return _make_date(year, month, 1, text), [
            _("出生日期只有年月（%(value)s），按当月1日保存") % {"value": text}]
    if re.fullmatch(r"\d{5}(?:\.0+)?", compact):  # a serial number typed into a text cell
        return _plausible(EXCEL_EPOCH + dt.timedelta(days=int(float(compact)))), []
    raise CellError(_("出生日期无法识别：“%(value)s”") % {"value": text})


def _ymd(digits: str) -> dt.date:
    return _make_date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]), digits)


def _make_date(year: int, month: int, day: int, text: str) -> dt.date:
    try:
        return _plausible(dt.date(year, month, day))
    except ValueError:
        raise CellError(_("出生日期无法识别：“%(value)s”") % {"value": text}) from None


def _plausible(value: dt.date) -> dt.date:
    if not 1950 <= value.year <= 2100:
        raise CellError(_("出生日期不合理：%(value)s") % {"value": value.isoformat()})
    return value


_GENDERS = {"男": "M", "男性": "M", "男生": "M", "m": "M", "male": "M", "1": "M",
            "女": "F", "女性": "F", "女生": "F", "f": "F", "female": "F", "2": "F"}


def parse_gender(value: object) -> str:
    text = squash(cell_text(value)).lower()
    if not text:
        return ""
    if text in _GENDERS:
        return _GENDERS[text]
    raise CellError(_("性别无法识别：“%(value)s”（应为男或女）") % {"value": cell_text(value)})


_STATUSES = {"在读": "enrolled", "在校": "enrolled", "在籍": "enrolled", "正常": "enrolled",
             "休学": "suspended", "转出": "transferred", "转学": "transferred",
             "已转出": "transferred", "毕业": "graduated", "已毕业": "graduated"}


def parse_status(value: object) -> str:
    text = squash(cell_text(value))
    if not text:
        return ""
    if text in _STATUSES:
        return _STATUSES[text]
    raise CellError(_("学籍状态无法识别：“%(value)s”（可填：在读、休学、转出、毕业）")
                    % {"value": text})


_NONE_WORDS = {"无", "否", "没有", "-", "—", "--", "0", "非", "/", "无类别", "n/a", "na"}


def parse_list(value: object) -> list[str]:
    """'留守、单亲；心理' → ['留守', '单亲', '心理']; '无' → []."""
    text = cell_text(value)
    if squash(text).lower() in _NONE_WORDS:
        return []
    return [part for part in split_list(text) if part.lower() not in _NONE_WORDS]


# --- grades and classes ----------------------------------------------------------------------

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}


def cn_number(text: str) -> int | None:
    """'3' → 3, '三' → 3, '十二' → 12, '二十' → 20; None if it is not a small number."""
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _CN_DIGITS and ch != "十" for ch in text):
        return None
    if "十" not in text:
        return int("".join(str(_CN_DIGITS[ch]) for ch in text)) if len(text) <= 2 else None
    tens, _sep, ones = text.partition("十")
    if "十" in ones or len(tens) > 1 or len(ones) > 1:
        return None
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


@dataclass(frozen=True)
class GradeRef:
    """A grade as written: a grade number (1–12), or a cohort (2023级) resolved by the school."""

    grade: int | None = None
    cohort: int | None = None


@dataclass(frozen=True)
class ClassRef:
    number: int
    grade: GradeRef | None = None
    text: str = ""


_NUM = r"\d{1,2}|[一二三四五六七八九十]{1,3}"
_GRADE_WORD = r"(?:小学?)?[一二三四五六七八九]|十[一二]?|(?:初中?|高中?)[一二三123]"
_GRADE_ANY = rf"{_GRADE_WORD}|\d{{1,2}}"


def _grade_token(token: str) -> GradeRef | None:
    token = token.removesuffix("年级")
    token = re.sub(r"^小学?", "", token)
    if m := re.fullmatch(r"(初|高)中?([一二三123])", token):
        n = cn_number(m.group(2))
        return GradeRef(grade=(6 if m.group(1) == "初" else 9) + (n or 0))
    n = cn_number(token)
    if n is not None and 1 <= n <= 12:
        return GradeRef(grade=n)
    return None


def parse_grade(value: object) -> GradeRef | None:
    """三年级 / 三 / 3 / 3年级 / 七年级 / 初一 / 高二 / 初中一年级 / 2023级; None if empty."""
    text = squash(cell_text(value))
    if not text:
        return None
    if m := re.fullmatch(r"(\d{4})级?", text):
        year = int(m.group(1))
        if 1990 <= year <= 2100:
            return GradeRef(cohort=year)
    text = text.removesuffix("年级")
    text = re.sub(r"^(初|高)中(.)$", r"\1\2", text)
    ref = _grade_token(text)
    if ref is None:
        raise CellError(_("年级无法识别：“%(value)s”") % {"value": cell_text(value)})
    return ref


def parse_class(value: object) -> ClassRef | None:
    """A class as schools write it, with or without the grade:

    2, (2)班, （2）班, 2班, 三(2)班, 三年级2班, 三年级(2)班, 3年级2班, 3.2, 3-2, 3(2)班, 初一(3)班,
    高二3班, 十二(1)班, 2023级3班, 301班 (grade 3 class 1). None if empty.
    """
    original = cell_text(value)
    text = squash(original).replace("[", "(").replace("]", ")")
    if not text:
        return None
    text = re.sub(r"班级?$", "", text)
    ref: ClassRef | None = None
    if m := re.fullmatch(rf"\(?({_NUM})\)?", text):
        ref = ClassRef(number=cn_number(m.group(1)) or 0)
    elif m := re.fullmatch(r"(\d{1,2})[.\-_/·](\d{1,2})", text):
        ref = ClassRef(number=int(m.group(2)), grade=_grade_token(m.group(1)))
    elif m := re.fullmatch(rf"(\d{{4}})级\(?({_NUM})\)?", text):
        ref = ClassRef(number=cn_number(m.group(2)) or 0, grade=GradeRef(cohort=int(m.group(1))))
    elif m := re.fullmatch(rf"({_GRADE_ANY})年级\(?({_NUM})\)?", text):
        ref = ClassRef(number=cn_number(m.group(2)) or 0, grade=_grade_token(m.group(1)))
    elif m := re.fullmatch(rf"({_GRADE_ANY})\(({_NUM})\)", text):
        ref = ClassRef(number=cn_number(m.group(2)) or 0, grade=_grade_token(m.group(1)))
    elif m := re.fullmatch(rf"({_GRADE_WORD})({_NUM})", text):
        ref = ClassRef(number=cn_number(m.group(2)) or 0, grade=_grade_token(m.group(1)))
    elif m := re.fullmatch(r"([1-9]|1[0-2])(\d{2})", text):
        ref = ClassRef(number=int(m.group(2)), grade=_grade_token(m.group(1)))
    if ref is None or not 1 <= ref.number <= 99 or (ref.grade is None and _has_grade_hint(text)):
        raise CellError(_("无法识别的班级：“%(value)s”") % {"value": original})
    return ClassRef(number=ref.number, grade=ref.grade, text=original)


def _has_grade_hint(text: str) -> bool:
    return bool(re.search(r"[年级初高.\-]", text))


def parse_classes(value: object) -> list[ClassRef]:
    """Several classes in one cell: 三(1)班、三(2)班 / 三年级1班, 三年级2班."""
    text = cell_text(value)
    if squash(text).lower() in _NONE_WORDS | {"全校", "全部", "不任课", "无任教班级"}:
        return []
    refs: list[ClassRef] = []
    for part in re.split(r"[、,;；\n]+", text):
        part = part.strip()
        if not part:
            continue
        try:
            ref = parse_class(part)
        except CellError:
            pieces = part.split()
            if len(pieces) < 2:
                raise
            refs.extend(r for r in (parse_class(p) for p in pieces) if r is not None)
            continue
        if ref is not None:
            refs.append(ref)
    return refs


# --- staff roles -----------------------------------------------------------------------------

ROLE_SYNONYMS = {
    "班主任": "head_teacher",
    "学科教师": "subject_teacher", "任课教师": "subject_teacher", "科任教师": "subject_teacher",
    "任课老师": "subject_teacher", "学科老师": "subject_teacher", "科任老师": "subject_teacher",
    "校长": "principal",
    "德育主任": "coordinator", "学校管理员": "coordinator", "德育处": "coordinator",
    "德育处主任": "coordinator", "德育干事": "coordinator", "管理员": "coordinator",
    "心理健康教师": "mental_health", "心理教师": "mental_health", "心理老师": "mental_health",
    "心理健康教育教师": "mental_health", "心理健康老师": "mental_health",
    "安全负责人": "safety_officer", "安全员": "safety_officer", "安全主任": "safety_officer",
}
ROLE_HINT = "班主任、学科教师（任课教师）、校长、德育主任（学校管理员）、心理健康教师、安全负责人"


def parse_roles(value: object) -> list[str]:
    kinds: list[str] = []
    for part in split_list(cell_text(value)):
        kind = ROLE_SYNONYMS.get(squash(part))
        if kind is None:
            raise CellError(_("未知的角色：“%(value)s”。可填写：%(hint)s")
                            % {"value": part, "hint": ROLE_HINT})
        if kind not in kinds:
            kinds.append(kind)
    return kinds


_USERNAME_RE = re.compile(r"[\w.@+-]{1,150}")


def parse_username(value: object) -> str:
    text = squash(cell_text(value))
    if text and not _USERNAME_RE.fullmatch(text):
        raise CellError(_("用户名只能包含字母、数字和 @/./+/-/_：“%(value)s”") % {"value": text})
    return text


# --- reading files ---------------------------------------------------------------------------

class FileRefused(Exception):
    """The file as a whole cannot be read; the message says why, in Chinese."""


@dataclass
class RawSheet:
    """The non-blank rows of one sheet, in order: (sheet row number, {0-based column: value}).

    Sparse on purpose: a blank row or an empty cell costs nothing, however far apart the filled
    ones are (SECURITY E6).
    """

    title: str
    rows: list[tuple[int, dict[int, Any]]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # 1-based, inclusive


def _extension(file_name: str) -> str:
    name = (file_name or "").strip().lower()
    return name.rsplit(".", 1)[-1] if "." in name else ""


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_raw(file_name: str, data: bytes, *, fields: tuple[Field, ...] = STUDENT_FIELDS
             ) -> RawSheet:
    """The cells of the file's roster sheet. Raises FileRefused."""
    ext = _extension(file_name)
    if not data:
        raise FileRefused(_("文件是空的。"))
    if ext in {"xls", "et"} or data.startswith(OLE_MAGIC):
        raise FileRefused(_("不支持旧版 Excel（.xls）格式或加密的文件。请在 Excel 或 WPS 中打开，"
                            "取消密码后“另存为”Excel 工作簿（.xlsx）再上传。"))
    if ext in {"xlsx", "xlsm"}:
        return _read_xlsx(data, fields)
    if ext in {"csv", "txt", "tsv"}:
        return _read_csv(data)
    raise FileRefused(_("不支持的文件类型“%(ext)s”。请上传 .xlsx 或 .csv 文件。")
                      % {"ext": ext or file_name})


def _damaged() -> FileRefused:
    return FileRefused(_("文件不是有效的 Excel 工作簿（.xlsx），可能已损坏。请在 Excel 或 WPS 中"
                         "重新保存后上传。"))


def _bloated() -> FileRefused:
    return FileRefused(_("文件中的格式、样式或其他内容过多，出于安全原因拒绝处理。请把名册复制到"
                         "一个新建的工作簿（粘贴时选择“只粘贴数值”）后重新上传。"))


def _is_sheet_part(name: str) -> bool:
    """xl/worksheets/sheet1.xml: read by `_sheet_rows`, which bounds its memory itself."""
    prefix = "xl/worksheets/"
    return name.startswith(prefix) and name.endswith(".xml") and "/" not in name[len(prefix):]


def _looks_like_xml(head: bytes) -> bool:
    """Could an XML parser read this part? (Pictures and other binary parts are never parsed.)"""
    if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    stripped = head.lstrip(b" \t\r\n\x00")
    return not stripped or stripped.startswith(b"<")


def _check_elements(archive: zipfile.ZipFile, member: zipfile.ZipInfo | str, limit: int) -> None:
    """Refuse an XML part with more than `limit` elements (each "<" counted), reading it in
    chunks: openpyxl parses such a part whole, and a few hundred kilobytes of <xf/> compress from
    hundreds of megabytes that would become gigabytes of objects."""
    count = 0
    first = True
    with archive.open(member) as stream:
        while chunk := stream.read(SCAN_CHUNK):
            if first and not _looks_like_xml(chunk):
                return
            first = False
            count += chunk.count(b"<")
            if count > limit:
                raise _bloated()


def check_zip(data: bytes) -> None:
    """Refuse a zip bomb or an XML bomb before openpyxl opens it (SECURITY E6)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if (len(members) > ZIP_MAX_MEMBERS
                    or sum(m.file_size for m in members) > ZIP_MAX_UNCOMPRESSED):
                raise FileRefused(_("文件解压后过大或包含的部件过多，出于安全原因拒绝处理。请只保留"
                                    "名册工作表后重新保存。"))
            if not any(m.filename == "xl/workbook.xml" for m in members):
                raise _damaged()
            for member in members:
                if member.is_dir() or _is_sheet_part(member.filename):
                    continue
                limit = (SHARED_STRINGS_MAX_ELEMENTS if member.filename.endswith(
                    "sharedStrings.xml") else XML_MAX_ELEMENTS)
                _check_elements(archive, member, limit)
    except FileRefused:
        raise
    except Exception:  # a damaged archive: bad CRC, truncated, encrypted, unknown compression
        raise _damaged() from None


def _too_many_rows() -> FileRefused:
    return FileRefused(_("数据超过 %(max)s 行的上限。请按年级或班级拆分后分批导入。")
                       % {"max": MAX_ROWS})


def _is_blank(row: Iterable[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def _header_score(rows: list[tuple[int, dict[int, Any]]], index: dict[str, Field]
                  ) -> tuple[int, int]:
    """(best number of distinct fields matched by one of the first rows, that row's number)."""
    best = (0, 0)
    for number, cells in rows:
        if number > HEADER_SCAN_ROWS:
            break
        keys = {f.key for f in (match_header(v, index) for v in cells.values()) if f is not None}
        if len(keys) > best[0]:
            best = (len(keys), number)
    return best


@dataclass
class _Book:
    archive: zipfile.ZipFile
    sheets: list[tuple[str, str, str]]  # (title, state, path of the worksheet XML)
    cells: WorkSheetParser  # types a cell's value: shared strings, date formats, 1900/1904
    elements: int = 0  # read so far from the worksheets


def _open_book(data: bytes) -> _Book:
    """Everything of the workbook but its worksheets, which `_sheet_rows` reads row by row.

    openpyxl's own read-only worksheets are not used: they read a sheet without a <dimension>
    whole just to size it, pad every row to its last cell and every gap with empty rows, and keep
    each row element read until the end; `load_workbook(read_only=False)` loads everything.
    """
    reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    try:
        reader.read_manifest()
        # check_zip did not count the parts in xl/worksheets/: one declared as something else
        # (shared strings, the workbook) would be parsed whole by openpyxl.
        for part in reader.package.Override:
            name = part.PartName.lstrip("/")
            if _is_sheet_part(name) and part.ContentType != WORKSHEET_TYPE:
                _check_elements(reader.archive, name, SHARED_STRINGS_MAX_ELEMENTS
                                if part.ContentType == SHARED_STRINGS else XML_MAX_ELEMENTS)
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = [(sheet.name, sheet.state, rel.target)
                  for sheet, rel in reader.parser.find_sheets()
                  if rel.target in reader.valid_files and "chartsheet" not in rel.Type]
    except BaseException:
        reader.archive.close()
        raise
    wb = reader.wb
    cells = WorkSheetParser(None, reader.shared_strings, data_only=True, epoch=wb.epoch,
                            date_formats=wb._date_formats,
                            timedelta_formats=wb._timedelta_formats)
    return _Book(archive=reader.archive, sheets=sheets, cells=cells)


_ROW_TAG = f"{{{SHEET_MAIN_NS}}}row"
_CELL_TAG = f"{{{SHEET_MAIN_NS}}}c"
_DATA_TAG = f"{{{SHEET_MAIN_NS}}}sheetData"


def _row_number(element, previous: int) -> int:
    text = element.get("r")
    if text is None:
        return previous + 1
    value = float(text)
    if not value.is_integer() or value <= previous:
        raise ValueError("rows out of order")  # Excel writes them in order: a damaged file
    return int(value)


def _row_values(book: _Book, element, number: int, columns: set[int] | None) -> dict[int, Any]:
    """{0-based column: value} of the row's non-empty cells in `columns` (or the first
    MAX_COLUMNS): other cells are skipped before their value is even read."""
    parser = book.cells
    parser.row_counter = number
    values: dict[int, Any] = {}
    column = 0
    for cell in element:
        if cell.tag != _CELL_TAG:
            continue
        ref = cell.get("r")
        column = coordinate_to_tuple(ref)[1] if ref else column + 1
        if (column - 1 not in columns) if columns is not None else column > MAX_COLUMNS:
            continue
        parser.col_counter = column - 1
        value = parser.parse_cell(cell)["value"]
        if value is not None:
            values[column - 1] = value
    return values


def _sheet_rows(book: _Book, path: str, *, first_row: int, last_row: int,
                columns: set[int] | None) -> Iterator[tuple[int, dict[int, Any]]]:
    """(number, values) of the sheet's non-blank rows from first_row to last_row.

    Memory and time stay bounded whatever the XML holds: every element is dropped as soon as it
    has been read; reading stops after last_row or the end of the rows; a row holding more than
    ROW_MAX_ELEMENTS elements, a sheet with more than XML_MAX_ELEMENTS outside its rows, or a
    file with more than SHEETS_MAX_ELEMENTS in the sheets read is refused.
    """
    stack: list[Any] = []
    in_row = False
    inside = outside = 0
    number = 0
    with book.archive.open(path) as source:
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                stack.append(element)
                book.elements += 1
                if book.elements > SHEETS_MAX_ELEMENTS:
                    raise FileRefused(_("名册的单元格过多，出于安全原因拒绝处理。请删除不需要的列"
                                        "和工作表，或按年级拆分后分批导入。"))
                if len(stack) == 3 and element.tag == _ROW_TAG and stack[1].tag == _DATA_TAG:
                    in_row = True
                elif in_row:
                    inside += 1
                    if inside > ROW_MAX_ELEMENTS:
                        raise _bloated()
                else:
                    outside += 1
                    if outside > XML_MAX_ELEMENTS:
                        raise _bloated()
                continue
            stack.pop()
            if len(stack) == 2:  # a row in <sheetData>, or a <col>, <selection> …
                if in_row:
                    in_row, inside = False, 0
                    number = _row_number(element, number)
                    if number > last_row:
                        return
                    if number >= first_row:
                        values = _row_values(book, element, number, columns)
                        if not _is_blank(values.values()):
                            yield number, values
                stack[-1].remove(element)
            elif len(stack) == 1:
                if element.tag == _DATA_TAG:
                    return  # what follows the rows (merged ranges …) is read by _scan_sheet_xml
                stack[-1].remove(element)


# Cells below LAST_ROW that hold something, and merged ranges: found by a byte search over the
# sheet's XML, read in chunks (the rows parsed stop at LAST_ROW, and the merged ranges come
# after the rows). Excel, WPS and LibreOffice write every cell's reference.
_SCAN_RE = re.compile(
    rb"<(?:[\w.-]+:)?(?:"
    rb"c\s(?:[^>]*?\s)?r\s*=\s*[\"']([A-Z]{1,3})(\d{%d,})[\"'][^>]*>\s*<(?:[\w.-]+:)?(?:v|is|f)[\s/>]"
    rb"|mergeCell\s(?:[^>]*?\s)?ref\s*=\s*[\"']([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?[\"'])"
    % len(str(LAST_ROW)))


def _scan_sheet_xml(book: _Book, path: str, columns: set[int]
                    ) -> list[tuple[int, int, int, int]]:
    """The sheet's merged ranges; FileRefused if a column read has a value below LAST_ROW."""
    merged: list[tuple[int, int, int, int]] = []
    count = 0
    carry = b""
    with book.archive.open(path) as source:
        while True:
            chunk = source.read(SCAN_CHUNK)
            buffer = carry + chunk
            if chunk:  # keep the last tag (and what may follow it) for the next round
                cut = buffer.rfind(b"<", 1, max(1, len(buffer) - SCAN_MARGIN))
                if cut < 1:
                    cut = max(0, len(buffer) - SCAN_MARGIN)
            else:
                cut = len(buffer)
            for match in _SCAN_RE.finditer(buffer):
                if match.start() >= cut:
                    break
                letters, digits, first, top, last, bottom = match.groups()
                if letters is not None:
                    row = int(digits)
                    if row > LAST_ROW and column_index_from_string(letters.decode()) - 1 in columns:
                        raise FileRefused(_(
                            "第 %(row)s 行（%(cell)s 单元格）还有内容，超出了读取范围：数据须在第 "
                            "%(last)s 行以内（最多 %(max)s 行数据）。请删除多余的内容，或拆分后分批"
                            "导入。") % {"row": row, "cell": f"{letters.decode()}{row}",
                                       "last": LAST_ROW, "max": MAX_ROWS})
                    continue
                count += 1
                if count > MAX_MERGED:
                    raise FileRefused(_("合并单元格过多（超过 %(n)s 个），无法读取。请取消合并单元格"
                                        "后重新上传。") % {"n": MAX_MERGED})
                rows = sorted((int(top), int(bottom or top)))
                cols = sorted(column_index_from_string(c.decode()) for c in (first, last or first))
                if rows[0] <= LAST_ROW:
                    merged.append((rows[0], cols[0], rows[1], cols[1]))
            if not chunk:
                return merged
            carry = buffer[cut:]


def _read_xlsx(data: bytes, fields: tuple[Field, ...]) -> RawSheet:
    check_zip(data)
    if not openpyxl.DEFUSEDXML:  # pragma: no cover - defusedxml is a dependency
        raise FileRefused(_("服务器未启用安全的 XML 解析（defusedxml），无法读取 .xlsx。"))
    index = _synonym_index(fields)
    try:
        book = _open_book(data)
        try:
            return _read_book(book, index)
        finally:
            book.archive.close()
    except FileRefused:
        raise
    except Exception as problem:  # openpyxl and the XML parser raise many kinds on a damaged file
        if _caused_by(problem, DefusedXmlException):
            raise FileRefused(_("文件包含不允许的 XML 实体定义，出于安全原因拒绝处理。")) from None
        raise _damaged() from None


def _read_book(book: _Book, index: dict[str, Field]) -> RawSheet:
    """The roster sheet: its first rows to find the header, then only the header's columns."""
    title, path, rows = _choose_sheet(book, index)
    score, header_row = _header_score(rows, index)
    if score < MIN_HEADER_SCORE:
        return RawSheet(title=title, rows=rows)  # read_table says what is missing
    header = dict(rows)[header_row]
    columns = {pos for pos, value in header.items() if match_header(value, index) is not None}
    merged = [m for m in _scan_sheet_xml(book, path, columns) if m[0] > header_row]
    # A block merged across a column read takes its value from its first column.
    wanted = columns | {m[1] - 1 for m in merged
                        if any(m[1] - 1 <= pos <= m[3] - 1 for pos in columns)}
    for number, values in _sheet_rows(book, path, first_row=HEADER_SCAN_ROWS + 1,
                                      last_row=LAST_ROW, columns=wanted):
        rows.append((number, values))
        if len(rows) > MAX_ROWS + HEADER_SCAN_ROWS:
            raise _too_many_rows()
    last_row, width = rows[-1][0], max(wanted) + 1
    clamped = []
    area = 0
    for min_row, min_col, max_row, max_col in merged:
        if min_row > last_row or min_col > width:
            continue
        block = (min_row, min_col, min(max_row, last_row), min(max_col, width))
        area += (block[2] - block[0] + 1) * (block[3] - block[1] + 1)
        if area > (last_row - header_row) * width:  # only overlapping blocks cover more
            raise FileRefused(_("合并单元格互相重叠，文件可能已损坏。请取消合并单元格后重新上传。"))
        clamped.append(block)
    return RawSheet(title=title, rows=rows, merged=clamped)


def _caused_by(problem: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = problem
    for _depth in range(10):
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _choose_sheet(book: _Book, index: dict[str, Field]
                  ) -> tuple[str, str, list[tuple[int, dict[int, Any]]]]:
    """The sheet whose header matches best: its title, XML path and first rows."""
    best: tuple[int, str, str, list[tuple[int, dict[int, Any]]]] | None = None
    for title, state, path in book.sheets[:MAX_SHEETS_SCANNED]:
        # The sheet's <dimension> is not trusted (some exporters write "A1"): rows are read as
        # they are, and never beyond what is needed.
        head = list(_sheet_rows(book, path, first_row=1, last_row=HEADER_SCAN_ROWS,
                                columns=None))
        score = _header_score(head, index)[0]
        if state != "visible":
            score -= 1
        if best is None or score > best[0]:
            best = (score, title, path, head)
    if best is None:
        raise FileRefused(_("文件里没有工作表。"))
    return best[1], best[2], best[3]


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), then GB18030 (a superset of GBK); UTF-16 if it has a BOM."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRefused(_("无法识别文件的编码。请把 CSV 文件保存为 UTF-8 或 GBK 编码。"))


def _delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:30] if line.strip()]
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:
        counts = {d: max((line.count(d) for line in lines), default=0) for d in (",", "\t", ";")}
        return max(counts, key=lambda d: counts[d])


def _read_csv(data: bytes) -> RawSheet:
    text = decode_text(data)
    if "\x00" in text:
        raise FileRefused(_("文件内容不是文本，无法按 CSV 读取。"))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows: list[tuple[int, dict[int, Any]]] = []
    number = 0
    try:
        for number, row in enumerate(reader, start=1):  # noqa: B007 - used after the loop
            values = {i: v for i, v in enumerate(row[:MAX_COLUMNS]) if v}
            if _is_blank(values.values()):
                continue
            rows.append((number, values))
            if len(rows) > MAX_ROWS + HEADER_SCAN_ROWS:
                raise _too_many_rows()
    except csv.Error:
        raise FileRefused(_("CSV 文件格式有误（第 %(row)s 行附近），无法读取。")
                          % {"row": number + 1}) from None
    return RawSheet(title="", rows=rows)


# --- the table -------------------------------------------------------------------------------

@dataclass
class Row:
    number: int  # the sheet row number the user sees
    values: dict[str, Any]
    messages: list[Message] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)  # fields whose cell could not be read

    @property
    def has_errors(self) -> bool:
        return any(m.is_error for m in self.messages)

    def error(self, text: str, column: str = "") -> None:
        self.messages.append(Message(ERROR, text, self.number, column))

    def warning(self, text: str, column: str = "") -> None:
        self.messages.append(Message(WARNING, text, self.number, column))


@dataclass
class Table:
    """A roster file read: which column is which, its rows, and what was noticed on the way."""

    file_name: str
    sheet: str = ""
    header_row: int | None = None
    labels: dict[str, str] = field(default_factory=dict)  # field key → header as in the file
    rows: list[Row] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)  # file and column level

    @property
    def refused(self) -> bool:
        return any(m.is_error for m in self.messages)

    def label(self, key: str, fields: tuple[Field, ...]) -> str:
        return self.labels.get(key) or next((f.label for f in fields if f.key == key), key)


def _converter(kind: str) -> Callable[[Any], tuple[Any, list[str]]]:
    def plain(fn):
        return lambda v: (fn(v), [])

    return {
        "code": plain(parse_code),
        "name": plain(parse_name),
        "text": plain(parse_text),
        "phone": parse_phone,
        "date": parse_date,
        "gender": plain(parse_gender),
        "grade": plain(parse_grade),
        "class": plain(parse_class),
        "classes": plain(parse_classes),
        "list": plain(parse_list),
        "status": plain(parse_status),
        "roles": plain(parse_roles),
        "username": plain(parse_username),
    }[kind]


def _fill_merged(raw: RawSheet, first_data_row: int) -> None:
    """A merged block below the header (a class written once for its students) fills every cell
    of its non-blank rows. The blocks were clamped to the rows and columns read."""
    rows = dict(raw.rows)
    for min_row, min_col, max_row, max_col in raw.merged:
        if min_row < first_data_row:
            continue
        top_left = rows.get(min_row, {}).get(min_col - 1)
        for number in range(min_row, max_row + 1):
            cells = rows.get(number)
            if cells is None:
                continue
            for column in range(min_col - 1, max_col):
                if top_left is None:
                    cells.pop(column, None)
                else:
                    cells[column] = top_left


_FOOTER_RE = re.compile(r"^(?:合计|总计|共计|小计|制表|填表|审核|负责人|备注|说明|注[:：])")


def _footer_text(values: Iterable[Any]) -> str:
    return next(cell_text(v) for v in values if cell_text(v))


def _is_footer(values: Iterable[Any]) -> bool:
    """'合计：45人', '制表人：王老师' under the data: one filled cell starting with such a word."""
    filled = [cell_text(v) for v in values if cell_text(v)]
    return len(filled) == 1 and bool(_FOOTER_RE.match(filled[0]))


def read_table(file_name: str, data: bytes, kind: str = "students") -> Table:
    """Read a roster file of the given kind ('students' or 'staff') into a Table.

    Never raises for bad input: a file that cannot be read gives a Table with a file-level
    error message and no rows.
    """
    fields = SCHEMAS[kind]
    table = Table(file_name=file_name)
    try:
        raw = read_raw(file_name, data, fields=fields)
    except FileRefused as refused:
        table.messages.append(Message(ERROR, str(refused)))
        return table
    table.sheet = raw.title
    index = _synonym_index(fields)
    score, header_row = _header_score(raw.rows, index)
    if score < MIN_HEADER_SCORE:
        labels = "”“".join(f.label for f in fields if f.required)
        table.messages.append(Message(ERROR, _(
            "在前 %(n)s 行中没有找到表头。表头一行应包含“%(labels)s”等列名。")
            % {"n": HEADER_SCAN_ROWS, "labels": labels}))
        return table
    table.header_row = header_row
    header = dict(raw.rows)[header_row]

    columns: dict[str, int] = {}
    extra: list[str] = []
    if max(header) >= MAX_COLUMNS - 1:
        table.messages.append(Message(WARNING, _("表头超过 %(n)s 列，只读取了前 %(n)s 列。")
                                      % {"n": MAX_COLUMNS}))
    for position, cell in sorted(header.items()):
        label = cell_text(cell)
        if not label:
            continue
        if is_id_number_header(cell):
            table.messages.append(Message(WARNING, _(
                "“%(label)s”列已忽略：按照个人信息“最少必要”原则，系统不保存身份证号等证件号码。")
                % {"label": label}, column=label))
            continue
        target = match_header(cell, index)
        if target is not None and target.key in columns and target.second:
            target = next(f for f in fields if f.key == target.second)
        if target is None or target.key in columns:
            extra.append(label)
            continue
        columns[target.key] = position
        table.labels[target.key] = label
    if extra:
        table.messages.append(Message(WARNING, _("以下列不在导入范围内，已忽略：%(labels)s")
                                      % {"labels": "、".join(extra)}))
    missing = [f.label for f in fields if f.required and f.key not in columns]
    if missing:
        text = _("缺少必需的列：%(labels)s。（表头在第 %(row)s 行）") % {
            "labels": "、".join(missing), "row": table.header_row}
        other = "staff" if kind == "students" else "students"
        other_index = _synonym_index(SCHEMAS[other])
        found = {f.key for f in (match_header(c, other_index) for c in header.values())
                 if f is not None}
        if all(f.key in found for f in SCHEMAS[other] if f.required):
            text += _("这似乎是%(other)s，请在上传页选择对应的名册类型。") % {
                "other": _("教职工名册") if other == "staff" else _("学生名册")}
        table.messages.append(Message(ERROR, text))
        return table

    _fill_merged(raw, first_data_row=table.header_row + 1)
    converters = {key: _converter(next(f.kind for f in fields if f.key == key))
                  for key in columns}
    max_lengths = {f.key: f.max_length for f in fields if f.max_length}
    for number, cells in raw.rows:
        if number <= header_row:
            continue
        picked = {key: cells.get(pos) for key, pos in columns.items()}
        if _is_blank(picked.values()):
            continue
        if _is_footer(picked.values()):
            table.messages.append(Message(WARNING, _("看起来是表尾说明，已跳过：“%(text)s”")
                                          % {"text": _footer_text(picked.values())}, number))
            continue
        if len(table.rows) >= MAX_ROWS:
            table.messages.append(Message(ERROR, str(_too_many_rows())))
            table.rows = []
            return table
        row = Row(number=number, values={})
        for key, value in picked.items():
            label = table.labels[key]
            try:
                converted, warnings = converters[key](value)
            except CellError as problem:
                row.error(str(problem), label)
                row.values[key] = None
                row.invalid.add(key)
                continue
            limit = max_lengths.get(key)
            if limit and isinstance(converted, str) and len(converted) > limit:
                row.error(_("内容过长（最多 %(n)s 个字）") % {"n": limit}, label)
                converted = None
                row.invalid.add(key)
            row.values[key] = converted
            for text in warnings:
                row.warning(text, label)
        table.rows.append(row)
    if not table.rows:
        table.messages.append(Message(ERROR, _("表头（第 %(row)s 行）下面没有任何数据行。")
                                      % {"row": table.header_row}))
    return table
