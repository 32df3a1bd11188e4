"""JSON API v1 (django-ninja). Thin shells over the scoping layer and the selectors.

Auth on every operation: a personal access token (`Authorization: Bearer jf_…`, resolved by
`BearerTokenMiddleware` so the request is scoped like a page) or the browser session (with CSRF on
unsafe methods). Out of scope answers 404 exactly like a missing id.
"""

from datetime import date

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from ninja import Field, NinjaAPI, Query, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.security import HttpBearer, django_auth

from jiafang.api.schemas import ErrorOut
from jiafang.campaigns import selectors as campaign_selectors
from jiafang.campaigns import services as campaign_services
from jiafang.campaigns.defaults import campaign_defaults
from jiafang.core.errors import validation_messages
from jiafang.schools import scoping, selectors
from jiafang.schools.models import FocusCategory, FocusFlag, Guardian, Student
from jiafang.schools.text import mask_address


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        # BearerTokenMiddleware has already verified the token and set request.user.
        if getattr(request, "auth_token", None) is not None and request.user.is_authenticated:
            return request.auth_token
        return None


api = NinjaAPI(
    title="Jiafang API",
    version="1",
    description="家访平台 JSON API。所有接口都需要登录会话或个人访问令牌，数据范围与页面一致。",
    auth=[TokenAuth(), django_auth],
    urls_namespace="api",
    docs_url="/docs" if settings.API_DOCS_ENABLED else None,
    docs_decorator=login_required,
)


class Pagination(LimitOffsetPagination):
    """`{"items": [...], "count": N}`; at most 500 rows a page."""

    def __init__(self, **kwargs):
        super().__init__(max_limit=500, **kwargs)


# --- schemas --------------------------------------------------------------------------------

class SchoolOut(Schema):
    id: int
    code: str
    name: str
    stage: str
    bureau_id: int
    class_count: int
    student_count: int
    family_count: int
    focus_count: int


class ClassOut(Schema):
    id: int
    school_id: int
    grade: int
    number: int
    entry_year: int
    name: str
    head_teacher_name: str | None = None
    student_count: int
    family_count: int
    focus_count: int


class FocusOut(Schema):
    code: str
    name: str
    short_name: str


class StudentOut(Schema):
    id: int
    school_id: int
    class_id: int
    class_name: str
    family_id: int
    student_number: str
    name: str
    gender: str
    birth_date: date | None
    status: str
    focus: list[FocusOut]


class GuardianOut(Schema):
    name: str
    relation: str
    phone: str


class FamilyStudentOut(Schema):
    id: int
    name: str
    class_id: int
    class_name: str


class FamilyOut(Schema):
    id: int
    school_id: int
    code: str
    address: str
    community: str
    street: str
    guardians: list[GuardianOut]
    students: list[FamilyStudentOut]


def _student_out(student: Student) -> dict:
    return {
        "id": student.pk, "school_id": student.school_id, "class_id": student.school_class_id,
        "class_name": student.school_class.name, "family_id": student.family_id,
        "student_number": student.student_number, "name": student.name, "gender": student.gender,
        "birth_date": student.birth_date, "status": student.status,
        "focus": [f.category for f in student.active_flags],
    }


def _family_out(user, family) -> dict:
    show = scoping.can_see_contacts(user, school_id=family.school_id,
                                    class_ids={s.school_class_id for s in family.visible_students})
    return {
        "id": family.pk, "school_id": family.school_id, "code": family.code,
        "address": family.address if show else mask_address(family.address),
        "community": family.community if show else "",
        "street": family.street if show else "",
        "guardians": selectors.guardian_views(family.guardians.all(), show_contacts=show),
        "students": [{"id": s.pk, "name": s.name, "class_id": s.school_class_id,
                      "class_name": s.school_class.name} for s in family.visible_students],
    }


def _students_prefetch(user) -> Prefetch:
    return Prefetch("students", to_attr="visible_students",
                    queryset=scoping.students_for_user(user).filter(
                        status=Student.Status.ENROLLED).select_related("school_class"))


def _with_flags(qs):
    return qs.select_related("school_class").prefetch_related(
        Prefetch("focus_flags", to_attr="active_flags",
                 queryset=FocusFlag.objects.filter(cleared_at=None).select_related("category")))


class LazyPage:
    """A queryset the paginator counts and slices; only the page's rows are shaped."""

    def __init__(self, queryset, shape):
        self.queryset, self.shape = queryset, shape

    def count(self):
        return self.queryset.count()

    def __len__(self):
        return self.count()

    def __getitem__(self, item):
        return [self.shape(row) for row in self.queryset[item]]


