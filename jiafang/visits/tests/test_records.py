"""Recording, amending and the coverage that follows (R3–R6, R9, R12, R17, R23; issue 3 points
6–7; SECURITY.md G1)."""

import pytest
from django.core.exceptions import ValidationError

from jiafang.campaigns.services import campaign_field_add
from jiafang.conftest import make_campaign
from jiafang.schools.models import FocusCategory
from jiafang.visits.models import (
    DemandCategory,
    ParentDemand,
    StudentVisitStatus,
    Visit,
    VisitEvent,
    VisitRecord,
    VisitRecordChild,
    VisitRecordRevision,
)
from jiafang.visits.selectors import (
    Counts,
    coverage_for_bureau,
    coverage_for_school,
    families_to_visit,
    progress_by_week,
)
from jiafang.visits.services import (
    StaleVersion,
    parent_demands_split,
    visit_record_amend,
    visit_record_submit,
    visit_schedule,
)
from jiafang.visits.tests.conftest import (
    YEAR,
    assert_figures_true,
    at,
    children_parts,
    record_kwargs,
    schedule_and_record,
)

pytestmark = pytest.mark.usefixtures("scoped")


def propose(district, campaign, family="siblings", lead="head_a1", companions=()):
    return visit_schedule(campaign=campaign, family=district.families[family],
                          lead=district.users[lead],
                          companions=[district.users[c] for c in companions],
                          scheduled_at=at(4, 15, 17), duration_minutes=60, form="in_person",
                          by=district.users[lead]).visit


def category(code):
    return FocusCategory.objects.get(code=code)


def by_category(coverage):
    return {c.code: counts for c, counts in coverage.by_category}


def test_sibling_visit_moves_coverage_exactly_at_every_level(district, campaign):
    """One visit to the family with two enrolled children in different classes: both children
    visited, the family counted once, at class, grade, school, bureau and by category."""
    principal, officer, head = (district.users[k] for k in
                                ("principal_a", "bureau_officer", "head_a1"))
    school = district.school_a
    before = coverage_for_school(principal, school, campaign)
    assert before.totals == Counts(4, 0, 3, 0, 0)
    bureau_before = coverage_for_bureau(officer, campaign)
    assert bureau_before.totals == Counts(5, 0, 4, 0, 0)

    visit = propose(district, campaign, companions=["subject_a1"])
    record = visit_record_submit(visit=visit, **record_kwargs(visit))
    assert visit.status == Visit.Status.DONE and record.counts
    assert set(record.children.values_list("student_id", flat=True)) == {
        district.students["a1_sibling"].pk, district.students["a2_sibling"].pk}

    after = coverage_for_school(principal, school, campaign)
    assert after.totals == Counts(4, 2, 3, 1, 0)
    assert [(c.pk, n) for c, n in after.by_class] == [
        (district.class_a1.pk, Counts(2, 1, 2, 1, 0)),
        (district.class_a2.pk, Counts(2, 1, 2, 1, 0))]
    assert after.by_grade == [(3, "三年级", Counts(4, 2, 3, 1, 0))]
    cats = by_category(after)
    assert cats["left_behind_single_parent"] == Counts(1, 1, 1, 1, 0)
    assert cats["mental_health"] == Counts(1, 0, 1, 0, 0)
    assert cats["economic"] == Counts()
    assert [(t.user.username, t.led, t.joined) for t in after.by_teacher] == [
        ("head_a1", 1, 0), ("subject_a1", 0, 1)]
    assert after.principal_visits == 0

    bureau = coverage_for_bureau(officer, campaign)
    assert bureau.totals == Counts(5, 2, 4, 1, 0)
    row_a = next(r for r in bureau.schools if r.school == school)
    assert (row_a.students_visited, row_a.families_visited, row_a.focus_visited) == (2, 1, 1)
    assert {c.code: (t, v) for c, t, v in bureau.by_category}["left_behind_single_parent"] == (
        1, 1)
    assert {c.code: (t, v) for c, t, v in bureau.by_category}["mental_health"] == (2, 0)
    assert (bureau.focus_total, bureau.focus_visited) == (3, 1)

    # the head teacher of 3(1) sees their class only: one child, one family of two
    mine = coverage_for_school(head, school, campaign)
    assert mine.totals == Counts(2, 1, 2, 1, 0)
    todo = families_to_visit(head, district.class_a1, campaign)
    assert [r.family.pk for r in todo.pending] == [district.families["a1_only"].pk]
    assert todo.pending[0].is_focus and todo.visited_count == 1
    assert_figures_true(campaign, district)


