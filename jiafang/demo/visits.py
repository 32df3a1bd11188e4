"""The demo campaign under way (issue 3 point 9): recorded visits to about `visited_share` of
the families, some visits booked in the future, a few declined — written in bulk.

Rows are the ones the visit services would write (`visits.services`): a `Visit` with its
`VisitCompanion`s and `VisitEvent`s (scheduled, confirmed, recorded / declined), a `VisitRecord`
with one `VisitRecordChild` per enrolled child (strengths, shortcomings and methods, all three),
`ParentDemand`s for the demands typed into 家长诉求. Afterwards
`campaign_visits_reevaluate(campaign, school_ids=[…])` runs school by school: it checks each
record's `counts` (written as the services would), builds `StudentVisitStatus` and `CampaignSchoolFigures` exactly as a visit
recorded through a page would (so the demo cannot drift from the services' rules).

Deterministic: each school draws from `random.Random((seed, "visits", school code))`.
Recorded visits fall between the campaign's start and yesterday, booked ones in the next three
weeks (both inside the period), at plausible times: weekday evenings and weekend daytime.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict
from collections.abc import Callable

from django.db.models import Max
from django.utils import timezone

from jiafang.accounts.models import Role
from jiafang.campaigns.models import Campaign, CampaignField
from jiafang.schools.models import FocusFlag, School, Student
from jiafang.visits.defaults import (
    CONTENT_CODES,
    INTO_FAMILY_CODES,
    LOCAL_TZ,
    seed_demand_categories,
)
from jiafang.visits.models import (
    DemandCategory,
    ParentDemand,
    Visit,
    VisitCompanion,
    VisitEvent,
    VisitRecord,
    VisitRecordChild,
)
from jiafang.visits.services import campaign_visits_reevaluate

PHONE_SHARE = 0.04  # of recorded visits: by phone, recorded but not counted
BOOKED_SHARE = 0.07  # of families: a visit proposed or confirmed in the coming weeks
DECLINED_SHARE = 0.015  # of families: declined, with a reason
FOCUS_BOOST = 1.25  # focus families are visited first (R4)
COMPANION_SHARE = 0.6
DEMAND_SHARE = 0.2
PRINCIPAL_SHARE = 0.01
SCHOOL1_PRINCIPAL_VISITS = 5  # the principal of school 1 leads a few visits (R17)
BATCH_SIZE = 5000
FLUSH_EVERY = 50_000

STRENGTHS = [
    "上课认真听讲，作业书写工整", "乐于助人，主动帮同学讲题", "热爱劳动，值日从不偷懒",
    "阅读兴趣浓厚，课外书读得多", "性格开朗，和同学相处融洽", "做事有条理，书包整理得干净",
    "体育活动积极，跳绳进步很大", "有礼貌，见到老师主动问好", "数学思维灵活，喜欢动脑筋",
    "绘画有天赋，作品在班级展出", "责任心强，担任小组长很称职", "在家主动做家务，照顾弟妹",
    "作文语言生动，想象力丰富", "遇到困难不放弃，坚持完成任务", "英语朗读发音标准",
]
SHORTCOMINGS = [
    "作业拖拉，常要家长催促", "上课偶尔走神，小动作较多", "字迹潦草，计算粗心",
    "在家玩手机时间偏长", "课堂发言不够主动", "早上起床困难，偶有迟到",
    "遇到挫折容易急躁", "偏食，不爱吃蔬菜", "阅读量不足，词汇积累少",
    "与同学发生矛盾时不善沟通", "错题订正不及时", "睡得较晚，白天精神不足",
]
METHODS = [
    "家校约定每天固定时间完成作业，家长签字", "每周限定使用手机时间，周末一起运动",
    "每天亲子共读二十分钟", "准备错题本，每周和老师一起复习", "课堂上多给发言机会，及时表扬",
    "制定作息表，晚上九点半前睡觉", "遇到矛盾先说出感受，老师家长共同引导",
    "安排当小组长，增强自信", "计算题做完后养成检查的习惯", "家长多陪伴、多倾听，少批评",
]
PREPARATIONS = [
    "查阅学生成长档案和近期作业，准备表扬点和需沟通的问题",
    "与科任老师交流孩子的课堂表现，整理近期测验情况",
    "提前电话预约，了解家庭基本情况，准备家庭教育指导材料",
    "回顾上学期家访记录和家长诉求的处理情况",
]
PROCESSES = [
    "与家长面对面交流约一小时，参观了孩子的学习角，家长态度积极",
    "向家长反馈了孩子在校表现，共同商量了改进办法，孩子当场表示会努力",
    "了解了家庭生活和学习环境，宣传了学校的课后服务和心理健康教育",
    "家长介绍了孩子在家的作息，老师提出了亲子沟通的建议，气氛融洽",
    "与祖辈监护人沟通，了解了父母在外务工的情况，约定每周视频联系",
]
FOLLOW_UPS = ["两周后电话回访", "下月再次沟通学习情况", "班会课上给予表扬", "安排学习伙伴结对帮扶", ""]
REFLECTIONS = ["家长很重视孩子的教育，沟通顺畅", "需要更多关注孩子的情绪变化",
               "家访前准备充分，交流更有针对性", "祖辈教育观念需要耐心引导"]
DEMANDS = [
    ("希望老师多关注孩子的数学学习", "study"), ("想了解如何辅导孩子写作文", "study"),
    ("孩子在家不听话，希望学校给些方法", "family_education"),
    ("孩子最近情绪低落，希望心理老师谈一谈", "mental_health"),
    ("希望延长课后服务时间", "school_management"), ("建议学校门口上下学时加强交通疏导", "safety"),
    ("希望学校午餐多些蔬菜", "other"), ("希望多组织亲子活动", "other"),
]
DECLINE_REASONS = ["家中老人住院，近期不方便", "家长在外地工作，暂时无法接待",
                   "家里正在装修，改为来校面谈", "家长希望电话沟通"]


def _when(rng: random.Random, day: dt.date) -> dt.datetime:
    """Weekday evening or weekend daytime on that day (local time)."""
    if day.weekday() >= 5:
        hour, minute = rng.randint(9, 16), rng.choice((0, 30))
    else:
        hour, minute = rng.randint(17, 19), rng.choice((0, 15, 30, 45))
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ)


def _iso(value: dt.datetime) -> str:
    return value.isoformat()


class _Rows:
    """Rows with precomputed ids, written in dependency order every FLUSH_EVERY rows."""

    ORDER = (Visit, VisitCompanion, VisitRecord, VisitRecordChild, ParentDemand, VisitEvent)

    def __init__(self) -> None:
        self.pending: dict[type, list] = {m: [] for m in self.ORDER}
        self.count = 0
        self.counts: dict[str, int] = {m._meta.model_name: 0 for m in self.ORDER}
        self.next_id = {m: (m.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
                        for m in (Visit, VisitRecord)}

    def new_id(self, model) -> int:
        pk = self.next_id[model]
        self.next_id[model] = pk + 1
        return pk

    def add(self, obj) -> None:
        self.pending[type(obj)].append(obj)
        self.count += 1
        if self.count >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        for model in self.ORDER:
            if self.pending[model]:
                model.objects.bulk_create(self.pending[model], batch_size=BATCH_SIZE)
                self.counts[model._meta.model_name] += len(self.pending[model])
                self.pending[model] = []
        self.count = 0

    def reset_sequences(self) -> None:
        from django.core.management.color import no_style
        from django.db import connection

        statements = connection.ops.sequence_reset_sql(no_style(), list(self.ORDER))
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


def demo_visits_build(campaign: Campaign, *, seed: int, visited_share: float = 0.4,
                      today: dt.date | None = None,
                      log: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Write the campaign's demo visits for every school of the demo district, then build the
    statuses and figures through `campaign_visits_reevaluate`. Call with scopes disabled."""
    today = today or timezone.localdate()
    now = timezone.now()
    last_day = min(campaign.ends_on, today - dt.timedelta(days=1))
    can_record = last_day >= campaign.starts_on
    record_days = max(0, (last_day - campaign.starts_on).days)
    booked_days = [today + dt.timedelta(days=k) for k in range(1, 22)
                   if today + dt.timedelta(days=k) <= campaign.ends_on]
    if not DemandCategory.objects.exists():
        seed_demand_categories(DemandCategory)
    categories = dict(DemandCategory.objects.values_list("code", "pk"))
    fields = list(CampaignField.objects.filter(campaign=campaign).values_list("key", "kind",
                                                                              "label"))
    schools = list(School.objects.filter(code__startswith="DEMO-").order_by("code")
                   .values_list("pk", "code"))
    school_ids = [pk for pk, _code in schools]
    heads: dict[int, int] = {}
    subjects: dict[int, list[int]] = defaultdict(list)
    principals: dict[int, int] = {}
    for kind, user_id, school_id, class_id in (
            Role.objects.filter(school_id__in=school_ids).order_by("pk")
            .values_list("kind", "user_id", "school_id", "school_class_id")):
        if kind == Role.Kind.HEAD_TEACHER:
            heads.setdefault(class_id, user_id)
        elif kind == Role.Kind.SUBJECT_TEACHER:
            subjects[class_id].append(user_id)
        elif kind == Role.Kind.PRINCIPAL:
            principals.setdefault(school_id, user_id)
    focus_students = set(FocusFlag.objects.filter(school_id__in=school_ids, cleared_at=None)
                         .values_list("student_id", flat=True))
    counting = set(campaign.counting_forms or [])  # every visit date lies in the period
    rows = _Rows()
    started = time.perf_counter()
    for number, (school_id, code) in enumerate(schools, start=1):
        rng = random.Random(f"jiafang-demo:{seed}:visits:{code}")
        families: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
        for pk, family_id, class_id, name in (
                Student.objects.filter(school_id=school_id, status=Student.Status.ENROLLED)
                .order_by("family_id", "pk").values_list("pk", "family_id", "school_class_id",
                                                         "name")):
            families[family_id].append((pk, class_id, name))
        principal_left = SCHOOL1_PRINCIPAL_VISITS if number == 1 else 0
        for family_id, children in families.items():
            is_focus = any(pk in focus_students for pk, _c, _n in children)
            share = min(0.95, visited_share * (FOCUS_BOOST if is_focus else 1))
            draw = rng.random()
            if draw < share and can_record:
                outcome = "done"
            elif draw < share + BOOKED_SHARE and booked_days:
                outcome = "booked"
            elif draw < share + BOOKED_SHARE + DECLINED_SHARE:
                outcome = "declined"
            else:
                continue
            class_id = children[0][1]
            lead = heads.get(class_id)
            if lead is None:
                continue
            companions = []
            if outcome == "done" and (principal_left or rng.random() < PRINCIPAL_SHARE) \
                    and school_id in principals:
                principal_left = max(0, principal_left - 1)
                companions, lead = [lead], principals[school_id]
            elif rng.random() < COMPANION_SHARE and subjects.get(class_id):
                companions = [rng.choice(subjects[class_id])]
            if outcome == "booked":
                when = _when(rng, rng.choice(booked_days))
            else:
                when = _when(rng, campaign.starts_on
                             + dt.timedelta(days=rng.randint(0, record_days)))
            form = "phone" if outcome == "done" and rng.random() < PHONE_SHARE else "in_person"
            visit_id = rows.new_id(Visit)
            status = {"done": Visit.Status.DONE, "declined": Visit.Status.DECLINED,
                      "booked": rng.choice((Visit.Status.PROPOSED, Visit.Status.CONFIRMED))
                      }[outcome]
            reason = rng.choice(DECLINE_REASONS) if outcome == "declined" else ""
            scheduled_on = min(when - dt.timedelta(days=rng.randint(2, 10)), now)
            events = [(VisitEvent.Kind.SCHEDULED, scheduled_on, {
                "scheduled_at": _iso(when), "lead": lead, "companions": companions,
                "form": form})]
            if status in (Visit.Status.CONFIRMED, Visit.Status.DONE):
                events.append((VisitEvent.Kind.CONFIRMED,
                               min(scheduled_on + dt.timedelta(days=1), now),
                               {"scheduled_at": _iso(when)}))
            if status == Visit.Status.DECLINED:
                events.append((VisitEvent.Kind.DECLINED, min(scheduled_on + dt.timedelta(days=1),
                                                             now), {"reason": reason}))
            rows.add(Visit(pk=visit_id, school_id=school_id, campaign_id=campaign.pk,
                           family_id=family_id, lead_id=lead, form=form, scheduled_at=when,
                           status=status, status_reason=reason,
                           version=1 + len(events) - 1 + (status == Visit.Status.DONE),
                           created_by_id=lead))
            for user_id in companions:
                rows.add(VisitCompanion(school_id=school_id, visit_id=visit_id, user_id=user_id))
            if outcome == "done":
                submitted = min(when + dt.timedelta(hours=rng.randint(2, 30)), now)
                events.append((VisitEvent.Kind.RECORDED, submitted, {
                    "form": form, "visited_at": _iso(when), "counts": form == "in_person"}))
                record_id = rows.new_id(VisitRecord)
                demands = ([rng.choice(DEMANDS) for _ in range(rng.randint(1, 2))]
                           if rng.random() < DEMAND_SHARE else [])
                demands = list(dict.fromkeys(demands))
                extra = {}
                for key, kind, label in fields:
                    if kind == CampaignField.Kind.YES_NO:
                        extra[key] = rng.random() < 0.9
                    elif kind == CampaignField.Kind.TEXT:
                        extra[key] = rng.choice(REFLECTIONS if "反思" in label else FOLLOW_UPS[:4])
                rows.add(VisitRecord(
                    pk=record_id, school_id=school_id, visit_id=visit_id, visited_at=when,
                    form=form, preparation=rng.choice(PREPARATIONS),
                    process=rng.choice(PROCESSES),
                    parent_demands_text="\n".join(text for text, _c in demands),
                    contents=sorted(rng.sample(CONTENT_CODES, rng.randint(2, 5)),
                                    key=CONTENT_CODES.index),
                    into_family=sorted(rng.sample(INTO_FAMILY_CODES, rng.randint(1, 3)),
                                       key=INTO_FAMILY_CODES.index),
                    follow_up=rng.choice(FOLLOW_UPS), extra=extra, no_gifts_affirmed=True,
                    counts=form in counting, submitted_at=submitted, submitted_by_id=lead))
                for pk, _class_id, name in children:
                    rows.add(VisitRecordChild(
                        school_id=school_id, record_id=record_id, student_id=pk,
                        strengths=f"{name[1:] or name}{rng.choice(STRENGTHS)}",
                        shortcomings=rng.choice(SHORTCOMINGS), methods=rng.choice(METHODS)))
                for position, (text, category) in enumerate(demands):
                    rows.add(ParentDemand(school_id=school_id, record_id=record_id,
                                          family_id=family_id, text=text,
                                          category_id=categories.get(category,
                                                                     categories["other"]),
                                          position=position))
            for kind, at, data in events:
                rows.add(VisitEvent(school_id=school_id, visit_id=visit_id, kind=kind, at=at,
                                    by_id=lead, data=data))
        if number % 20 == 0 or number == len(schools):
            log(f"  {number}/{len(schools)} schools' visits generated "
                f"({time.perf_counter() - started:.1f} s)")
    rows.flush()
    rows.reset_sequences()
    written = time.perf_counter()
    from django.db import connection

    with connection.cursor() as cursor:  # fresh statistics: the planner picks the indexes
        cursor.execute("ANALYZE")
    for school_id in school_ids:  # per school: each pass reads and writes one school's rows
        campaign_visits_reevaluate(campaign=campaign, school_ids=[school_id])
    log(f"  visits written in {written - started:.1f} s, statuses and figures in "
        f"{time.perf_counter() - written:.1f} s")
    return rows.counts
