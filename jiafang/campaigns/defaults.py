"""What the notice (常经社〔2021〕30号) sets, as data: the campaign's dates, visit forms and the
fixed fields of its record form (附件2). Nothing else in the code hard-codes these."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _


class VisitForm(models.TextChoices):
    """家访形式. Only the forms a campaign lists in `counting_forms` count toward coverage."""

    IN_PERSON = "in_person", _("上门家访")
    PHONE = "phone", _("电话")
    VIDEO = "video", _("视频")
    AT_SCHOOL = "at_school", _("来校面谈")


# 四（二）"利用课余时间": the school's teaching hours, local time (Asia/Shanghai), weekdays
# 0 = Monday. A visit overlapping them is warned about, never refused. Each campaign carries
# its own copy (`Campaign.teaching_hours`), editable by the bureau.
DEFAULT_TEACHING_HOURS: dict = {
    "weekdays": [0, 1, 2, 3, 4],
    "periods": [["08:00", "11:40"], ["13:30", "16:30"]],
}
WEEKDAY_NAMES = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]
_PERIOD_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–—~至到]\s*(\d{1,2}):(\d{2})\s*$")


def default_teaching_hours() -> dict:
    return {"weekdays": list(DEFAULT_TEACHING_HOURS["weekdays"]),
            "periods": [list(p) for p in DEFAULT_TEACHING_HOURS["periods"]]}


def teaching_hours_text(hours: dict) -> str:
    """"周一至周五 08:00–11:40、13:30–16:30" (weekdays 0 = Monday; "未设置" when empty)."""
    days = sorted(hours.get("weekdays", []))
    if days and days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        day_text = _("%(first)s至%(last)s") % {"first": WEEKDAY_NAMES[days[0]],
                                               "last": WEEKDAY_NAMES[days[-1]]}
    else:
        day_text = "、".join(str(WEEKDAY_NAMES[d]) for d in days)
    periods = "、".join(f"{begin}–{end}" for begin, end in hours.get("periods", []))
    return f"{day_text} {periods}".strip() if days and periods else str(_("未设置"))


def teaching_periods_text(periods) -> str:
    """[["08:00", "11:40"], ...] as "08:00-11:40, 13:30-16:30"."""
    return ", ".join(f"{start}-{end}" for start, end in periods)


def teaching_periods_parse(text: str) -> list[list[str]]:
    """"08:00-11:40，13:30-16:30" → [["08:00", "11:40"], ["13:30", "16:30"]]; ValueError with
    a Chinese message when a part is not a period of the day with its start before its end."""
    periods = []
    for part in re.split(r"[,，;；、\s]+(?=\d)", (text or "").strip()):
        if not part.strip():
            continue
        match = _PERIOD_RE.match(part)
        if not match:
            raise ValueError(_("上课时段的格式应为 08:00-11:40，多个时段用逗号分开。"))
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60) or (h1, m1) >= (h2, m2):
            raise ValueError(_("上课时段的开始时间必须早于结束时间。"))
        periods.append([f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"])
    return periods


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