def test_principal_visits_are_counted(district, campaign):
    schedule_and_record(district, campaign, district.families["a2_only"],
                        lead=district.users["principal_a"])
    assert coverage_for_school(district.users["coordinator_a"], district.school_a,
                               campaign).principal_visits == 1
    bureau = coverage_for_bureau(district.users["bureau_officer"], campaign)
    assert bureau.principal_visits == 1
    assert_figures_true(campaign, district)


def test_phone_visit_is_recorded_but_counts_only_if_the_campaign_says_so(district, campaign):
    visit, record = schedule_and_record(district, campaign, district.families["siblings"],
                                        form="phone")
    assert visit.status == "done" and not record.counts
    assert not StudentVisitStatus.objects.filter(campaign=campaign).exists()
    assert coverage_for_school(district.users["principal_a"], district.school_a,
                               campaign).totals.students_visited == 0
    assert_figures_true(campaign, district)

    phone_counts = make_campaign(district, name="电话也算", today=campaign.starts_on,
                                 counting_forms=["in_person", "phone"])
    _visit, record = schedule_and_record(district, phone_counts, district.families["siblings"],
                                         form="phone")
    assert record.counts
    assert coverage_for_school(district.users["principal_a"], district.school_a,
                               phone_counts).totals.students_visited == 2
    assert_figures_true(phone_counts, district)


def test_a_visit_outside_the_campaign_period_does_not_count(district, campaign):
    _visit, record = schedule_and_record(district, campaign, district.families["a2_only"],
                                         visited_at=at(7, 2, 18))
    assert not record.counts
    assert_figures_true(campaign, district)


@pytest.mark.parametrize("change", [
    {"children": "no_methods"}, {"children": "missing_child"}, {"children": "stranger"},
    {"no_gifts_affirmed": False}, {"preparation": "  "}, {"contents": ["gossip"]},
    {"into_family": ["x"]}, {"form": "telepathy"}, {"visited_at": at(4, 15, 17).replace(
        year=2999)},
])
def test_an_incomplete_record_is_refused_and_writes_nothing(district, campaign, change):
    visit = propose(district, campaign)
    sibling_a1 = district.students["a1_sibling"].pk
    values = record_kwargs(visit)
    if change.get("children") == "no_methods":
        values["children"][sibling_a1]["methods"] = " "
    elif change.get("children") == "missing_child":
        del values["children"][sibling_a1]
    elif change.get("children") == "stranger":
        values["children"][district.students["a1_focus"].pk] = values["children"][sibling_a1]
    else:
        values.update(change)
    with pytest.raises(ValidationError):
        visit_record_submit(visit=visit, **values)
    assert not VisitRecord.objects.exists() and not VisitRecordChild.objects.exists()
    assert not ParentDemand.objects.exists() and not StudentVisitStatus.objects.exists()
    visit.refresh_from_db()
    assert visit.status == "proposed" and visit.version == 1
    assert list(visit.events.values_list("kind", flat=True)) == ["scheduled"]
    assert_figures_true(campaign, district)


def test_missing_strengths_names_the_child_and_the_part(district, campaign):
    visit = propose(district, campaign)
    student = district.students["a2_sibling"]
    values = record_kwargs(visit, children=children_parts(visit.family, {student.pk: {
        "strengths": "", "shortcomings": "上课走神", "methods": "座位调前"}}))
    with pytest.raises(ValidationError) as error:
        visit_record_submit(visit=visit, **values)
    assert "优点" in error.value.message_dict[f"children.{student.pk}"][0]


