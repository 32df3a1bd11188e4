"""The blank roster workbooks schools download, fill in and upload again (.xlsx, in memory)."""

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from jiafang.schools.models import FocusCategory, School

STUDENT_COLUMNS = [
    # (header, width, text format)
    ("学号", 14, True), ("姓名", 10, False), ("性别", 6, False), ("出生日期", 12, False),
    ("年级", 8, False), ("班级", 10, False), ("家长姓名", 10, False), ("关系", 8, False),
    ("联系电话", 14, True), ("家长2姓名", 10, False), ("关系2", 8, False),
    ("联系电话2", 14, True), ("家庭住址", 30, False), ("社区", 12, False),
    ("街道(镇)", 12, False), ("家庭编号", 10, True), ("关注类别", 16, False),
    ("学籍状态", 8, False),
]
STAFF_COLUMNS = [
    ("姓名", 10, False), ("手机号", 14, True), ("用户名", 12, True), ("角色", 20, False),
    ("任教班级", 24, False), ("任教学科", 10, False),
]
TEXT_ROWS = 2000  # rows pre-formatted as text, so Excel keeps leading zeros and long numbers

_HEADER_FILL = PatternFill("solid", fgColor="EEF4FF")


def _sheet(book: Workbook, title: str, heading: str, columns) -> None:
    sheet = book.active
    sheet.title = title
    sheet.cell(row=1, column=1, value=heading).font = Font(bold=True, size=14)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    sheet.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    for position, (header, width, text) in enumerate(columns, start=1):
        cell = sheet.cell(row=2, column=position, value=header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        letter = get_column_letter(position)
        sheet.column_dimensions[letter].width = width
        if text:
            for row in range(3, TEXT_ROWS + 3):
                sheet.cell(row=row, column=position).number_format = "@"
    sheet.freeze_panes = "A3"


def _notes(book: Workbook, lines: list[str]) -> None:
    notes = book.create_sheet("填写说明")
    notes.column_dimensions["A"].width = 110
    for row, line in enumerate(lines, start=1):
        cell = notes.cell(row=row, column=1, value=line)
        cell.alignment = Alignment(wrap_text=True)
        if row == 1:
            cell.font = Font(bold=True, size=13)


def _bytes(book: Workbook) -> bytes:
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def student_template(school: School) -> bytes:
    book = Workbook()
    _sheet(book, "学生名册", f"{school.name}学生名册", STUDENT_COLUMNS)
    sheet = book.active
    gender = DataValidation(type="list", formula1='"男,女"', allow_blank=True)
    sheet.add_data_validation(gender)
    gender.add(f"C3:C{TEXT_ROWS + 2}")
    status = DataValidation(type="list", formula1='"在读,休学,转出,毕业"', allow_blank=True)
    sheet.add_data_validation(status)
    status.add(f"R3:R{TEXT_ROWS + 2}")
    categories = "、".join(f"{c.short_name}（{c.name}）"
                          for c in FocusCategory.objects.filter(active=True))
    grades = "、".join(str(g) for g in school.grade_range)
    _notes(book, [
        "学生名册填写说明",
        "1. 从第3行起每行填一名学生；第1行标题和第2行表头不要删除。列的顺序可以调整，按列名识别。",
        "2. 必填：学号、姓名、班级。学号在本校内唯一，重复导入时按学号更新，不会重复建档。",
        f"3. 班级可写“三年级(2)班”“三(2)班”“3.2”，也可在“年级”列写年级、在“班级”列只写“2班”。"
        f"本校学段的年级为：{grades}。不存在的班级会自动新建。",
        "4. 出生日期可写 2015-03-02、2015/3/2、2015.3.2、2015年3月2日或 20150302。",
        "5. 联系电话填手机号（11位）或带区号的固话（如 0519-88881234）。兄弟姐妹填同一个家长电话，"
        "或填同一个“家庭编号”，会归为同一个家庭。",
        f"6. 关注类别可填多个，用顿号、逗号或空格分开：{categories}。导入只会增加关注标记，不会取消。",
        "7. 请不要填写身份证号等证件号码：系统按“最少必要”原则不保存。",
        "8. 有任何错误时整份名册都不会导入，页面会列出出错的行号和原因，改正后重新上传即可。",
        "9. 示例：2021001 | 王小明 | 男 | 2016-03-02 | 三年级 | (2)班 | 王建国 | 父亲 | 13812345678 | "
        "…… | 塘桥路18号 | 塘桥社区 | 遥观镇 | | 留守、心理 | 在读",
    ])
    return _bytes(book)


def staff_template(school: School) -> bytes:
    book = Workbook()
    _sheet(book, "教职工名册", f"{school.name}教职工名册", STAFF_COLUMNS)
    _notes(book, [
        "教职工名册填写说明",
        "1. 从第3行起每行填一位教职工；第1行标题和第2行表头不要删除。",
        "2. 必填：姓名、手机号（11位手机号，用于登录）、角色。已有账号按手机号识别。",
        "3. 角色可填多个，用顿号分开：班主任、学科教师（任课教师）、校长、德育主任（学校管理员）、"
        "心理健康教师、安全负责人。",
        "4. 班主任和学科教师须填写任教班级，多个班级用顿号分开，如“三(1)班、三(2)班”。"
        "每个班级只能有一位班主任。",
        "5. 新账号不会生成密码：导入后请管理员为新账号设置初始密码。",
        "6. 有任何错误时整份名册都不会导入，改正后重新上传即可。",
        "7. 示例：李老师 | 13900001111 | | 班主任、学科教师 | 三(1)班 | 数学",
    ])
    return _bytes(book)
