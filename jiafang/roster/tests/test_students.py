"""Students roster import: real-world files in, the right students, classes, families out."""

import datetime as dt

import pytest
from django_scopes import scopes_disabled

from jiafang.roster import services
from jiafang.roster.services import (
    ImportRefused,
    academic_year_start,
    roster_import,
    roster_preview,
)
from jiafang.roster.tests.conftest import csv_bytes, row_counts, xlsx
from jiafang.schools.models import Family, FocusFlag, Guardian, SchoolClass, Student

HEADER = ["序号", "学籍号", "学生姓名", "性别", "出生年月", "所在班级", "年级", "监护人姓名",
          "与学生关系", "手机号码", "家长2", "电话2", "身份证号", "家庭住址", "小区", "街道（镇）",
          "家庭编号", "六类学生", "备注"]
SERIAL = 43555  # an Excel serial date
SERIAL_DATE = dt.date(1899, 12, 30) + dt.timedelta(days=SERIAL)


def realistic_rows():
    """A school's file as it really comes: a merged title, a date line, then the header (row 3)."""
    return [
        ["某某小学2026学年学生名册"] + [None] * (len(HEADER) - 1),
        ["填表日期：2026年9月1日"],
        HEADER,
        # row 4: numeric number and phone cells, padded name, date cell, class with separate grade
        [1, 2026001, "张 三", "男", dt.datetime(2019, 3, 2), "(1)班", "一年级", "张建军", "父亲",
         13900000001.0, None, None, "320412201903020011", "塘桥路1号", "塘桥社区", "遥观镇", None,
         "留守、心理", "转入"],
        # row 5: sibling (same phone), serial date, grade inside the class text, comma separated
        [2, 2026002, "张四", "女", SERIAL, "一年级2班", None, "张建军", "父亲", "13900000001",
         None, None, None, "塘桥路1号", "塘桥社区", "遥观镇", None, "经济困难,学困", None],
        # row 6: text date, 三(2)班, second guardian with a landline, semicolon separated
        [3, 2026003, "李五", "女", "2018-05-06", "三(2)班", None, "李梅", "母亲", "13900000003",
         "李强", "0519-88881234", None, "丁堰路2号", None, None, None, "残障；随迁", None],
        # row 7: 3.1 notation, gender M, space separated categories
        [4, 2026004, "赵六", "M", "2018/5/7", "3.1", None, "赵刚强", "父亲", "13900000004",
         None, None, None, None, None, None, None, "心理 留守", None],
        # row 8: gender as 2, dotted date, 三年级(2)班
        [5, 2026005, "钱七", 2, "2018.5.8", "三年级(2)班", None, "钱父", "父亲", "13900000005",
         None, None, None, None, None, None, None, None, None],
        # row 9: Chinese date, 3年级2班, full-width spaces around the name
        [6, 2026006, "\u3000孙八\u3000", "女", "2018年5月9日", "3年级2班", None, "孙母", "母亲",
         "139 0000 0006", None, None, None, None, None, None, None, "无", None],
        # row 10: compact date, full-width brackets with a separate grade, no guardian phone
        [7, 2026007, "周九", "男", "20180510", "（2）班", "三年级", "周父", "父亲", None,
         None, None, None, None, None, None, None, None, None],
        # rows 11-12: different phones, one 家庭编号: the code makes them siblings
        [8, 2026008, "吴十", "男", "2018-01-01", "三(1)班", None, "吴父", "父亲", "13900000008",
         None, None, None, None, None, None, "F-NEW-1", None, None],
        [9, 2026009, "郑十一", "女", "2019-01-01", "一(1)班", None, "吴母", "母亲", "13900000009",
         None, None, None, None, None, None, "F-NEW-1", None, None],
        # row 13: a guardian phone already in the school (王建国's family F-A-1)
        [10, 2026010, "王小兰", "女", "2020-02-02", "一(1)班", None, "王建国", "父亲",
         "13812345678", None, None, None, None, None, None, None, None, None],
    ]


def realistic_xlsx() -> bytes:
    return xlsx(realistic_rows(), merged=["A1:S1"], number_formats={"E4": "yyyy-mm-dd"})


def _student(number):
    return Student.objects.select_related("school_class", "family").get(student_number=number)


