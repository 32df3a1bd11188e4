"""The district's data: bureaus, schools, classes, families, guardians, students, focus flags.

Every row of school data carries its school (the tenant key) and is read through a
django-scopes `ScopedManager`, so a query outside an open scope raises instead of leaking.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

GRADE_NAMES = {
    1: "一年级",
    2: "二年级",
    3: "三年级",
    4: "四年级",
    5: "五年级",
    6: "六年级",
    7: "七年级",
    8: "八年级",
    9: "九年级",
    10: "高一",
    11: "高二",
    12: "高三",
}


class Bureau(models.Model):
    """An education bureau; a city bureau may hold district bureaus (parent)."""

    code = models.CharField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = _("教育局")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class School(models.Model):
    class Stage(models.TextChoices):
        PRIMARY = "primary", _("小学")
        JUNIOR = "junior", _("初中")
        SENIOR = "senior", _("高中")
        NINE_YEAR = "nine_year", _("九年一贯制")

    bureau = models.ForeignKey(Bureau, verbose_name=_("教育局"), on_delete=models.PROTECT,
                               related_name="schools")
    code = models.CharField(_("学校代码"), max_length=32, unique=True)
    name = models.CharField(_("学校名称"), max_length=100)
    stage = models.CharField(_("学段"), max_length=16, choices=Stage.choices)

    objects = ScopedManager(school="pk")

    class Meta:
        verbose_name = _("学校")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def grade_range(self) -> range:
        return {
            self.Stage.PRIMARY: range(1, 7),
            self.Stage.JUNIOR: range(7, 10),
            self.Stage.SENIOR: range(10, 13),
            self.Stage.NINE_YEAR: range(1, 10),
        }[self.Stage(self.stage)]


class SchoolClass(models.Model):
    """A class (班级) such as 三年级(2)班."""

    school = models.ForeignKey(School, verbose_name=_("学校"), on_delete=models.PROTECT,
                               related_name="classes")
    grade = models.PositiveSmallIntegerField(_("年级"))
    number = models.PositiveSmallIntegerField(_("班号"))
    entry_year = models.PositiveSmallIntegerField(_("入学年份"))

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("班级")
        ordering = ["school_id", "grade", "number"]
        constraints = [
            models.UniqueConstraint(fields=["school", "grade", "number"], name="class_unique_in_school"),
            models.CheckConstraint(condition=Q(grade__gte=1, grade__lte=12), name="class_grade_range"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def grade_name(self) -> str:
        return GRADE_NAMES.get(self.grade, f"{self.grade}年级")

    @property
    def name(self) -> str:
        return f"{self.grade_name}({self.number})班"


class Family(models.Model):
    """A household (家庭): siblings at the same school share one family."""

    school = models.ForeignKey(School, verbose_name=_("学校"), on_delete=models.PROTECT,
                               related_name="families")
    code = models.CharField(_("家庭编号"), max_length=32, blank=True, default="")
    address = models.CharField(_("家庭住址"), max_length=200, blank=True, default="")
    community = models.CharField(_("社区"), max_length=100, blank=True, default="")
    street = models.CharField(_("街道"), max_length=100, blank=True, default="")
    latitude = models.DecimalField(_("纬度"), max_digits=8, decimal_places=5, null=True, blank=True)
    longitude = models.DecimalField(_("经度"), max_digits=8, decimal_places=5, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("家庭")
        constraints = [
            models.UniqueConstraint(
                fields=["school", "code"], condition=~Q(code=""), name="family_code_unique_in_school"
            )
        ]

    def __str__(self) -> str:
        return self.code or f"#{self.pk}"


class Guardian(models.Model):
    """A guardian (家长/监护人) of a family."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    family = models.ForeignKey(Family, verbose_name=_("家庭"), on_delete=models.CASCADE,
                               related_name="guardians")
    name = models.CharField(_("家长姓名"), max_length=50)
    relation = models.CharField(_("关系"), max_length=20, blank=True, default="")
    phone = models.CharField(_("联系电话"), max_length=20, blank=True, default="")
    position = models.PositiveSmallIntegerField(default=0)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("监护人")
        ordering = ["family_id", "position", "pk"]
        indexes = [models.Index(fields=["school", "phone"], name="guardian_school_phone")]

    def __str__(self) -> str:
        return self.name


