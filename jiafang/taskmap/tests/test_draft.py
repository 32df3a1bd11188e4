"""The draft (R8, R10, R18): who leads, who goes along, lighter loads, proximity, and a redraft
that keeps the coordinator's changes and changes nothing when run twice."""

from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from jiafang.accounts.models import Role
from jiafang.conftest import make_campaign, make_student
from jiafang.schools.models import Family, SchoolClass
from jiafang.taskmap import proximity
from jiafang.taskmap.models import TaskAssignment, TeacherLoad
from jiafang.taskmap.services import taskmap_draft, taskmap_reassign, teacher_load_set
from jiafang.taskmap.tests.conftest import HEAD, add_family, add_teacher

pytestmark = pytest.mark.usefixtures("scoped")


def _draft(d, campaign):
    return taskmap_draft(campaign=campaign, school=d.school_a, by=d.users["coordinator_a"])


def _leads(campaign) -> dict[int, int | None]:
    return {a.family_id: a.lead_id for a in TaskAssignment.objects.filter(campaign=campaign)}


def _companions(campaign, lead) -> Counter:
    return Counter(c.user_id for a in TaskAssignment.objects.filter(campaign=campaign, lead=lead)
                   .prefetch_related("task_companions") for c in a.task_companions.all())


def test_lead_is_the_head_teacher_of_the_youngest_enrolled_child(district, campaign):
    """R8: a family with children in grade 1 and grade 3 is led by the grade-1 head teacher;
    siblings in two classes of one grade go to the first class; one row per family, school A
    only."""
    d = district
    grade1 = SchoolClass.objects.create(school=d.school_a, grade=1, number=1, entry_year=2025)
    head_g1 = add_teacher("head_g1", grade1, kind=HEAD)
    result = _draft(d, campaign)
    assert _leads(campaign)[d.families["siblings"].pk] == d.users["head_a1"].pk
    make_student(grade1, d.families["siblings"], "A0100", "王小小")
    _draft(d, campaign)
    assert _leads(campaign) == {
        d.families["siblings"].pk: head_g1.pk,
        d.families["a1_only"].pk: d.users["head_a1"].pk,
        d.families["a2_only"].pk: d.users["head_a2"].pk,
    }
    assert (result.created, result.without_lead) == (3, 0)


def test_a_class_without_head_teacher_falls_back_to_the_next_child(district, campaign):
    """R8: without a head teacher in 3(1), the siblings go to 3(2)'s; a family of 3(1) alone
    is left without a lead, for the coordinator."""
    d = district
    Role.objects.filter(kind=HEAD, school_class=d.class_a1).delete()
    result = _draft(d, campaign)
    leads = _leads(campaign)
    assert leads[d.families["siblings"].pk] == d.users["head_a2"].pk
    assert leads[d.families["a1_only"].pk] is None
    assert result.without_lead == 1


def test_companions_are_balanced_among_the_lead_class_subject_teachers(district, campaign):
    """R10: nine families of 3(1), three subject teachers of 3(1): three each; never the lead,
    never a teacher of another class."""
    d = district
    chinese = add_teacher("chinese_a1", d.class_a1)
    english = add_teacher("english_a1", d.class_a1, subject="英语")
    add_teacher("music_a2", d.class_a2, subject="音乐")
    for i in range(7):
        add_family(d.class_a1, f"N{i}")
    _draft(d, campaign)
    counts = _companions(campaign, d.users["head_a1"])
    assert counts == {d.users["subject_a1"].pk: 3, chinese.pk: 3, english.pk: 3}