def test_extra_fields_are_validated_by_kind_choices_and_required(district, campaign):
    officer = district.users["bureau_officer"]
    campaign_field_add(campaign=campaign, by=officer, label="家访反思", kind="text",
                       required=True, key="reflection")
    campaign_field_add(campaign=campaign, by=officer, label="家长态度", kind="choice",
                       choices=["支持", "一般", "不支持"], key="attitude")
    campaign_field_add(campaign=campaign, by=officer, label="家长签名确认", kind="yes_no",
                       key="signed")
    visit = propose(district, campaign)
    bad = [
        {},  # the required reflection is missing
        {"reflection": "好", "attitude": "很好"},  # not a choice
        {"reflection": "好", "signed": "yes"},  # not a boolean
        {"reflection": "好", "unknown": "x"},  # not a field of this campaign
        {"reflection": 3},  # not text
    ]
    for extra in bad:
        with pytest.raises(ValidationError):
            visit_record_submit(visit=visit, **record_kwargs(visit, extra=extra))
    assert not VisitRecord.objects.exists()
    record = visit_record_submit(visit=visit, **record_kwargs(visit, extra={
        "reflection": " 沟通顺畅 ", "attitude": "支持", "signed": False}))
    assert record.extra == {"reflection": "沟通顺畅", "attitude": "支持", "signed": False}


def test_parent_demands_become_separate_rows_with_categories(district, campaign):
    visit = propose(district, campaign)
    study = DemandCategory.objects.get(code="study")
    lines = parent_demands_split("1、希望增加课后服务\n2. 希望学校多开展安全教育；孩子数学跟不上")
    assert lines == ["希望增加课后服务", "希望学校多开展安全教育", "孩子数学跟不上"]
    record = visit_record_submit(visit=visit, **record_kwargs(visit, parent_demands=[
        (lines[0], None), (lines[1], DemandCategory.objects.get(code="safety")),
        (lines[2], study.pk), ("   ", None)]))
    demands = list(ParentDemand.objects.filter(record=record).order_by("position"))
    assert [(d.text, d.category.name, d.status, d.family_id) for d in demands] == [
        ("希望增加课后服务", "其他", "open", visit.family_id),
        ("希望学校多开展安全教育", "安全", "open", visit.family_id),
        ("孩子数学跟不上", "学业辅导", "open", visit.family_id)]
    assert record.parent_demands_text == "\n".join(lines)
    assert set(DemandCategory.objects.values_list("name", flat=True)) == {
        "学业辅导", "家庭教育指导", "心理健康", "学校管理", "安全", "其他"}


def test_a_visit_is_recorded_once(district, campaign):
    visit, _record = schedule_and_record(district, campaign, district.families["a2_only"])
    with pytest.raises(ValidationError) as error:
        visit_record_submit(visit=visit, **record_kwargs(visit))
    assert "修改" in error.value.message_dict["status"][0]


def test_amend_with_a_stale_version_changes_nothing(district, campaign):
    _visit, record = schedule_and_record(district, campaign, district.families["siblings"])
    visit_record_amend(record=record, by=district.users["head_a1"], expected_version=1,
                       process="补充：家长很配合")
    assert record.version == 2
    with pytest.raises(StaleVersion) as error:
        visit_record_amend(record=record, by=district.users["head_a2"], expected_version=1,
                           process="另一人的修改")
    assert error.value.current_version == 2
    record.refresh_from_db()
    assert record.process == "补充：家长很配合" and record.version == 2
    assert VisitRecordRevision.objects.filter(record=record).count() == 1


def test_amend_keeps_a_revision_and_re_evaluates_coverage(district, campaign):
    visit, record = schedule_and_record(district, campaign, district.families["siblings"])
    principal = district.users["principal_a"]
    assert coverage_for_school(principal, district.school_a, campaign).totals.families_visited == 1
    sibling = district.students["a1_sibling"].pk
    visit_record_amend(record=record, by=district.users["head_a1"], expected_version=1,
                       form="phone", children={sibling: {"methods": "每周与家长沟通一次"}},
                       parent_demands=[("希望多关注孩子的数学", None), ("希望有课后托管", None)])
    record.refresh_from_db()
    assert record.version == 2 and record.form == "phone" and not record.counts
    revision = VisitRecordRevision.objects.get(record=record)
    assert revision.version == 1 and revision.data["form"] == "in_person"
    assert revision.data["children"][str(sibling)]["methods"] == "每天固定时间完成作业"
    assert record.children.get(student_id=sibling).methods == "每周与家长沟通一次"
    assert list(ParentDemand.objects.filter(record=record).values_list("text", flat=True)) == [
        "希望多关注孩子的数学", "希望有课后托管"]
    # a phone visit does not count: both children are no longer visited
    assert not StudentVisitStatus.objects.filter(campaign=campaign).exists()
    assert coverage_for_school(principal, district.school_a, campaign).totals.families_visited == 0
    assert_figures_true(campaign, district)
    event = VisitEvent.objects.filter(visit=visit, kind="amended").get()
    assert "form" in event.data["fields"] and "children" in event.data["fields"]
    # back to in person: counted again
    visit_record_amend(record=record, by=district.users["head_a1"], expected_version=2,
                       form="in_person")
    assert coverage_for_school(principal, district.school_a, campaign).totals.families_visited == 1
    assert VisitRecordRevision.objects.filter(record=record).count() == 2
    assert_figures_true(campaign, district)