def test_realistic_xlsx_imports_everything_as_written(district, in_school):
    school = district.school_a
    with in_school(school):
        preview = roster_preview(school=school, file_name="名册.xlsx", data=realistic_xlsx())
    assert preview.ok, [m.as_text() for m in preview.errors]
    assert preview.header_row == 3
    assert preview.counts["students_new"] == 10
    assert preview.counts["families_new"] == 7
    assert preview.counts["classes_new"] == 2
    assert preview.counts["siblings"] == 3  # 张 (phone), 吴/郑 (code), 王 (existing family)
    texts = [m.as_text() for m in preview.warnings]
    assert any("身份证号" in t and "不保存" in t for t in texts)
    assert any("序号" in t and "备注" in t and "已忽略" in t for t in texts)
    assert any(t.startswith("第 10 行") and "缺少家长电话" in t for t in texts)
    assert any("名册中没有这些在读学生" in t and "王小明" in t for t in texts)

    with in_school(school):
        roster_import(school=school, file_name="名册.xlsx", data=realistic_xlsx(), by=None)
    with scopes_disabled():
        zs, zs2 = _student("2026001"), _student("2026002")
        assert zs.name == "张三" and zs.gender == "M" and zs.birth_date == dt.date(2019, 3, 2)
        assert (zs.school_class.grade, zs.school_class.number) == (1, 1)
        assert zs2.birth_date == SERIAL_DATE
        assert (zs2.school_class.grade, zs2.school_class.number) == (1, 2)
        assert zs.family_id == zs2.family_id
        family = zs.family
        assert (family.address, family.community, family.street) == ("塘桥路1号", "塘桥社区",
                                                                     "遥观镇")
        assert [(g.name, g.relation, g.phone) for g in family.guardians.all()] == [
            ("张建军", "父亲", "13900000001")]

        li = _student("2026003")
        assert (li.school_class_id, li.birth_date) == (district.class_a2.pk, dt.date(2018, 5, 6))
        assert sorted((g.name, g.phone) for g in li.family.guardians.all()) == [
            ("李强", "0519-88881234"), ("李梅", "13900000003")]
        assert _student("2026004").school_class_id == district.class_a1.pk
        assert _student("2026004").gender == "M"
        assert _student("2026005").gender == "F"
        assert _student("2026005").birth_date == dt.date(2018, 5, 8)
        assert _student("2026006").name == "孙八"
        assert _student("2026006").family.guardians.get().phone == "13900000006"
        assert _student("2026007").school_class_id == district.class_a2.pk
        assert _student("2026007").birth_date == dt.date(2018, 5, 10)

        wu, zheng = _student("2026008"), _student("2026009")
        assert wu.family_id == zheng.family_id and wu.family.code == "F-NEW-1"
        assert wu.family.guardians.count() == 2
        assert _student("2026010").family_id == district.families["siblings"].pk
        assert Guardian.objects.filter(family=district.families["siblings"]).count() == 1

        new_class = SchoolClass.objects.get(school=school, grade=1, number=1)
        assert new_class.entry_year == academic_year_start()

        def flags(number):
            return sorted(FocusFlag.objects.filter(student__student_number=number,
                                                   cleared_at=None)
                          .values_list("category__code", flat=True))
        assert flags("2026001") == ["left_behind_single_parent", "mental_health"]
        assert flags("2026002") == ["academic", "economic"]
        assert flags("2026003") == ["disability", "migrant"]
        assert flags("2026004") == ["left_behind_single_parent", "mental_health"]
        assert flags("2026006") == []
        assert set(FocusFlag.objects.filter(student__student_number="2026001")
                   .values_list("reason", flat=True)) == {"名册导入"}
        # The ID number was never stored anywhere.
        assert not Student.objects.filter(name__contains="320412").exists()
        # Existing students not in the file are untouched.
        assert Student.objects.filter(school=school, student_number__startswith="A").count() == 4


def test_gbk_csv_into_a_junior_school(district, in_school):
    school = district.school_b
    data = csv_bytes([
        ["学号", "姓名", "性别", "出生日期", "班级", "家长姓名", "联系电话", "关注类别"],
        ["B2026001", "陈一", "男", "2013-09-01", "初一(1)班", "陈父", "13700000001", "随迁"],
        ["B2026002", "陈二", "女", "2013/9/2", "七年级2班", "陈父", "13700000001", ""],
        ["B2026003", "林三", "女", "2012年1月3日", "初二（3）班", "林母", "13700000003", "学困"],
    ], encoding="gbk")
    with in_school(school):
        preview = roster_import(school=school, file_name="roster.csv", data=data, by=None)
    assert preview.counts["students_new"] == 3
    with scopes_disabled():
        chen1, chen2, lin = (_student(n) for n in ("B2026001", "B2026002", "B2026003"))
        assert (chen1.name, chen1.school_class_id) == ("陈一", district.class_b1.pk)
        assert (chen2.school_class.grade, chen2.school_class.number) == (7, 2)
        assert (lin.school_class.grade, lin.school_class.number) == (8, 3)
        assert chen1.family_id == chen2.family_id != lin.family_id
        # a junior school's grade 8 entered one year before this school year
        assert lin.school_class.entry_year == academic_year_start() - 1