def test_lighter_share_gets_proportionally_fewer_companions(district, campaign):
    """R10, R18: a teacher with half a share goes along half as often; share 0 never."""
    d = district
    chinese = add_teacher("chinese_a1", d.class_a1)
    english = add_teacher("english_a1", d.class_a1, subject="英语")
    for i in range(8):
        add_family(d.class_a1, f"N{i}")
    teacher_load_set(campaign=campaign, school=d.school_a, user=english, max_families=None,
                     share=50, reason="孩子年幼需照顾", by=d.users["coordinator_a"])
    _draft(d, campaign)
    assert _companions(campaign, d.users["head_a1"]) == {
        d.users["subject_a1"].pk: 4, chinese.pk: 4, english.pk: 2}
    teacher_load_set(campaign=campaign, school=d.school_a, user=english, max_families=None,
                     share=0, reason="长期病假", by=d.users["coordinator_a"])
    _draft(d, campaign)
    assert english.pk not in _companions(campaign, d.users["head_a1"])


def test_lighter_load_moves_sibling_families_and_flags_the_rest(district, campaign):
    """R18: head_a1 may lead no family: the siblings go to their 3(2) head teacher, the family
    with one child in 3(1) stays with head_a1, flagged over the cap."""
    d = district
    teacher_load_set(campaign=campaign, school=d.school_a, user=d.users["head_a1"],
                     max_families=0, reason="刚做完手术", by=d.users["coordinator_a"])
    result = _draft(d, campaign)
    rows = {a.family_id: a for a in TaskAssignment.objects.filter(campaign=campaign)}
    assert rows[d.families["siblings"].pk].lead_id == d.users["head_a2"].pk
    a1_only = rows[d.families["a1_only"].pk]
    assert (a1_only.lead_id, a1_only.over_cap) == (d.users["head_a1"].pk, True)
    assert result.over_cap == 1
    # a cap of one: the family that cannot move stays, the siblings still move, nothing flagged
    teacher_load_set(campaign=campaign, school=d.school_a, user=d.users["head_a1"],
                     max_families=1, reason="刚做完手术", by=d.users["coordinator_a"])
    assert _draft(d, campaign).over_cap == 0
    assert _leads(campaign)[d.families["siblings"].pk] == d.users["head_a2"].pk


def test_redraft_keeps_manual_rows_and_changes_nothing_when_run_twice(district, campaign):
    """R8: the coordinator's reassignment survives a redraft; a second draft writes nothing."""
    d = district
    _draft(d, campaign)
    taskmap_reassign(campaign=campaign, school=d.school_a, family_ids=[d.families["a1_only"].pk],
                     lead=d.users["principal_a"], companions=[], by=d.users["coordinator_a"])
    again = _draft(d, campaign)
    assert again.manual == 1 and again.updated == 0 and again.created == 0
    row = TaskAssignment.objects.get(campaign=campaign, family=d.families["a1_only"])
    assert (row.lead_id, row.manual, row.version) == (d.users["principal_a"].pk, True, 2)
    before = dict(TaskAssignment.objects.values_list("pk", "version"))
    third = _draft(d, campaign)
    assert (third.created, third.updated, third.removed) == (0, 0, 0)
    assert dict(TaskAssignment.objects.values_list("pk", "version")) == before


def test_redraft_follows_roster_changes(district, campaign):
    """A family whose only child left is dropped; a new family is drafted; others unchanged."""
    d = district
    _draft(d, campaign)
    student = d.students["a2_plain"]
    student.status = "transferred"
    student.save(update_fields=["status"])
    family = add_family(d.class_a1, "NEW")
    result = _draft(d, campaign)
    assert (result.created, result.removed, result.updated) == (1, 1, 0)
    assert set(_leads(campaign)) == {d.families["siblings"].pk, d.families["a1_only"].pk,
                                     family.pk}