# --- operations -----------------------------------------------------------------------------

@api.get("/schools", response=list[SchoolOut], tags=["schools"])
@paginate(Pagination)
def list_schools(request):
    """Schools whose overview you may open, with their counts."""
    return selectors.school_rows(request.user)


@api.get("/schools/{school_id}", response=SchoolOut, tags=["schools"])
def get_school(request, school_id: int):
    row = selectors.school_rows(request.user).filter(pk=school_id).first()
    if row is None:
        raise Http404
    return row


class ClassFilter(Schema):
    school: int | None = None


@api.get("/classes", response=list[ClassOut], tags=["schools"])
@paginate(Pagination)
def list_classes(request, filters: Query[ClassFilter]):
    qs = selectors.class_rows(request.user)
    if filters.school is not None:
        qs = qs.filter(school_id=filters.school)
    return qs


@api.get("/classes/{class_id}", response=ClassOut, tags=["schools"])
def get_class(request, class_id: int):
    school_class = scoping.get_class_for_user(request.user, class_id)
    return selectors.class_rows(request.user, school_class.school).get(pk=school_class.pk)


class StudentFilter(Schema):
    school: int | None = None
    class_id: int | None = Field(None, alias="class")
    category: str | None = Field(None, description="关注类别代码，如 mental_health")
    status: str | None = Field("enrolled", description="学籍状态；传空字符串返回全部")
    q: str | None = Field(None, max_length=50, description="姓名包含或学号等于")


@api.get("/students", response=list[StudentOut], tags=["students"])
@paginate(Pagination)
def list_students(request, filters: Query[StudentFilter]):
    """Students you may see, filtered by school, class, focus category, status or name."""
    category = None
    if filters.category:
        category = FocusCategory.objects.filter(code=filters.category).first()
        if category is None:
            return Student.objects.none()
    qs = selectors.student_search(
        request.user, school_id=filters.school, class_id=filters.class_id, category=category,
        status=filters.status or "", q=(filters.q or "").strip())
    return LazyPage(_with_flags(qs.order_by("school_id", "student_number")), _student_out)


@api.get("/students/{student_id}", response=StudentOut, tags=["students"])
def get_student(request, student_id: int):
    student = scoping.get_student_for_user(request.user, student_id)
    return _student_out(_with_flags(Student.objects.filter(pk=student.pk)).get())


class FamilyFilter(Schema):
    school: int | None = None
    class_id: int | None = Field(None, alias="class")


@api.get("/families", response=list[FamilyOut], tags=["families"])
@paginate(Pagination)
def list_families(request, filters: Query[FamilyFilter]):
    """Households with at least one child you may see; guardians masked where your role needs it."""
    qs = scoping.families_for_user(request.user)
    if filters.school is not None:
        qs = qs.filter(school_id=filters.school)
    if filters.class_id is not None:
        # only children the user may see decide which families a class filter returns
        qs = qs.filter(pk__in=scoping.students_for_user(request.user)
                       .filter(school_class_id=filters.class_id).values("family_id"))
    user = request.user
    return LazyPage(
        qs.order_by("pk").prefetch_related(
            _students_prefetch(user),
            Prefetch("guardians", queryset=Guardian.objects.order_by("position", "pk"))),
        lambda family: _family_out(user, family))


@api.get("/families/{family_id}", response=FamilyOut, tags=["families"])
def get_family(request, family_id: int):
    family = scoping.get_family_for_user(request.user, family_id)
    family = (type(family).objects.filter(pk=family.pk)
              .prefetch_related(_students_prefetch(request.user),
                                Prefetch("guardians", queryset=Guardian.objects.order_by("position")))
              .get())
    return _family_out(request.user, family)


# --- campaigns (R2, R24) ------------------------------------------------------------------

class CampaignFieldOut(Schema):
    key: str
    label: str
    kind: str
    choices: list[str]
    required: bool
    fixed: bool


class TeachingHours(Schema):
    weekdays: list[int] = Field(description="上课日，0 = 周一 … 6 = 周日")
    periods: list[list[str]] = Field(description="上课时段，如 [[\"08:00\", \"11:40\"]]")


class CampaignOut(Schema):
    id: int
    bureau_id: int
    bureau_name: str
    name: str
    starts_on: date
    ends_on: date
    plan_due_on: date
    summary_due_on: date
    counting_forms: list[str]
    all_schools: bool
    school_ids: list[int] = Field(description="参加学校中你可见的学校；全部学校参加时为空")
    archived: bool
    is_current: bool
    teaching_hours: TeachingHours = Field(description="与之重叠的家访会被提醒（利用课余时间）")