def test_csv_with_bom_tabs_and_a_title_line(district, in_school):
    school = district.school_a
    data = csv_bytes([
        ["测试实验小学学生名册"],
        ["学生编号", "姓名", "班别", "家长", "电话", "重点关注"],
        ["2026101", "马一", "三年级(1)班", "马父", "13600000001", "心理健康有困难的学生"],
        ["2026102", "马二", "三(2)班", "马父", "13600000001", "单亲家庭"],
    ], delimiter="\t", bom=True)
    with in_school(school):
        preview = roster_import(school=school, file_name="roster.csv", data=data, by=None)
    assert preview.header_row == 2
    with scopes_disabled():
        ma1, ma2 = _student("2026101"), _student("2026102")
        assert ma1.name == "马一" and ma1.family_id == ma2.family_id
        assert list(FocusFlag.objects.filter(student=ma2).values_list("category__code",
                                                                      flat=True)) == [
            "left_behind_single_parent"]


def test_a_file_with_errors_is_refused_whole_and_names_each_row(district, in_school):
    school = district.school_a
    data = xlsx([
        ["测试实验小学学生名册", None, None, None, None],
        ["学号", "姓名", "班级", "联系电话", "关注类别"],
        ["2026201", "甲", "三(1)班", "13500000001", "留守"],   # row 3, fine
        ["2026202", "乙", "三(1)班", "13500000002", None],     # row 4, duplicate number (row 6)
        ["2026203", None, "三(1)班", "13500000003", None],     # row 5, missing name
        ["2026202", "丙", "三(2)班", "13500000004", None],     # row 6, duplicate of row 4
        ["2026205", "丁", "三(2)班", "12345", None],           # row 7, impossible phone
        ["2026206", "戊", "三(2)班", "13500000006", "超能力"],  # row 8, unknown category
    ], merged=["A1:E1"])
    before = row_counts()
    with in_school(school):
        preview = roster_preview(school=school, file_name="bad.xlsx", data=data)
        with pytest.raises(ImportRefused) as refused:
            roster_import(school=school, file_name="bad.xlsx", data=data, by=None)
    assert row_counts() == before  # 0 rows written
    errors = {(m.row, m.column): m.text for m in refused.value.preview.errors}
    assert errors == {(m.row, m.column): m.text for m in preview.errors}
    assert "重复" in errors[(4, "学号")] and "4、6" in errors[(4, "学号")]
    assert "重复" in errors[(6, "学号")] and "4、6" in errors[(6, "学号")]
    assert errors[(5, "姓名")] == "缺少姓名"
    assert "电话号码不正确" in errors[(7, "联系电话")] and "12345" in errors[(7, "联系电话")]
    assert "超能力" in errors[(8, "关注类别")]
    assert 3 not in {m.row for m in preview.errors}


@pytest.mark.parametrize(("cells", "column", "expected"), [
    ({"出生日期": "2015-13-45"}, "出生日期", "出生日期无法识别"),
    ({"出生日期": "2099-01-01"}, "出生日期", "出生日期不合理"),
    ({"班级": "三年级"}, "班级", "无法识别的班级"),
    ({"班级": "2班"}, "班级", "没有写年级"),
    ({"班级": "七年级(1)班"}, "班级", "不在本校学段内"),
    ({"班级": "(1)班", "年级": "初一"}, "班级", "不在本校学段内"),
    ({"学号": None}, "学号", "缺少学号"),
    ({"性别": "未知"}, "性别", "性别无法识别"),
    ({"联系电话": "1.39E+10"}, "联系电话", "科学计数法"),
])
def test_each_kind_of_row_error(district, in_school, cells, column, expected):
    header = ["学号", "姓名", "性别", "出生日期", "年级", "班级", "联系电话"]
    values = {"学号": "2026301", "姓名": "某生", "性别": "男", "出生日期": "2018-01-01",
              "年级": None, "班级": "三(1)班", "联系电话": "13500000001", **cells}
    data = xlsx([header, [values[h] for h in header]])
    before = row_counts()
    with in_school(district.school_a):
        with pytest.raises(ImportRefused) as refused:
            roster_import(school=district.school_a, file_name="x.xlsx", data=data, by=None)
    assert row_counts() == before
    [error] = refused.value.preview.errors
    assert (error.row, error.column) == (2, column)
    assert expected in error.text