def test_reassign_and_load_validation_in_chinese(district, campaign):
    """Leads and companions are staff of the school; families are the school's; reasons."""
    d = district
    a = dict(campaign=campaign, school=d.school_a, by=d.users["coordinator_a"])
    with pytest.raises(ValidationError) as error:
        taskmap_reassign(family_ids=[d.families["b"].pk], lead=d.users["head_b1"], **a)
    assert error.value.message_dict == {"family_ids": ["所选家庭不属于本校或没有在读学生。"],
                                        "lead": ["家访教师必须是本校教职工。"]}
    with pytest.raises(ValidationError) as error:
        taskmap_reassign(family_ids=[], lead=d.users["head_a2"],
                         companions=[d.users["bureau_officer"]], **a)
    assert error.value.message_dict == {"family_ids": ["请至少选择一个家庭。"],
                                        "companions": ["同行教师必须是本校教职工。"]}
    with pytest.raises(ValidationError) as error:
        teacher_load_set(user=d.users["head_a1"], max_families=2, reason=" ", **a)
    assert error.value.message_dict == {"reason": ["请填写减负原因。"]}
    with pytest.raises(ValidationError) as error:
        teacher_load_set(user=d.users["head_b1"], max_families=2, reason="病", **a)
    assert error.value.message_dict == {"user": ["只能为本校教职工设置减负。"]}
    assert teacher_load_set(user=d.users["head_a1"], max_families=2, reason="病", **a)
    assert teacher_load_set(user=d.users["head_a1"], max_families=None, reason="", **a) is None
    assert not TeacherLoad.objects.exists()


def test_reassign_suggests_a_companion_and_warns_over_the_cap(district, campaign):
    """R10, R18: without companions given, one of the new lead's class's subject teachers is
    suggested; moving families to a teacher over their cap is allowed but said."""
    d = district
    music = add_teacher("music_a2", d.class_a2, subject="音乐")
    teacher_load_set(campaign=campaign, school=d.school_a, user=d.users["head_a2"],
                     max_families=1, reason="怀孕", by=d.users["coordinator_a"])
    result = taskmap_reassign(campaign=campaign, school=d.school_a,
                              family_ids=[d.families["siblings"].pk, d.families["a2_only"].pk],
                              lead=d.users["head_a2"], by=d.users["coordinator_a"])
    assert [c.user_id for a in result.assignments for c in a.task_companions.all()] == [
        music.pk, music.pk]
    assert result.warnings == ["head_a2 现主访 2 户，超过减负上限（1 户）。"]


def test_campaign_must_include_the_school(district):
    d = district
    other = make_campaign(d, all_schools=False, school_ids=[d.school_b.pk])
    with pytest.raises(ValidationError) as error:
        _draft(d, other)
    assert error.value.message_dict == {"campaign": ["该学校不在本次活动范围内。"]}


def _family(pk, street="", community="", lat=None, lon=None, code=""):
    return Family(pk=pk, code=code or f"F{pk}", street=street, community=community,
                  latitude=None if lat is None else Decimal(lat),
                  longitude=None if lon is None else Decimal(lon))


def test_proximity_groups_by_street_and_community_then_nearest_neighbour():
    """R18: neighbours together: one group per street and community (a street's communities
    side by side), coordinates in nearest-neighbour order, unknown places last."""
    families = [
        _family(1, "遥观镇", "塘桥社区", "31.70000", "119.90000"),
        _family(2, "", "", None, None),
        _family(3, "遥观镇", "剑湖社区"),
        _family(4, "遥观镇", "塘桥社区", "31.75000", "119.95000"),
        _family(5, "遥观镇", "塘桥社区", "31.70100", "119.90100"),
        _family(6, "遥观镇", "塘桥社区", None, None, code="A"),
        _family(7, "", "", "31.78123", "119.96456"),
        _family(8, "横林镇", "", None, None),
    ]
    arranged = [(key, [f.pk for f in members]) for key, members in proximity.arrange(families)]
    assert arranged == [("横林镇", [8]), ("遥观镇·剑湖社区", [3]),
                        ("遥观镇·塘桥社区", [1, 5, 4, 6]), ("≈31.78,119.96", [7]), ("", [2])]
    assert proximity.group_label("遥观镇·剑湖社区", 2, show_place=False) == "第 2 组"
    assert proximity.group_label("≈31.78,119.96", 4, show_place=True) == "坐标 31.78,119.96 附近"