class CampaignDetailOut(CampaignOut):
    form: list[CampaignFieldOut] = Field(description="记录表字段：附件2的固定字段在前，教育局增加的字段在后")


class CampaignIn(Schema):
    bureau_id: int | None = Field(None, description="省略时为你所在的教育局")
    name: str | None = Field(None, max_length=100, description="省略时按通知默认")
    starts_on: date | None = None
    ends_on: date | None = None
    plan_due_on: date | None = None
    summary_due_on: date | None = None
    counting_forms: list[str] | None = Field(None, description="in_person, phone, video, at_school")
    all_schools: bool = True
    school_ids: list[int] = []
    teaching_hours: TeachingHours | None = Field(None, description="省略时按通知默认")


class CampaignPatch(Schema):
    name: str | None = Field(None, max_length=100)
    starts_on: date | None = None
    ends_on: date | None = None
    plan_due_on: date | None = None
    summary_due_on: date | None = None
    counting_forms: list[str] | None = None
    all_schools: bool | None = None
    school_ids: list[int] | None = None
    archived: bool | None = None
    teaching_hours: TeachingHours | None = None



def _campaign_out(user, campaign, *, current_ids: set[int], form: bool = False) -> dict:
    schools, _others = campaign_selectors.participating_schools(user, campaign) \
        if not campaign.all_schools else ([], 0)
    out = {
        "id": campaign.pk, "bureau_id": campaign.bureau_id, "bureau_name": campaign.bureau.name,
        "name": campaign.name, "starts_on": campaign.starts_on, "ends_on": campaign.ends_on,
        "plan_due_on": campaign.plan_due_on, "summary_due_on": campaign.summary_due_on,
        "counting_forms": campaign.counting_forms, "all_schools": campaign.all_schools,
        "school_ids": [s.pk for s in schools], "archived": campaign.archived,
        "is_current": campaign.pk in current_ids, "teaching_hours": campaign.teaching_hours,
    }
    if form:
        out["form"] = [{"key": f.key, "label": f.label, "kind": f.kind, "choices": f.choices,
                        "required": f.required, "fixed": f.fixed}
                       for f in campaign_selectors.record_form_fields(campaign)]
    return out


def _current_ids(user) -> set[int]:
    return {c.pk for c in campaign_selectors.campaign_list(user).current}


def _invalid(error: DjangoValidationError):
    messages = validation_messages(error)
    first = next(iter(messages.values()))[0]
    return Status(422, {"detail": first, "errors": messages})


def _forbidden(call):
    try:
        return call()
    except PermissionDenied:
        raise HttpError(403, "无权修改家访活动。") from None


@api.get("/campaigns", response=list[CampaignOut], tags=["campaigns"])
@paginate(Pagination)
def list_campaigns(request):
    """Campaigns you may read: the current one of each bureau first, then the history."""
    listing = campaign_selectors.campaign_list(request.user)
    current_ids = {c.pk for c in listing.current}
    return [_campaign_out(request.user, c, current_ids=current_ids)
            for c in listing.current + listing.history]


@api.get("/campaigns/{campaign_id}", response=CampaignDetailOut, tags=["campaigns"])
def get_campaign(request, campaign_id: int):
    """One campaign with its record form (`form`: the fixed fields of 附件2, then the extras)."""
    campaign = campaign_selectors.get_campaign_for_user(request.user, campaign_id)
    return _campaign_out(request.user, campaign, current_ids=_current_ids(request.user), form=True)


@api.post("/campaigns", response={201: CampaignDetailOut, 422: ErrorOut}, tags=["campaigns"])
def create_campaign(request, payload: CampaignIn):
    """Bureau officers: create a campaign; omitted settings follow the notice for the year."""
    bureaus = _forbidden(lambda: campaign_selectors.bureaus_for_create(request.user))
    if payload.bureau_id is None:
        bureau = campaign_selectors.default_bureau_for_user(request.user)
    else:
        bureau = bureaus.filter(pk=payload.bureau_id).first()
    if bureau is None:
        raise Http404
    defaults = campaign_defaults(payload.starts_on or timezone.localdate())
    data = {key: getattr(payload, key) if getattr(payload, key) is not None else defaults[key]
            for key in ("name", "starts_on", "ends_on", "plan_due_on", "summary_due_on",
                        "counting_forms")}
    try:
        campaign = campaign_services.campaign_create(
            bureau=bureau, by=request.user, all_schools=payload.all_schools,
            school_ids=payload.school_ids,
            teaching_hours=payload.teaching_hours.dict() if payload.teaching_hours else None,
            **data)
    except DjangoValidationError as error:
        return _invalid(error)
    return Status(201, _campaign_out(request.user, campaign,
                                     current_ids=_current_ids(request.user), form=True))


