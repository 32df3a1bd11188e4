"""Reading roster files: file bytes → header mapping, rows of normalized values, messages.

Pure functions, no database: what a cell means is decided here (a phone number saved as a
number, a date typed five ways, a class written as 三(2)班 or 3.2), what the school makes of it
(does the class exist, is the grade in the school's stage, is the category known) is decided in
`jiafang.roster.services`.

Files are the ones schools really have: .xlsx saved by Excel, WPS or LibreOffice (title rows and
merged cells above the header, numbers and dates as cells of any type) and .csv in UTF-8 (with or
without BOM), GBK/GB18030 or UTF-16, delimited by commas, tabs or semicolons. Everything is read
in memory (no temporary files, SECURITY E8) and hostile files are refused before they are opened
(zip size and member count, defusedxml, a row cap: SECURITY E6).

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import openpyxl
from defusedxml import DefusedXmlException
from django.utils.translation import gettext as _

from jiafang.schools.text import normalize, split_list, squash

MAX_ROWS = 20_000
HEADER_SCAN_ROWS = 15
MAX_SHEETS_SCANNED = 10
ZIP_MAX_UNCOMPRESSED = 100 * 1024 * 1024
ZIP_MAX_MEMBERS = 1000

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
    """The cells of one sheet: rows[i] is sheet row i + 1."""

    title: str
    rows: list[list[Any]]
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


def check_zip(data: bytes) -> None:
    """Refuse a zip bomb before openpyxl opens it (SECURITY E6)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise FileRefused(_("文件不是有效的 Excel 工作簿（.xlsx），可能已损坏。请在 Excel 或 WPS 中"
                            "重新保存后上传。")) from None
    if len(members) > ZIP_MAX_MEMBERS or sum(m.file_size for m in members) > ZIP_MAX_UNCOMPRESSED:
        raise FileRefused(_("文件解压后过大或包含的部件过多，出于安全原因拒绝处理。请只保留名册"
                            "工作表后重新保存。"))
    if not any(m.filename == "xl/workbook.xml" for m in members):
        raise FileRefused(_("文件不是有效的 Excel 工作簿（.xlsx），可能已损坏。请在 Excel 或 WPS 中"
                            "重新保存后上传。"))


def _too_many_rows() -> FileRefused:
    return FileRefused(_("数据超过 %(max)s 行的上限。请按年级或班级拆分后分批导入。")
                       % {"max": MAX_ROWS})


