"""The access matrix (SECURITY.md B1–B5; R1, R23.10).

Every URL pattern and API operation × every persona (plus anonymous), in and out of scope.
A new endpoint that is not listed in CASES fails `test_every_endpoint_is_in_the_matrix` (B2).
Out of scope answers exactly what a non-existent id answers (B4).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django_scopes import scopes_disabled

from jiafang.campaigns.defaults import campaign_defaults
from jiafang.conftest import District
from jiafang.schools.models import FocusFlag

PERSONAS = [
    "anonymous", "bureau_officer", "city_officer", "other_officer", "principal_a",
    "coordinator_a", "head_a1", "head_a2", "subject_a1", "mental_a", "safety_a", "principal_b",
    "coordinator_b", "head_b1", "no_role",
]
BUREAU_A = {"bureau_officer", "city_officer"}
LEADERS_A = {"principal_a", "coordinator_a"}
# Everyone with a role at a school of the persona bureau: they read its campaign, not change it.
STAFF = LEADERS_A | {"head_a1", "head_a2", "subject_a1", "mental_a", "safety_a", "principal_b",
                     "coordinator_b", "head_b1"}
MISSING = 987654


@dataclass
class Case:
    """One operation on one target. `allowed` maps persona → expected status; every other
    signed-in persona gets `others`; anonymous gets `anonymous`."""

    name: str
    label: str
    url: Callable[[District], str]
    allowed: dict[str, int]
    method: str = "get"
    others: int = 404
    anonymous: int = 302
    data: Callable[[District], dict] = field(default=lambda d: {})
    missing_url: Callable[[District], str] | None = None
    content_type: str | None = None  # "application/json" for API writes

    def expected(self, persona: str) -> int:
        if persona == "anonymous":
            return self.anonymous
        return self.allowed.get(persona, self.others)


def every(status: int, *, but: dict[str, int] | None = None) -> dict[str, int]:
    result = {p: status for p in PERSONAS if p != "anonymous"}
    result.update(but or {})
    return result


def _sid(key):
    return lambda d: d.students[key].pk


def _flag_url(d: District) -> str:
    with scopes_disabled():
        flag = FocusFlag.objects.get(student=d.students["a1_focus"], cleared_at=None)
    return f"/students/{d.students['a1_focus'].pk}/focus/{flag.pk}/clear/"


def _campaign_form(d: District) -> dict:
    values = campaign_defaults(dt.date(2027, 1, 1))
    return {"bureau": d.bureau.pk, "name": values["name"], "counting_forms": ["in_person"],
            "all_schools": "on", **{k: values[k].isoformat() for k in (
                "starts_on", "ends_on", "plan_due_on", "summary_due_on")}}


def _cid(d: District) -> int:
    return d.campaign.pk


def _field_url(suffix: str = "") -> Callable[[District], str]:
    return lambda d: f"/campaigns/{d.campaign.pk}/fields/{d.campaign_field}/{suffix}"


CAMPAIGN_READERS = BUREAU_A | STAFF
CAMPAIGN_CHANGE = {**{p: 403 for p in STAFF}}

# The matrix visit: head_a1 (lead) to family a1_only of class A1, whose focus child the
# mental-health teacher sees. Who sees the family reads the visit; the class's head teacher and
# the school's leaders schedule and change it; only the lead (and companions) record it.
VISIT_READERS = BUREAU_A | LEADERS_A | {"head_a1", "subject_a1", "mental_a"}
VISIT_SCHEDULERS = LEADERS_A | {"head_a1"}


def _visit_rule(ok: int, allowed: set[str]) -> dict[str, int]:
    return {p: (ok if p in allowed else 403) for p in VISIT_READERS}


def _vid(d: District) -> int:
    return d.visit


def _matrix_day(d: District, days: int = 21) -> str:
    return (d.campaign.starts_on + dt.timedelta(days=days)).isoformat()


def _schedule_form(d: District) -> dict:
    return {"date": _matrix_day(d), "time": "18:00", "duration_minutes": "60",
            "lead": d.users["head_a1"].pk, "form": "in_person", "confirm": "1"}


def _schedule_json(d: District) -> dict:
    return {"family_id": d.families["a1_only"].pk,
            "scheduled_at": f"{_matrix_day(d)}T18:00:00+08:00"}

CASES: list[Case] = [
    # --- public and personal pages -------------------------------------------------------
    Case("health", "health", lambda d: "/health/", every(200), anonymous=200),
    Case("accounts:login", "login page", lambda d: "/accounts/login/",
         every(302), anonymous=200),
    Case("set_language", "language switch", lambda d: "/i18n/setlang/", every(302),
         method="post", anonymous=302, data=lambda d: {"language": "en", "next": "/"}),
    Case("home", "home", lambda d: "/", every(302, but={"no_role": 200}), anonymous=302),
    Case("accounts:logout", "logout", lambda d: "/accounts/logout/", every(302), method="post"),
    Case("accounts:password_change", "password change page", lambda d: "/accounts/password/",
         every(200)),
    Case("accounts:settings", "settings page", lambda d: "/accounts/settings/", every(200)),
    Case("accounts:token_revoke", "revoke someone else's token",
         lambda d: f"/accounts/settings/tokens/{d.token_of_head_a1}/revoke/",
         {"head_a1": 302}, method="post",
         missing_url=lambda d: f"/accounts/settings/tokens/{MISSING}/revoke/"),
    # --- school data pages ---------------------------------------------------------------
    Case("schools:list", "bureau overview", lambda d: "/schools/",
         every(200, but={"head_a1": 404, "head_a2": 404, "subject_a1": 404, "head_b1": 404,
                         "no_role": 404})),
    Case("schools:detail", "school A overview", lambda d: f"/schools/{d.school_a.pk}/",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"mental_a", "safety_a"}},
         missing_url=lambda d: f"/schools/{MISSING}/"),
    Case("schools:focus", "school A focus students", lambda d: f"/schools/{d.school_a.pk}/focus/",
         {p: 200 for p in LEADERS_A | {"mental_a"}},
         missing_url=lambda d: f"/schools/{MISSING}/focus/"),
    Case("schools:class", "class A1 roster", lambda d: f"/classes/{d.class_a1.pk}/",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"head_a1", "subject_a1"}},
         missing_url=lambda d: f"/classes/{MISSING}/"),
    Case("schools:class", "class B1 roster", lambda d: f"/classes/{d.class_b1.pk}/",
         {p: 200 for p in BUREAU_A | {"principal_b", "coordinator_b", "head_b1"}},
         missing_url=lambda d: f"/classes/{MISSING}/"),
    Case("schools:student", "focus student in A1",
         lambda d: f"/students/{d.students['a1_focus'].pk}/",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"head_a1", "subject_a1", "mental_a"}},
         missing_url=lambda d: f"/students/{MISSING}/"),
    Case("schools:student", "plain student in A2",
         lambda d: f"/students/{d.students['a2_plain'].pk}/",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"head_a2"}},
         missing_url=lambda d: f"/students/{MISSING}/"),
    Case("schools:student_focus_set", "flag a student in A1",
         lambda d: f"/students/{d.students['a1_plain_target']}/focus/",
         {**{p: 302 for p in LEADERS_A | {"head_a1"}}, **{p: 403 for p in BUREAU_A | {"subject_a1"}}},
         method="post", data=lambda d: {"category": d.category_pk, "reason": "测试"},
         missing_url=lambda d: f"/students/{MISSING}/focus/"),
    Case("schools:student_focus_clear", "clear a flag in A1", _flag_url,
         {**{p: 302 for p in LEADERS_A | {"head_a1", "mental_a"}},
          **{p: 403 for p in BUREAU_A | {"subject_a1"}}},
         method="post", data=lambda d: {"reason": "已好转"},
         missing_url=lambda d: f"/students/{MISSING}/focus/1/clear/"),
    # --- roster import (principal and coordinator of the school only) --------------------
    Case("roster:upload", "roster upload page", lambda d: f"/roster/{d.school_a.pk}/",
         {p: 200 for p in LEADERS_A}, missing_url=lambda d: f"/roster/{MISSING}/"),
    Case("roster:upload", "roster upload without a file", lambda d: f"/roster/{d.school_a.pk}/",
         {p: 400 for p in LEADERS_A}, method="post", data=lambda d: {"kind": "students"},
         missing_url=lambda d: f"/roster/{MISSING}/"),
    Case("roster:upload_staff", "staff upload page", lambda d: f"/roster/{d.school_a.pk}/staff/",
         {p: 200 for p in LEADERS_A}, missing_url=lambda d: f"/roster/{MISSING}/staff/"),
    Case("roster:template", "roster template", lambda d: f"/roster/{d.school_a.pk}/template/students.xlsx",
         {p: 200 for p in LEADERS_A},
         missing_url=lambda d: f"/roster/{MISSING}/template/students.xlsx"),
    Case("roster:preview", "import preview",
         lambda d: f"/roster/{d.school_a.pk}/uploads/{d.roster_upload}/",
         {p: 200 for p in LEADERS_A},
         missing_url=lambda d: f"/roster/{d.school_a.pk}/uploads/{MISSING}/"),
    Case("roster:result", "import result of a pending upload",
         lambda d: f"/roster/{d.school_a.pk}/uploads/{d.roster_upload}/result/",
         {p: 302 for p in LEADERS_A},
         missing_url=lambda d: f"/roster/{d.school_a.pk}/uploads/{MISSING}/result/"),
    Case("roster:confirm", "confirm an import",
         lambda d: f"/roster/{d.school_a.pk}/uploads/{d.roster_upload}/confirm/",
         {p: 302 for p in LEADERS_A}, method="post",
         missing_url=lambda d: f"/roster/{d.school_a.pk}/uploads/{MISSING}/confirm/"),
    Case("roster:discard", "discard an upload",
         lambda d: f"/roster/{d.school_a.pk}/uploads/{d.roster_upload}/discard/",
         {p: 302 for p in LEADERS_A}, method="post",
         missing_url=lambda d: f"/roster/{d.school_a.pk}/uploads/{MISSING}/discard/"),
    # --- campaigns (bureau officers change; the bureau's school staff read) ---------------
    Case("campaigns:list", "campaign list", lambda d: "/campaigns/",
         every(200, but={"no_role": 404})),
    Case("campaigns:create", "new campaign page", lambda d: "/campaigns/new/",
         {**{p: 200 for p in BUREAU_A | {"other_officer"}}, **CAMPAIGN_CHANGE}),
    Case("campaigns:create", "create a campaign", lambda d: "/campaigns/new/",
         {**{p: 302 for p in BUREAU_A}, "other_officer": 400, **CAMPAIGN_CHANGE},
         method="post", data=_campaign_form),
    Case("campaigns:detail", "campaign page", lambda d: f"/campaigns/{_cid(d)}/",
         {p: 200 for p in CAMPAIGN_READERS}, missing_url=lambda d: f"/campaigns/{MISSING}/"),
    Case("campaigns:edit", "campaign edit page", lambda d: f"/campaigns/{_cid(d)}/edit/",
         {**{p: 200 for p in BUREAU_A}, **CAMPAIGN_CHANGE},
         missing_url=lambda d: f"/campaigns/{MISSING}/edit/"),
    Case("campaigns:edit", "edit a campaign", lambda d: f"/campaigns/{_cid(d)}/edit/",
         {**{p: 302 for p in BUREAU_A}, **CAMPAIGN_CHANGE}, method="post", data=_campaign_form,
         missing_url=lambda d: f"/campaigns/{MISSING}/edit/"),
    Case("campaigns:field_add", "add a record field", lambda d: f"/campaigns/{_cid(d)}/fields/",
         {**{p: 302 for p in BUREAU_A}, **CAMPAIGN_CHANGE}, method="post",
         data=lambda d: {"label": "跟进措施", "kind": "text"},
         missing_url=lambda d: f"/campaigns/{MISSING}/fields/"),
    Case("campaigns:field_edit", "record field edit page", _field_url(),
         {**{p: 200 for p in BUREAU_A}, **CAMPAIGN_CHANGE},
         missing_url=lambda d: f"/campaigns/{MISSING}/fields/{MISSING}/"),
    Case("campaigns:field_move", "move a record field", _field_url("move/"),
         {**{p: 302 for p in BUREAU_A}, **CAMPAIGN_CHANGE}, method="post",
         data=lambda d: {"direction": "down"},
         missing_url=lambda d: f"/campaigns/{MISSING}/fields/{MISSING}/move/"),
    Case("campaigns:field_remove", "remove a record field", _field_url("remove/"),
         {**{p: 302 for p in BUREAU_A}, **CAMPAIGN_CHANGE}, method="post",
         missing_url=lambda d: f"/campaigns/{MISSING}/fields/{MISSING}/remove/"),
    # --- coverage (reports): bureau officers; school leaders; whoever opens the class ------
    Case("reports:bureau", "bureau coverage", lambda d: f"/campaigns/{_cid(d)}/coverage/",
         {p: 200 for p in BUREAU_A}, missing_url=lambda d: f"/campaigns/{MISSING}/coverage/"),
    Case("reports:school", "school A coverage",
         lambda d: f"/schools/{d.school_a.pk}/coverage/?campaign={_cid(d)}",
         {p: 200 for p in BUREAU_A | LEADERS_A},
         missing_url=lambda d: f"/schools/{MISSING}/coverage/?campaign={_cid(d)}"),
    Case("reports:todo", "class A1 to-do", lambda d: f"/classes/{d.class_a1.pk}/todo/?campaign={_cid(d)}",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"head_a1", "subject_a1"}},
         missing_url=lambda d: f"/classes/{MISSING}/todo/?campaign={_cid(d)}"),
    # --- visits: schedule, the visit page, the record -----------------------------------
    Case("visits:new", "schedule page",
         lambda d: f"/visits/new/?family={d.families['a1_only'].pk}",
         _visit_rule(200, VISIT_SCHEDULERS),
         missing_url=lambda d: f"/visits/new/?family={MISSING}"),
    Case("visits:new", "schedule a visit",
         lambda d: f"/visits/new/?family={d.families['a1_only'].pk}",
         _visit_rule(302, VISIT_SCHEDULERS), method="post", data=_schedule_form,
         missing_url=lambda d: f"/visits/new/?family={MISSING}"),
    Case("visits:detail", "visit page", lambda d: f"/visits/{_vid(d)}/",
         {p: 200 for p in VISIT_READERS}, missing_url=lambda d: f"/visits/{MISSING}/"),
    Case("visits:action", "confirm a visit", lambda d: f"/visits/{_vid(d)}/confirm/",
         _visit_rule(302, VISIT_SCHEDULERS), method="post", data=lambda d: {"version": 1},
         missing_url=lambda d: f"/visits/{MISSING}/confirm/"),
    Case("visits:action", "decline a visit", lambda d: f"/visits/{_vid(d)}/decline/",
         _visit_rule(302, VISIT_SCHEDULERS), method="post",
         data=lambda d: {"version": 1, "reason": "家长出差"},
         missing_url=lambda d: f"/visits/{MISSING}/decline/"),
    Case("visits:record", "record page", lambda d: f"/visits/{_vid(d)}/record/",
         _visit_rule(200, {"head_a1"}), missing_url=lambda d: f"/visits/{MISSING}/record/"),
    Case("visits:record", "submit an incomplete record", lambda d: f"/visits/{_vid(d)}/record/",
         _visit_rule(400, {"head_a1"}), method="post", data=lambda d: {"process": "x"},
         missing_url=lambda d: f"/visits/{MISSING}/record/"),
    Case("visits:record_amend", "amend a record not yet written",
         lambda d: f"/visits/{_vid(d)}/record/amend/", _visit_rule(302, {"head_a1"}),
         method="post", data=lambda d: {"record_version": 1},
         missing_url=lambda d: f"/visits/{MISSING}/record/amend/"),
    Case("visits:record_draft", "save a record draft",
         lambda d: f"/visits/{_vid(d)}/record/draft/", _visit_rule(200, {"head_a1"}),
         method="post", data=lambda d: {"data": {"process": "草稿"}},
         content_type="application/json",
         missing_url=lambda d: f"/visits/{MISSING}/record/draft/"),
    # --- API --------------------------------------------------------------------------
    Case("api:openapi-json", "OpenAPI schema", lambda d: "/api/v1/openapi.json", every(200)),
    Case("api:openapi-view", "API docs", lambda d: "/api/v1/docs", every(200)),
    Case("api:api-root", "API root", lambda d: "/api/v1/", every(404), anonymous=404),
    Case("api:list_schools", "API schools", lambda d: "/api/v1/schools", every(200),
         anonymous=401),
    Case("api:get_school", "API school A", lambda d: f"/api/v1/schools/{d.school_a.pk}",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"mental_a", "safety_a"}}, anonymous=401,
         missing_url=lambda d: f"/api/v1/schools/{MISSING}"),
    Case("api:list_classes", "API classes", lambda d: "/api/v1/classes", every(200),
         anonymous=401),
    Case("api:get_class", "API class A1", lambda d: f"/api/v1/classes/{d.class_a1.pk}",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"head_a1", "subject_a1"}}, anonymous=401,
         missing_url=lambda d: f"/api/v1/classes/{MISSING}"),
    Case("api:list_students", "API students", lambda d: "/api/v1/students", every(200),
         anonymous=401),
    Case("api:get_student", "API student in A2",
         lambda d: f"/api/v1/students/{d.students['a2_plain'].pk}",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"head_a2"}}, anonymous=401,
         missing_url=lambda d: f"/api/v1/students/{MISSING}"),
    Case("api:list_families", "API families", lambda d: "/api/v1/families", every(200),
         anonymous=401),
    Case("api:get_family", "API sibling family",
         lambda d: f"/api/v1/families/{d.families['siblings'].pk}",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"head_a1", "head_a2", "subject_a1", "mental_a"}},
         anonymous=401, missing_url=lambda d: f"/api/v1/families/{MISSING}"),
    Case("api:list_campaigns", "API campaigns", lambda d: "/api/v1/campaigns", every(200),
         anonymous=401),
    Case("api:get_campaign", "API campaign", lambda d: f"/api/v1/campaigns/{_cid(d)}",
         {p: 200 for p in CAMPAIGN_READERS}, anonymous=401,
         missing_url=lambda d: f"/api/v1/campaigns/{MISSING}"),
    Case("api:create_campaign", "API create a campaign", lambda d: "/api/v1/campaigns",
         {**{p: 201 for p in BUREAU_A}, **CAMPAIGN_CHANGE}, method="post", anonymous=401,
         data=lambda d: {"bureau_id": d.bureau.pk, "starts_on": "2027-03-01"},
         content_type="application/json"),
    Case("api:update_campaign", "API change a campaign", lambda d: f"/api/v1/campaigns/{_cid(d)}",
         {**{p: 200 for p in BUREAU_A}, **CAMPAIGN_CHANGE}, method="patch", anonymous=401,
         data=lambda d: {"name": "改名后的活动"}, content_type="application/json",
         missing_url=lambda d: f"/api/v1/campaigns/{MISSING}"),
    Case("api:add_campaign_field", "API add a record-form field",
         lambda d: f"/api/v1/campaigns/{_cid(d)}/fields",
         {**{p: 201 for p in BUREAU_A}, **CAMPAIGN_CHANGE}, method="post", anonymous=401,
         data=lambda d: {"label": "跟进措施", "kind": "text"}, content_type="application/json",
         missing_url=lambda d: f"/api/v1/campaigns/{MISSING}/fields"),
    Case("api:update_campaign_field", "API change a record-form field",
         lambda d: f"/api/v1/campaigns/{_cid(d)}/fields/extra_1",
         {**{p: 200 for p in BUREAU_A}, **CAMPAIGN_CHANGE}, method="patch", anonymous=401,
         data=lambda d: {"label": "家访反思与改进"}, content_type="application/json",
         missing_url=lambda d: f"/api/v1/campaigns/{_cid(d)}/fields/extra_404"),
    Case("api:remove_campaign_field", "API remove a record-form field",
         lambda d: f"/api/v1/campaigns/{_cid(d)}/fields/extra_1",
         {**{p: 204 for p in BUREAU_A}, **CAMPAIGN_CHANGE}, method="delete", anonymous=401,
         missing_url=lambda d: f"/api/v1/campaigns/{_cid(d)}/fields/extra_404"),
    Case("api:coverage", "API coverage of the caller's scope, school A",
         lambda d: f"/api/v1/coverage?campaign={_cid(d)}&school={d.school_a.pk}",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"mental_a", "safety_a"}}, anonymous=401,
         missing_url=lambda d: f"/api/v1/coverage?campaign={_cid(d)}&school={MISSING}"),
    Case("api:coverage_bureau", "API bureau coverage",
         lambda d: f"/api/v1/coverage/bureau?campaign={_cid(d)}",
         {p: 200 for p in BUREAU_A}, anonymous=401,
         missing_url=lambda d: f"/api/v1/coverage/bureau?campaign={MISSING}"),
    Case("api:coverage_school", "API school A coverage",
         lambda d: f"/api/v1/coverage/schools/{d.school_a.pk}?campaign={_cid(d)}",
         {p: 200 for p in BUREAU_A | LEADERS_A}, anonymous=401,
         missing_url=lambda d: f"/api/v1/coverage/schools/{MISSING}?campaign={_cid(d)}"),
    Case("api:coverage_class_todo", "API class A1 to-do",
         lambda d: f"/api/v1/coverage/classes/{d.class_a1.pk}/todo?campaign={_cid(d)}",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"head_a1", "subject_a1"}}, anonymous=401,
         missing_url=lambda d: f"/api/v1/coverage/classes/{MISSING}/todo?campaign={_cid(d)}"),
    Case("api:list_visits", "API visits", lambda d: "/api/v1/visits", every(200),
         anonymous=401),
    Case("api:get_visit", "API visit", lambda d: f"/api/v1/visits/{_vid(d)}",
         {p: 200 for p in VISIT_READERS}, anonymous=401,
         missing_url=lambda d: f"/api/v1/visits/{MISSING}"),
    Case("api:schedule_visit", "API schedule a visit", lambda d: "/api/v1/visits",
         _visit_rule(201, VISIT_SCHEDULERS), method="post", anonymous=401,
         data=_schedule_json, content_type="application/json"),
    Case("api:confirm_visit", "API confirm a visit", lambda d: f"/api/v1/visits/{_vid(d)}/confirm",
         _visit_rule(200, VISIT_SCHEDULERS), method="post", anonymous=401,
         content_type="application/json",
         missing_url=lambda d: f"/api/v1/visits/{MISSING}/confirm"),
    Case("api:reschedule_visit", "API reschedule a visit",
         lambda d: f"/api/v1/visits/{_vid(d)}/reschedule", _visit_rule(200, VISIT_SCHEDULERS),
         method="post", anonymous=401, content_type="application/json",
         data=lambda d: {"scheduled_at": f"{_matrix_day(d, 28)}T18:00:00+08:00"},
         missing_url=lambda d: f"/api/v1/visits/{MISSING}/reschedule"),
    Case("api:decline_visit", "API decline a visit",
         lambda d: f"/api/v1/visits/{_vid(d)}/decline", _visit_rule(200, VISIT_SCHEDULERS),
         method="post", anonymous=401, content_type="application/json",
         data=lambda d: {"reason": "家长出差"},
         missing_url=lambda d: f"/api/v1/visits/{MISSING}/decline"),
    Case("api:cancel_visit", "API cancel a visit",
         lambda d: f"/api/v1/visits/{_vid(d)}/cancel", _visit_rule(200, VISIT_SCHEDULERS),
         method="post", anonymous=401, content_type="application/json",
         data=lambda d: {"reason": "临时有事"},
         missing_url=lambda d: f"/api/v1/visits/{MISSING}/cancel"),
    Case("api:record_visit", "API submit an incomplete record",
         lambda d: f"/api/v1/visits/{_vid(d)}/record", _visit_rule(422, {"head_a1"}),
         method="post", anonymous=401, content_type="application/json",
         data=lambda d: {"visited_at": f"{_matrix_day(d)}T18:00:00+08:00", "preparation": "",
                         "process": "", "children": {}},
         missing_url=lambda d: f"/api/v1/visits/{MISSING}/record"),
    Case("api:amend_visit_record", "API amend a record not yet written",
         lambda d: f"/api/v1/visits/{_vid(d)}/record", _visit_rule(404, {"head_a1"}),
         method="patch", anonymous=401, content_type="application/json",
         data=lambda d: {"process": "改"},
         missing_url=lambda d: f"/api/v1/visits/{MISSING}/record"),
    # --- task map (taskmap app) ----------------------------------------------------------
    # School A's map: its principal and coordinator change it; bureau officers over it read it
    # (changes 403); everyone else 404 like a missing school. My families: every signed-in user.
    Case("taskmap:school", "school A task map",
         lambda d: f"/schools/{d.school_a.pk}/taskmap/?campaign={_cid(d)}",
         {p: 200 for p in BUREAU_A | LEADERS_A},
         missing_url=lambda d: f"/schools/{MISSING}/taskmap/?campaign={_cid(d)}"),
    Case("taskmap:draft", "draft school A's task map",
         lambda d: f"/schools/{d.school_a.pk}/taskmap/draft/",
         {**{p: 302 for p in LEADERS_A}, **{p: 403 for p in BUREAU_A}}, method="post",
         data=lambda d: {"campaign": _cid(d)},
         missing_url=lambda d: f"/schools/{MISSING}/taskmap/draft/"),
    Case("taskmap:reassign", "reassign a family in school A",
         lambda d: f"/schools/{d.school_a.pk}/taskmap/reassign/",
         {**{p: 302 for p in LEADERS_A}, **{p: 403 for p in BUREAU_A}}, method="post",
         data=lambda d: {"campaign": _cid(d), "family": [d.families["a1_only"].pk],
                         "lead": d.users["head_a2"].pk, "companion": ""},
         missing_url=lambda d: f"/schools/{MISSING}/taskmap/reassign/"),
    Case("taskmap:load", "lighter load in school A",
         lambda d: f"/schools/{d.school_a.pk}/taskmap/loads/",
         {**{p: 302 for p in LEADERS_A}, **{p: 403 for p in BUREAU_A}}, method="post",
         data=lambda d: {"campaign": _cid(d), "user": d.users["subject_a1"].pk,
                         "max_families": "3", "share": "50", "reason": "腰伤恢复中"},
         missing_url=lambda d: f"/schools/{MISSING}/taskmap/loads/"),
    Case("taskmap:mine", "my families", lambda d: "/taskmap/mine/", every(200)),
    Case("api:list_assignments", "API task assignments", lambda d: "/api/v1/assignments",
         every(200), anonymous=401),
    Case("api:draft_assignments", "API draft school A's task map",
         lambda d: "/api/v1/assignments/draft",
         {**{p: 200 for p in LEADERS_A}, **{p: 403 for p in BUREAU_A}}, method="post",
         anonymous=401, content_type="application/json",
         data=lambda d: {"campaign_id": _cid(d), "school_id": d.school_a.pk}),
    Case("api:reassign_assignments", "API reassign a family in school A",
         lambda d: "/api/v1/assignments/reassign",
         {**{p: 200 for p in LEADERS_A}, **{p: 403 for p in BUREAU_A}}, method="post",
         anonymous=401, content_type="application/json",
         data=lambda d: {"campaign_id": _cid(d), "school_id": d.school_a.pk,
                         "family_ids": [d.families["a1_only"].pk],
                         "lead_id": d.users["head_a2"].pk}),
    Case("api:set_teacher_load", "API lighter load in school A",
         lambda d: "/api/v1/assignments/loads",
         {**{p: 200 for p in LEADERS_A}, **{p: 403 for p in BUREAU_A}}, method="put",
         anonymous=401, content_type="application/json",
         data=lambda d: {"campaign_id": _cid(d), "school_id": d.school_a.pk,
                         "user_id": d.users["subject_a1"].pk, "max_families": 3,
                         "reason": "腰伤恢复中"}),
    # --- timetable: calendar, iCalendar feed, parent links (timetable app) ---------------
    Case("timetable:week", "my week calendar", lambda d: "/calendar/", every(200)),
    Case("timetable:week", "head_a1's week calendar",
         lambda d: f"/calendar/?teacher={d.users['head_a1'].pk}",
         {p: 200 for p in LEADERS_A | {"head_a1"}},
         missing_url=lambda d: f"/calendar/?teacher={MISSING}"),
    Case("timetable:feed", "calendar feed page", lambda d: "/calendar/feed/", every(200)),
    Case("timetable:feed", "create a calendar feed", lambda d: "/calendar/feed/", every(302),
         method="post"),
    Case("timetable:feed_revoke", "stop a calendar feed", lambda d: "/calendar/feed/revoke/",
         every(302), method="post"),
    # the secret URL is the credential: anyone holding it reads head_a1's feed, no one else's
    Case("timetable:feed_ics", "head_a1's iCalendar feed",
         lambda d: f"/calendar/feed/{d.feed_token}.ics", every(200), anonymous=200),
    Case("timetable:feed_ics", "unknown iCalendar feed", lambda d: "/calendar/feed/nothing.ics",
         every(404), anonymous=404, missing_url=lambda d: "/calendar/feed/unknown.ics"),
    Case("timetable:parent_link", "parent link page",
         lambda d: f"/visits/{d.timetable_visit}/parent-link/",
         _visit_rule(200, VISIT_SCHEDULERS),
         missing_url=lambda d: f"/visits/{MISSING}/parent-link/"),
    Case("timetable:parent_link", "create a parent link",
         lambda d: f"/visits/{d.timetable_visit}/parent-link/",
         _visit_rule(302, VISIT_SCHEDULERS), method="post",
         missing_url=lambda d: f"/visits/{MISSING}/parent-link/"),
    Case("timetable:parent_link_revoke", "revoke a parent link",
         lambda d: f"/visits/{d.timetable_visit}/parent-link/revoke/",
         _visit_rule(302, VISIT_SCHEDULERS), method="post",
         missing_url=lambda d: f"/visits/{MISSING}/parent-link/revoke/"),
    # parent pages need no login: an unknown token is stripped from the URL like any other
    # (302 to /p/), and /p/ without a valid parent session is the neutral 404 page
    Case("timetable:parent_exchange", "open an unknown parent link",
         lambda d: "/p/unknown-token-0000000000000000000000000000000/", every(302),
         anonymous=302),
    Case("timetable:parent", "parent page without a link", lambda d: "/p/", every(404),
         anonymous=404),
    Case("timetable:parent_confirm", "parent confirms without a link", lambda d: "/p/confirm/",
         every(404), anonymous=404, method="post", data=lambda d: {"version": 1}),
    Case("timetable:parent_change", "parent asks for another time without a link",
         lambda d: "/p/change/", every(404), anonymous=404, method="post",
         data=lambda d: {"note": "周末更方便"}),
    Case("api:timetable_week", "API my week", lambda d: "/api/v1/timetable/week", every(200),
         anonymous=401),
    Case("api:timetable_week", "API head_a1's week",
         lambda d: f"/api/v1/timetable/week?teacher={d.users['head_a1'].pk}",
         {p: 200 for p in LEADERS_A | {"head_a1"}}, anonymous=401,
         missing_url=lambda d: f"/api/v1/timetable/week?teacher={MISSING}"),
    Case("api:create_parent_link", "API create a parent link",
         lambda d: f"/api/v1/timetable/visits/{d.timetable_visit}/parent-link",
         _visit_rule(201, VISIT_SCHEDULERS), method="post", anonymous=401,
         content_type="application/json",
         missing_url=lambda d: f"/api/v1/timetable/visits/{MISSING}/parent-link"),
    # --- preparation (visits app) --------------------------------------------------------
    # lead and companions write; those who may change the visit (here the school's leaders and
    # head_a1) read; others who see the visit (officers, subject, mental-health) get 403.
    Case("visits:prepare", "preparation page", lambda d: f"/visits/{_vid(d)}/prepare/",
         _visit_rule(200, LEADERS_A | {"head_a1"}),
         missing_url=lambda d: f"/visits/{MISSING}/prepare/"),
    Case("visits:prepare", "save preparation notes", lambda d: f"/visits/{_vid(d)}/prepare/",
         _visit_rule(302, {"head_a1"}), method="post",
         data=lambda d: {"version": 0, "topics": "孩子近期的学习情况"},
         missing_url=lambda d: f"/visits/{MISSING}/prepare/"),
    Case("api:get_visit_preparation", "API preparation",
         lambda d: f"/api/v1/visits/{_vid(d)}/preparation",
         _visit_rule(200, LEADERS_A | {"head_a1"}), anonymous=401,
         missing_url=lambda d: f"/api/v1/visits/{MISSING}/preparation"),
    Case("api:save_visit_preparation", "API save preparation without If-Match",
         lambda d: f"/api/v1/visits/{_vid(d)}/preparation", _visit_rule(428, {"head_a1"}),
         method="put", anonymous=401, content_type="application/json",
         data=lambda d: {"topics": "孩子近期的学习情况"},
         missing_url=lambda d: f"/api/v1/visits/{MISSING}/preparation"),
    # --- exports (exports app) -----------------------------------------------------------
    # The recorded visit: head_a2 with a family of class 3(2) (no focus child). A visit with
    # no record answers 404 to everyone, exactly like a missing id.
    Case("exports:visit_record_docx", "Word record of a recorded visit",
         lambda d: f"/exports/visits/{d.recorded_visit}/record.docx",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"head_a2"}},
         missing_url=lambda d: f"/exports/visits/{MISSING}/record.docx"),
    Case("exports:visit_record_docx", "Word record of a visit without a record",
         lambda d: f"/exports/visits/{_vid(d)}/record.docx", {},
         missing_url=lambda d: f"/exports/visits/{MISSING}/record.docx"),
    Case("exports:ledger", "class A1 ledger",
         lambda d: f"/exports/ledger.xlsx?campaign={_cid(d)}&class={d.class_a1.pk}",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"head_a1", "subject_a1"}},
         missing_url=lambda d: f"/exports/ledger.xlsx?campaign={_cid(d)}&class={MISSING}"),
    Case("exports:ledger", "school A ledger",
         lambda d: f"/exports/ledger.xlsx?campaign={_cid(d)}&school={d.school_a.pk}",
         {p: 200 for p in BUREAU_A | LEADERS_A},
         missing_url=lambda d: f"/exports/ledger.xlsx?campaign={_cid(d)}&school={MISSING}"),
    Case("exports:ledger", "campaign ledger", lambda d: f"/exports/ledger.xlsx?campaign={_cid(d)}",
         {p: 200 for p in BUREAU_A},
         missing_url=lambda d: f"/exports/ledger.xlsx?campaign={MISSING}"),
    Case("exports:log", "export log", lambda d: "/exports/log/",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"principal_b", "coordinator_b",
                                                  "other_officer"}}),
    Case("api:export_visit_record_docx", "API Word record",
         lambda d: f"/api/v1/exports/visits/{d.recorded_visit}/record.docx",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"head_a2"}}, anonymous=401,
         missing_url=lambda d: f"/api/v1/exports/visits/{MISSING}/record.docx"),
    Case("api:export_ledger_xlsx", "API class A1 ledger",
         lambda d: f"/api/v1/exports/ledger.xlsx?campaign={_cid(d)}&class={d.class_a1.pk}",
         {p: 200 for p in BUREAU_A | LEADERS_A | {"head_a1", "subject_a1"}}, anonymous=401,
         missing_url=lambda d: f"/api/v1/exports/ledger.xlsx?campaign={_cid(d)}&class={MISSING}"),
]

# Patterns that are not part of the application's own surface.
NOT_ENDPOINTS: set[str] = set()


def _walk(patterns, namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}:{p.namespace}" if namespace and p.namespace else (
                p.namespace or namespace)
            yield from _walk(p.url_patterns, ns)
        elif isinstance(p, URLPattern):
            yield f"{namespace}:{p.name}" if namespace else str(p.name)


def test_every_endpoint_is_in_the_matrix():
    """B2: a new URL pattern or API operation fails here until the matrix lists it."""
    names = set(_walk(get_resolver().url_patterns)) - NOT_ENDPOINTS
    listed = {case.name for case in CASES}
    assert names - listed == set(), "endpoints missing from the access matrix"
    assert listed - names == set(), "matrix lists endpoints that no longer exist"


MATRIX = [(case, persona) for case in CASES for persona in PERSONAS]


def _request(client, case: Case, url: str, district: District):
    method = getattr(client, case.method)
    if case.method == "get":
        return method(url)
    if case.content_type:
        return method(url, case.data(district), content_type=case.content_type)
    return method(url, case.data(district))


@pytest.mark.parametrize(("case", "persona"), MATRIX,
                         ids=[f"{c.label}-{p}" for c, p in MATRIX])
def test_access(case: Case, persona: str, matrix_district, client):
    """B1, B3, B4: the persona gets exactly the expected answer; out of scope looks missing."""
    d = matrix_district
    if persona != "anonymous":
        client.force_login(d.users[persona])
    url = case.url(d)
    response = _request(client, case, url, d)
    assert response.status_code == case.expected(persona), (
        f"{persona} {case.method.upper()} {url}: {response.status_code}")
    if response.status_code == 302 and persona == "anonymous" and case.anonymous == 302 \
            and case.name not in {"set_language", "timetable:parent_exchange"}:
        assert response["Location"].startswith("/accounts/login/")
    if case.expected(persona) == 404 and case.missing_url is not None:
        missing = _request(client, case, case.missing_url(d), d)
        assert missing.status_code == 404
        assert missing.content == response.content, "out of scope must look like missing (B4)"