@api.patch("/campaigns/{campaign_id}", response={200: CampaignDetailOut, 422: ErrorOut},
           tags=["campaigns"])
def update_campaign(request, campaign_id: int, payload: CampaignPatch):
    """Bureau officers: change some settings of a campaign of their bureau."""
    campaign = _forbidden(
        lambda: campaign_selectors.get_campaign_for_change(request.user, campaign_id))
    changes = payload.dict(exclude_unset=True)
    school_ids = changes.pop("school_ids", None)
    changes = {k: v for k, v in changes.items() if v is not None}
    try:
        campaign = campaign_services.campaign_update(campaign=campaign, by=request.user,
                                                     school_ids=school_ids, **changes)
    except DjangoValidationError as error:
        return _invalid(error)
    return Status(200, _campaign_out(request.user, campaign,
                                     current_ids=_current_ids(request.user), form=True))


class CampaignFieldIn(Schema):
    label: str = Field(max_length=40)
    kind: str = Field(description="text, choice, yesno")
    choices: list[str] = []
    required: bool = False


class CampaignFieldPatch(Schema):
    label: str = Field(max_length=40)
    choices: list[str] = []
    required: bool = False


def _field_for_change(user, campaign_id: int, key: str):
    campaign = _forbidden(lambda: campaign_selectors.get_campaign_for_change(user, campaign_id))
    field = campaign.extra_fields.filter(key=key).first()
    if field is None:
        raise Http404
    return campaign, field


def _field_out(field) -> dict:
    return {"key": field.key, "label": field.label, "kind": field.kind,
            "choices": field.choices or [], "required": field.required, "fixed": False}


@api.post("/campaigns/{campaign_id}/fields",
          response={201: CampaignFieldOut, 422: ErrorOut}, tags=["campaigns"])
def add_campaign_field(request, campaign_id: int, payload: CampaignFieldIn):
    """Bureau officers: add a field to the campaign's record form (R24), after the others."""
    campaign = _forbidden(
        lambda: campaign_selectors.get_campaign_for_change(request.user, campaign_id))
    try:
        field = campaign_services.campaign_field_add(
            campaign=campaign, by=request.user, label=payload.label, kind=payload.kind,
            choices=payload.choices, required=payload.required)
    except DjangoValidationError as error:
        return _invalid(error)
    return Status(201, _field_out(field))


@api.patch("/campaigns/{campaign_id}/fields/{key}",
           response={200: CampaignFieldOut, 422: ErrorOut}, tags=["campaigns"])
def update_campaign_field(request, campaign_id: int, key: str, payload: CampaignFieldPatch):
    """Bureau officers: change a field's label, choices or required (key and kind stay)."""
    _campaign, field = _field_for_change(request.user, campaign_id, key)
    try:
        field = campaign_services.campaign_field_update(
            field=field, by=request.user, label=payload.label, choices=payload.choices,
            required=payload.required)
    except DjangoValidationError as error:
        return _invalid(error)
    return Status(200, _field_out(field))


@api.delete("/campaigns/{campaign_id}/fields/{key}",
            response={204: None, 422: ErrorOut}, tags=["campaigns"])
def remove_campaign_field(request, campaign_id: int, key: str):
    """Bureau officers: remove a field no record holds a value for (else 422)."""
    _campaign, field = _field_for_change(request.user, campaign_id, key)
    try:
        campaign_services.campaign_field_remove(field=field, by=request.user)
    except DjangoValidationError as error:
        return _invalid(error)
    return Status(204, None)


api.add_router("/coverage", "jiafang.reports.api.router")  # coverage (R3, R4, R5, R17)
api.add_router("/visits", "jiafang.visits.api.router")  # schedule, record (R8, R12, R17, R23)
api.add_router("/assignments", "jiafang.taskmap.api.router")  # task map (R8, R10, R18)
api.add_router("/timetable", "jiafang.timetable.api.router")  # calendar, parent links (R8, R17)
api.add_router("/exports", "jiafang.exports.api.router")  # Word record, Excel ledger (R12, R24)
