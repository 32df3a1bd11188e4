"""The bureau overview's per-school figures stay equal to a live count after every write path."""

from io import StringIO

from django.core.management import call_command
from django.db.models import Count
from django_scopes import scopes_disabled

from jiafang.roster.services import roster_import
from jiafang.roster.tests.conftest import csv_bytes
from jiafang.schools.models import FocusCategory, FocusFlag, SchoolFigures, Student


def live(school) -> dict:
    enrolled = Student.objects.filter(school=school, status="enrolled")
    flags = FocusFlag.objects.filter(school=school, cleared_at=None, student__status="enrolled")
    return {
        "class_count": school.classes.count(),
        "student_count": enrolled.count(),
        "family_count": enrolled.values("family").distinct().count(),
        "focus_count": flags.values("student").distinct().count(),
        "focus_by_category": {str(c): n for c, n in flags.order_by().values_list("category")
                              .annotate(n=Count("student", distinct=True))},
    }


def stored(school) -> dict:
    f = SchoolFigures.objects.get(school=school)
    return {k: getattr(f, k) for k in ("class_count", "student_count", "family_count",
                                       "focus_count", "focus_by_category")}


def test_figures_follow_flags_set_and_cleared_in_the_browser(district, client):
    school = district.school_a
    client.force_login(district.users["head_a1"])
    student = district.students["a1_sibling"]
    with scopes_disabled():
        economic = FocusCategory.objects.get(code="economic")
        before = stored(school)["focus_count"]
    client.post(f"/students/{student.pk}/focus/", {"category": economic.pk, "reason": "低保户"})
    with scopes_disabled():
        assert stored(school) == live(school)
        assert stored(school)["focus_count"] == before + 1
        flag = FocusFlag.objects.get(student=student, category=economic)
    client.post(f"/students/{student.pk}/focus/{flag.pk}/clear/", {"reason": "已脱困"})
    with scopes_disabled():
        assert stored(school) == live(school)
        assert stored(school)["focus_count"] == before
    client.force_login(district.users["bureau_officer"])
    page = client.get("/schools/").content.decode()
    assert f">{before}<" in page


def test_figures_follow_a_roster_import(district):
    school = district.school_a
    data = csv_bytes([["学号", "姓名", "班级", "家长电话", "学籍状态", "重点关注"],
                      ["A0004", "赵一", "三(2)班", "13700002222", "转出", ""],
                      ["A0100", "新同学", "三(3)班", "13811112222", "在读", "随迁子女、残障"]])
    with scopes_disabled():
        roster_import(school=school, file_name="a.csv", data=data, by=None)
        figures = stored(school)
        assert figures == live(school)
        assert figures["class_count"] == 3
        assert figures["student_count"] == 4  # one transferred out, one new
        assert figures["focus_count"] == 3


def test_refresh_command_repairs_figures(district):
    with scopes_disabled():
        SchoolFigures.objects.update(student_count=999)
    call_command("refresh_figures", stdout=StringIO())
    with scopes_disabled():
        assert stored(district.school_a) == live(district.school_a)