def test_amend_validates_like_submit_and_refuses_unknown_changes(district, campaign):
    _visit, record = schedule_and_record(district, campaign, district.families["a2_only"])
    with pytest.raises(ValidationError):
        visit_record_amend(record=record, by=None, expected_version=1, no_gifts_affirmed=False)
    with pytest.raises(ValidationError):
        visit_record_amend(record=record, by=None, expected_version=1, school=district.school_b)
    with pytest.raises(ValidationError):
        visit_record_amend(record=record, by=None, expected_version=1,
                           children={district.students["a1_focus"].pk: {"methods": "x"}})
    record.refresh_from_db()
    assert record.version == 1 and not VisitRecordRevision.objects.exists()


def test_families_to_visit_lists_declined_apart_and_focus_first(district, campaign):
    from jiafang.visits.services import visit_decline

    head = district.users["head_a2"]
    todo = families_to_visit(head, district.class_a2, campaign)
    # 3(2): the sibling family (focus: left-behind) first, then 赵一's family
    assert [r.family.pk for r in todo.pending] == [district.families["siblings"].pk,
                                                   district.families["a2_only"].pk]
    visit = propose(district, campaign, family="a2_only", lead="head_a2")
    todo = families_to_visit(head, district.class_a2, campaign)
    assert todo.pending[1].next_visit == visit
    visit_decline(visit=visit, reason="家长婉拒，愿意电话沟通", by=None)
    todo = families_to_visit(head, district.class_a2, campaign)
    assert [r.family.pk for r in todo.pending] == [district.families["siblings"].pk]
    assert [(r.family.pk, r.declined_reason) for r in todo.declined] == [
        (district.families["a2_only"].pk, "家长婉拒，愿意电话沟通")]
    assert coverage_for_school(head, district.school_a, campaign).totals.families_declined == 1


def test_progress_by_week_counts_each_family_once_at_its_first_visit(district, campaign):
    schedule_and_record(district, campaign, district.families["siblings"],
                        visited_at=at(3, 5, 18))  # week of Monday 3 March
    schedule_and_record(district, campaign, district.families["siblings"],
                        visited_at=at(3, 20, 18))  # the same family again: not counted twice
    schedule_and_record(district, campaign, district.families["a2_only"],
                        lead=district.users["head_a2"], visited_at=at(3, 20, 18))
    progress = progress_by_week(district.users["principal_a"], district.school_a, campaign)
    assert progress.families_total == 3 and progress.outside_period == 0
    weeks = {w.starts_on.isoformat(): (w.families_visited, w.cumulative) for w in progress.weeks}
    assert weeks[f"{YEAR}-03-03"] == (1, 1)
    assert weeks[f"{YEAR}-03-17"] == (1, 2)
    assert progress.weeks[0].starts_on.isoformat() == f"{YEAR}-02-24"
    assert progress.weeks[-1].cumulative == 2


def test_reevaluate_follows_a_change_of_the_counting_forms(district, campaign):
    from jiafang.campaigns.models import Campaign
    from jiafang.visits.services import campaign_visits_reevaluate

    _visit, record = schedule_and_record(district, campaign, district.families["siblings"],
                                         form="video")
    assert not record.counts
    Campaign.objects.filter(pk=campaign.pk).update(counting_forms=["in_person", "video"])
    campaign.refresh_from_db()
    campaign_visits_reevaluate(campaign=campaign)
    record.refresh_from_db()
    assert record.counts
    assert StudentVisitStatus.objects.filter(campaign=campaign, visited=True).count() == 2
    assert_figures_true(campaign, district)