def _is_blank(row: Iterable[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def _header_score(rows: list[list[Any]], index: dict[str, Field]) -> tuple[int, int]:
    """(best number of distinct fields matched by one row, that row's index)."""
    best = (0, -1)
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        keys = {f.key for f in (match_header(v, index) for v in row) if f is not None}
        if len(keys) > best[0]:
            best = (len(keys), i)
    return best


_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="[A-Z]{1,3}(\d+)')


def _merged_below(data: bytes, row: int) -> bool:
    """Does any worksheet have a merged block starting below `row`? A plain byte search over the
    sheet XML (no parsing): a title merged above the header needs no second pass."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if not info.filename.startswith("xl/worksheets/"):
                continue
            content = archive.read(info)
            if b"mergeCell" in content and any(int(m.group(1)) > row
                                                for m in _MERGE_RE.finditer(content)):
                return True
    return False


def _read_xlsx(data: bytes, fields: tuple[Field, ...]) -> RawSheet:
    check_zip(data)
    if not openpyxl.DEFUSEDXML:  # pragma: no cover - defusedxml is a dependency
        raise FileRefused(_("服务器未启用安全的 XML 解析（defusedxml），无法读取 .xlsx。"))
    index = _synonym_index(fields)
    try:
        # Pass 1, streaming (read-only): choose the roster sheet and read its values, refusing
        # a huge sheet after at most MAX_ROWS rows instead of loading it whole.
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            title, rows = _choose_sheet(book, index)
        finally:
            book.close()
        merged: list[tuple[int, int, int, int]] = []
        header_row = _header_score(rows, index)[1] + 1
        if _merged_below(data, header_row):
            # Pass 2, only for merged cells in the data (a class written once for its students):
            # read-only mode does not report merged ranges.
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=False, data_only=True)
            try:
                merged = [(r.min_row, r.min_col, r.max_row, r.max_col)
                          for r in book[title].merged_cells.ranges]
            finally:
                book.close()
    except FileRefused:
        raise
    except Exception as problem:  # openpyxl raises many kinds on a damaged file
        if _caused_by(problem, DefusedXmlException):
            raise FileRefused(_("文件包含不允许的 XML 实体定义，出于安全原因拒绝处理。")) from None
        raise FileRefused(_("文件不是有效的 Excel 工作簿（.xlsx），可能已损坏。请在 Excel 或 WPS 中"
                            "重新保存后上传。")) from None
    return RawSheet(title=title, rows=rows, merged=merged)


def _caused_by(problem: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = problem
    for _depth in range(10):
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _choose_sheet(book, index: dict[str, Field]) -> tuple[str, list[list[Any]]]:
    """The sheet whose header matches best, and its rows up to the last non-empty one."""
    best_title, best_score = None, -1
    for sheet in book.worksheets[:MAX_SHEETS_SCANNED]:
        # Some exporters write a wrong <dimension> (often "A1"); read-only mode would trust it
        # and stop early. Read what is there instead.
        sheet.reset_dimensions()
        head = [list(r) for r in sheet.iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True)]
        score = _header_score(head, index)[0]
        if getattr(sheet, "sheet_state", "visible") != "visible":
            score -= 1
        if score > best_score:
            best_title, best_score = sheet.title, score
    if best_title is None:
        raise FileRefused(_("文件里没有工作表。"))
    rows: list[list[Any]] = []
    non_empty = last_row = 0
    for number, row in enumerate(book[best_title].iter_rows(values_only=True), start=1):
        if _is_blank(row):
            if number - last_row <= 1000:  # keep short gaps; long empty tails are dropped
                rows.append(list(row))
            continue
        if len(rows) < number - 1:
            rows.extend([] for _gap in range(number - 1 - len(rows)))
        rows.append(list(row))
        non_empty += 1
        last_row = number
        if non_empty > MAX_ROWS + HEADER_SCAN_ROWS:
            raise _too_many_rows()
    del rows[last_row:]
    return best_title, rows


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
    rows: list[list[Any]] = []
    non_empty = 0
    try:
        for row in reader:
            rows.append(row)
            if not _is_blank(row):
                non_empty += 1
                if non_empty > MAX_ROWS + HEADER_SCAN_ROWS:
                    raise _too_many_rows()
    except csv.Error:
        raise FileRefused(_("CSV 文件格式有误（第 %(row)s 行附近），无法读取。")
                          % {"row": len(rows) + 1}) from None
    while rows and _is_blank(rows[-1]):
        rows.pop()
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
    """A merged block below the header (a class written once for its students) fills every cell."""
    for min_row, min_col, max_row, max_col in raw.merged:
        if min_row < first_data_row or min_row > len(raw.rows):
            continue
        anchor_row = raw.rows[min_row - 1]
        top_left = anchor_row[min_col - 1] if min_col <= len(anchor_row) else None
        for r in range(min_row, min(max_row, len(raw.rows)) + 1):
            row = raw.rows[r - 1]
            if len(row) < max_col:
                row.extend([None] * (max_col - len(row)))
            for c in range(min_col, max_col + 1):
                row[c - 1] = top_left


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
    score, header_index = _header_score(raw.rows, index)
    if score < 2:
        labels = "”“".join(f.label for f in fields if f.required)
        table.messages.append(Message(ERROR, _(
            "在前 %(n)s 行中没有找到表头。表头一行应包含“%(labels)s”等列名。")
            % {"n": HEADER_SCAN_ROWS, "labels": labels}))
        return table
    table.header_row = header_index + 1
    header = raw.rows[header_index]

    columns: dict[str, int] = {}
    extra: list[str] = []
    for position, cell in enumerate(header):
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
        found = {f.key for f in (match_header(c, other_index) for c in header) if f is not None}
        if all(f.key in found for f in SCHEMAS[other] if f.required):
            text += _("这似乎是%(other)s，请在上传页选择对应的名册类型。") % {
                "other": _("教职工名册") if other == "staff" else _("学生名册")}
        table.messages.append(Message(ERROR, text))
        return table

    _fill_merged(raw, first_data_row=table.header_row + 1)
    converters = {key: _converter(next(f.kind for f in fields if f.key == key))
                  for key in columns}
    max_lengths = {f.key: f.max_length for f in fields if f.max_length}
    for offset, cells in enumerate(raw.rows[header_index + 1:]):
        number = table.header_row + 1 + offset
        picked = {key: (cells[pos] if pos < len(cells) else None) for key, pos in columns.items()}
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
