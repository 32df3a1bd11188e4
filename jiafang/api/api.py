"""JSON API v1 (django-ninja). Thin shells over the scoping layer and the selectors.

Auth on every operation: a personal access token (`Authorization: Bearer jf_…`, resolved by
`BearerTokenMiddleware` so the request is scoped like a page) or the browser session (with CSRF on
unsafe methods). Out of scope answers 404 exactly like a missing id.
"""

from datetime import date

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404
from ninja import Field, NinjaAPI, Query, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.security import HttpBearer, django_auth

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
    show = scoping.can_see_contacts(user, school_id=family.school_id) or any(
        scoping.can_see_contacts(user, school_id=s.school_id, class_id=s.school_class_id)
        for s in family.visible_students)
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
    qs = selectors.student_search(request.user, category=category, q=(filters.q or "").strip())
    if filters.school is not None:
        qs = qs.filter(school_id=filters.school)
    if filters.class_id is not None:
        qs = qs.filter(school_class_id=filters.class_id)
    if filters.status:
        qs = qs.filter(status=filters.status)
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