def test_reimport_is_idempotent_and_applies_updates(district, in_school):
    school = district.school_a
    with in_school(school):
        roster_import(school=school, file_name="a.xlsx", data=realistic_xlsx(), by=None)
    after_first = row_counts()
    with in_school(school):
        again = roster_import(school=school, file_name="a.xlsx", data=realistic_xlsx(), by=None)
    assert row_counts() == after_first
    assert again.counts["students_unchanged"] == 10
    assert again.counts["students_new"] == again.counts["families_new"] == 0
    assert again.counts["guardians_new"] == again.counts["flags_new"] == 0

    rows = realistic_rows()
    rows[3][2] = "张三丰"           # renamed
    rows[3][5], rows[3][6] = "(2)班", "一年级"  # moved to 1(2)
    rows[3][17] = "心理"            # 留守 no longer listed: the flag must stay
    rows[6][17] = "学困"            # a new flag for 赵六
    rows = rows[:-1]               # 王小兰 absent from this file
    with in_school(school):
        changed = roster_import(school=school, file_name="b.xlsx", data=xlsx(rows), by=None)
    assert changed.counts["students_updated"] == 2
    assert changed.counts["students_new"] == 0
    assert any("王小兰" in name for name in changed.absent)
    with scopes_disabled():
        zs = _student("2026001")
        assert zs.name == "张三丰" and (zs.school_class.grade, zs.school_class.number) == (1, 2)
        assert set(FocusFlag.objects.filter(student=zs, cleared_at=None)
                   .values_list("category__code", flat=True)) == {
            "left_behind_single_parent", "mental_health"}
        assert FocusFlag.objects.filter(student__student_number="2026004", cleared_at=None,
                                        category__code="academic").exists()
        wang = _student("2026010")
        assert wang.status == Student.Status.ENROLLED  # absent: listed, never changed
    assert row_counts()["Student"] == after_first["Student"]


def test_existing_students_matched_by_number_keep_their_family(district, in_school):
    data = xlsx([
        ["学号", "姓名", "班级", "家长姓名", "联系电话", "家庭住址"],
        ["A0001", "王小明", "三(1)班", "王建国", "13812345678", None],
        ["A0002", "王小红", "三(2)班", None, None, "新地址8号"],
        ["A0003", "李思", "三(1)班", "李红", "13900001111", None],
        ["A0004", "赵一", "三(2)班", "赵刚", "13700002222", None],
    ])
    before = row_counts()
    with in_school(district.school_a):
        preview = roster_import(school=district.school_a, file_name="a.xlsx", data=data, by=None)
    assert preview.counts["students_new"] == 0
    assert preview.counts["families_new"] == 0
    assert preview.absent == []
    assert row_counts() == before
    with scopes_disabled():
        siblings = district.families["siblings"]
        siblings.refresh_from_db()
        assert siblings.address == "新地址8号"
        assert set(siblings.students.values_list("student_number", flat=True)) == {"A0001",
                                                                                  "A0002"}


def test_family_code_wins_over_a_shared_phone(district, in_school):
    data = xlsx([
        ["学号", "姓名", "班级", "联系电话", "家庭编号"],
        ["2026401", "表哥", "三(1)班", "13300000001", "H1"],
        ["2026402", "表弟", "三(2)班", "13300000001", "H2"],
        ["2026403", "表妹", "三(2)班", "13300000001", None],
    ])
    with in_school(district.school_a):
        roster_import(school=district.school_a, file_name="a.xlsx", data=data, by=None)
    with scopes_disabled():
        a, b, c = (_student(n) for n in ("2026401", "2026402", "2026403"))
        assert a.family.code == "H1" and b.family.code == "H2"
        assert c.family_id == a.family_id  # no code of its own: joins by the phone