class Student(models.Model):
    class Gender(models.TextChoices):
        MALE = "M", _("男")
        FEMALE = "F", _("女")

    class Status(models.TextChoices):
        ENROLLED = "enrolled", _("在读")
        SUSPENDED = "suspended", _("休学")
        TRANSFERRED = "transferred", _("转出")
        GRADUATED = "graduated", _("毕业")

    school = models.ForeignKey(School, verbose_name=_("学校"), on_delete=models.PROTECT,
                               related_name="students")
    student_number = models.CharField(_("学号"), max_length=32)
    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True, default="")
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    school_class = models.ForeignKey(SchoolClass, verbose_name=_("班级"), on_delete=models.PROTECT,
                                     related_name="students")
    family = models.ForeignKey(Family, verbose_name=_("家庭"), on_delete=models.PROTECT,
                               related_name="students")
    status = models.CharField(_("学籍状态"), max_length=16, choices=Status.choices,
                              default=Status.ENROLLED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("学生")
        ordering = ["school_class_id", "student_number"]
        constraints = [
            models.UniqueConstraint(fields=["school", "student_number"],
                                    name="student_number_unique_in_school")
        ]
        indexes = [models.Index(fields=["school_class", "status"], name="student_class_status")]

    def __str__(self) -> str:
        return self.name


class FocusCategory(models.Model):
    """One of the notice's focus categories (六类学生). Data, not code (R4)."""

    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=60, unique=True)
    short_name = models.CharField(_("简称"), max_length=20, unique=True)
    aliases = models.CharField(_("别名"), max_length=200, blank=True, default="",
                               help_text=_("以顿号或逗号分隔的其他写法"))
    sort_order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("关注类别")
        ordering = ["sort_order", "pk"]

    def __str__(self) -> str:
        return self.name

    def spellings(self) -> list[str]:
        from jiafang.schools.text import split_list

        return [self.name, self.short_name, self.code, *split_list(self.aliases)]


class FocusFlag(models.Model):
    """A student's focus category: who set it, when and why; cleared flags stay as history."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="focus_flags")
    category = models.ForeignKey(FocusCategory, verbose_name=_("关注类别"), on_delete=models.PROTECT)
    reason = models.CharField(_("原因"), max_length=200, blank=True, default="")
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    set_at = models.DateTimeField(_("标记时间"))
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    cleared_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    clear_reason = models.CharField(_("取消原因"), max_length=200, blank=True, default="")

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("关注标记")
        ordering = ["-set_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["student", "category"], condition=Q(cleared_at=None),
                                    name="one_active_flag_per_category")
        ]
        indexes = [models.Index(fields=["school", "cleared_at"], name="focusflag_school_active")]

    def __str__(self) -> str:
        return f"{self.student_id}:{self.category_id}"

    @property
    def active(self) -> bool:
        return self.cleared_at is None


class SchoolFigures(models.Model):
    """A school's headline counts, kept current by the services that change them.

    The bureau overview reads one row per school instead of counting hundreds of thousands of
    students on every view (it took ~400 ms at city scale). Written only by
    `schools.services.school_figures_refresh`, which every write path of students, classes or
    focus flags calls in its own transaction; `manage.py refresh_figures` recomputes them all.
    """

    school = models.OneToOneField(School, primary_key=True, on_delete=models.CASCADE,
                                  related_name="figures")
    class_count = models.PositiveIntegerField(default=0)
    student_count = models.PositiveIntegerField(default=0)  # enrolled
    family_count = models.PositiveIntegerField(default=0)  # households with an enrolled child
    focus_count = models.PositiveIntegerField(default=0)  # enrolled students with an active flag
    focus_by_category = models.JSONField(default=dict)  # {category id: enrolled students}
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("学校统计")

    def __str__(self) -> str:
        return f"{self.school_id}: {self.student_count}"
