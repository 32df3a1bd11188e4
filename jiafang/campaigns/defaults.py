"""What the notice (常经社〔2021〕30号) sets, as data: the campaign's dates, visit forms and the
fixed fields of its record form (附件2). Nothing else in the code hard-codes these."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _


class VisitForm(models.TextChoices):
    """家访形式. Only the forms a campaign lists in `counting_forms` count toward coverage."""

    IN_PERSON = "in_person", _("上门家访")
    PHONE = "phone", _("电话")
    VIDEO = "video", _("视频")
    AT_SCHOOL = "at_school", _("来校面谈")


# 二、活动时间 2021年3月——2021年6月；六（一）方案 3月31日前；六（六）总结 5月10日前；四、上门家访.
NOTICE_DEFAULTS = {
    "name": "{year}年教师“大家访”活动",
    "starts": (3, 1),
    "ends": (6, 30),
    "plan_due": (3, 31),
    "summary_due": (5, 10),
    "counting_forms": [VisitForm.IN_PERSON.value],
}


def default_counting_forms() -> list[str]:
    return list(NOTICE_DEFAULTS["counting_forms"])


def campaign_defaults(today: dt.date) -> dict:
    """The notice's campaign for the year of `today`: name, period, deadlines, counting forms."""
    year = today.year

    def on(month_day: tuple[int, int]) -> dt.date:
        return dt.date(year, *month_day)

    return {
        "name": NOTICE_DEFAULTS["name"].format(year=year),
        "starts_on": on(NOTICE_DEFAULTS["starts"]),
        "ends_on": on(NOTICE_DEFAULTS["ends"]),
        "plan_due_on": on(NOTICE_DEFAULTS["plan_due"]),
        "summary_due_on": on(NOTICE_DEFAULTS["summary_due"]),
        "counting_forms": default_counting_forms(),
    }


@dataclass(frozen=True)
class FormField:
    """One field of a campaign's record form: fixed (附件2) or added by the bureau."""

    key: str
    label: str
    kind: str  # text, longtext, datetime, choice, yes_no, people
    choices: list[str] = field(default_factory=list)
    required: bool = True
    fixed: bool = True
    pk: int | None = None
    position: int = 0


# 附件2 “大家访”活动记录表: the eleven fixed fields, in the order of the paper form.
FIXED_FIELDS: list[FormField] = [
    FormField("school", "学校", "text"),
    FormField("teacher", "教师姓名", "text"),
    FormField("school_class", "班级", "text"),
    FormField("student", "学生姓名", "text"),
    FormField("guardian", "家长姓名", "text"),
    FormField("companions", "同行教师", "people", required=False),
    FormField("visited_at", "家访时间", "datetime"),
    FormField("visit_form", "家访形式", "choice", choices=list(VisitForm.values)),
    FormField("preparation", "家访准备", "longtext"),
    FormField("process", "家访过程", "longtext"),
    FormField("parent_demands", "家长诉求", "longtext", required=False),
]
FIXED_KEYS = frozenset(f.key for f in FIXED_FIELDS)
