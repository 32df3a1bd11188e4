"""visit_record_draft_save and the draft key (issue 3 pt 6; SECURITY.md F11)."""

import pytest
from django.core.exceptions import ValidationError

from jiafang.visits.models import VisitRecordDraft
from jiafang.visits.services import (
    visit_cancel,
    visit_record_draft_discard,
    visit_record_draft_key,
    visit_record_draft_save,
    visit_record_submit,
)
from jiafang.visits.tests.conftest import record_kwargs
from jiafang.visits.tests.test_records import propose

pytestmark = pytest.mark.usefixtures("scoped")


def test_one_draft_per_visit_and_user_overwritten(district, campaign):
    visit = propose(district, campaign, companions=["subject_a1"])
    head, subject = district.users["head_a1"], district.users["subject_a1"]
    visit_record_draft_save(visit=visit, user=head, data={"process": "一", "contents": ["opinions"]})
    draft = visit_record_draft_save(visit=visit, user=head, data={"process": "二"})
    visit_record_draft_save(visit=visit, user=subject, data={"process": "同行教师的"})
    assert VisitRecordDraft.objects.count() == 2
    draft.refresh_from_db()
    assert draft.data == {"process": "二"} and draft.school_id == visit.school_id
    visit_record_draft_discard(visit=visit, user=subject)
    assert VisitRecordDraft.objects.count() == 1


@pytest.mark.parametrize("data", [{"x": 1}, {"x": {"y": "z"}}, {"x": ["a", 2]}, ["x"],
                                  {"x": "长" * 100_001}])
def test_draft_refuses_what_a_form_cannot_hold(district, campaign, data):
    visit = propose(district, campaign)
    with pytest.raises(ValidationError):
        visit_record_draft_save(visit=visit, user=district.users["head_a1"], data=data)
    assert VisitRecordDraft.objects.count() == 0


def test_submit_removes_drafts_and_closed_visits_take_none(district, campaign):
    visit = propose(district, campaign)
    visit_record_draft_save(visit=visit, user=district.users["head_a1"], data={"process": "草稿"})
    visit_record_submit(visit=visit, **record_kwargs(visit))
    assert VisitRecordDraft.objects.count() == 0
    with pytest.raises(ValidationError):
        visit_record_draft_save(visit=visit, user=district.users["head_a1"], data={})
    other = propose(district, campaign, family="a1_only")
    visit_cancel(visit=other, reason="改期", by=district.users["head_a1"])
    with pytest.raises(ValidationError):
        visit_record_draft_save(visit=other, user=district.users["head_a1"], data={})


def test_draft_key_depends_on_secret_user_and_visit(district, campaign, settings):
    visit = propose(district, campaign)
    head = district.users["head_a1"]
    key = visit_record_draft_key(visit=visit, user=head)
    assert key == visit_record_draft_key(visit=visit, user=head)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert key != visit_record_draft_key(visit=visit, user=head)