def test_new_code_is_written_onto_the_family_students_already_share(district, in_school):
    with scopes_disabled():
        family = district.families["siblings"]
        Family.objects.filter(pk=family.pk).update(code="")
    data = xlsx([
        ["学号", "姓名", "班级", "家庭编号"],
        ["A0001", "王小明", "三(1)班", "W-1"],
        ["A0002", "王小红", "三(2)班", "W-1"],
    ])
    before = row_counts()
    with in_school(district.school_a):
        roster_import(school=district.school_a, file_name="a.xlsx", data=data, by=None)
    assert row_counts() == before
    with scopes_disabled():
        family.refresh_from_db()
        assert family.code == "W-1"


def test_two_guardian_columns_with_the_same_header(district, in_school):
    data = csv_bytes([
        ["学号", "姓名", "班级", "家长姓名", "联系电话", "家长姓名", "联系电话"],
        ["2026501", "何一", "三(1)班", "何父", "13200000001", "何母", "13200000002"],
    ])
    with in_school(district.school_a):
        roster_import(school=district.school_a, file_name="a.csv", data=data, by=None)
    with scopes_disabled():
        assert sorted(_student("2026501").family.guardians.values_list("name", "phone")) == [
            ("何母", "13200000002"), ("何父", "13200000001")]


def test_preview_writes_nothing(district, in_school):
    before = row_counts()
    with in_school(district.school_a):
        preview = services.roster_preview(school=district.school_a, file_name="a.xlsx",
                                          data=realistic_xlsx())
    assert preview.ok and preview.counts["students_new"] == 10
    assert row_counts() == before


def test_existing_family_matched_by_code(district, in_school):
    data = xlsx([["学号", "姓名", "班级", "家庭编号", "联系电话"],
                 ["2026601", "李小思", "三(2)班", "F-A-2", "13100000009"]])
    with in_school(district.school_a):
        preview = roster_import(school=district.school_a, file_name="a.xlsx", data=data, by=None)
    assert preview.counts["families_new"] == 0 and preview.counts["siblings"] == 1
    with scopes_disabled():
        student = _student("2026601")
        assert student.family_id == district.families["a1_only"].pk
        assert sorted(student.family.guardians.values_list("phone", flat=True)) == [
            "13100000009", "13900001111"]


def test_a_file_without_phone_column_warns_once(district, in_school):
    data = xlsx([["学号", "姓名", "班级"], ["2026701", "甲", "三(1)班"], ["2026702", "乙", "三(1)班"]])
    with in_school(district.school_a):
        preview = roster_preview(school=district.school_a, file_name="a.xlsx", data=data)
    assert preview.ok
    phone_warnings = [m for m in preview.warnings if "电话" in m.text]
    assert len(phone_warnings) == 1 and phone_warnings[0].row is None


def test_a_transferred_student_listed_again_keeps_the_status_and_is_told(district, in_school):
    with scopes_disabled():
        Student.objects.filter(student_number="A0004").update(status=Student.Status.TRANSFERRED)
    data = xlsx([["学号", "姓名", "班级"], ["A0004", "赵一", "三(2)班"]])
    with in_school(district.school_a):
        preview = roster_import(school=district.school_a, file_name="a.xlsx", data=data, by=None)
    assert any(m.row == 2 and "转出" in m.text for m in preview.warnings)
    assert not any("赵一" in a for a in preview.absent)
    with scopes_disabled():
        assert _student("A0004").status == Student.Status.TRANSFERRED
    data = xlsx([["学号", "姓名", "班级", "学籍状态"], ["A0004", "赵一", "三(2)班", "在读"]])
    with in_school(district.school_a):
        preview = roster_import(school=district.school_a, file_name="a.xlsx", data=data, by=None)
    assert preview.counts["students_updated"] == 1
    with scopes_disabled():
        assert _student("A0004").status == Student.Status.ENROLLED


def test_cohort_classes_resolve_against_the_school_year(district, in_school):
    start = academic_year_start()
    data = xlsx([["学号", "姓名", "班级"], ["B2026801", "新生", f"{start}级2班"],
                 ["B2026802", "老生", f"{start - 2}级(1)班"]])
    with in_school(district.school_b):
        roster_import(school=district.school_b, file_name="a.xlsx", data=data, by=None)
    with scopes_disabled():
        assert (_student("B2026801").school_class.grade, _student("B2026801").school_class.number
                ) == (7, 2)
        assert _student("B2026802").school_class.grade == 9
        assert _student("B2026801").school_class.entry_year == start
