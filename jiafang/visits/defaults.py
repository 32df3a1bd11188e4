"""What the notice (常经社〔2021〕30号) says about a visit, as data: the five contents (五、活动内容,
R6), the four "into the family" items (四进家庭, R9) and the seeded parent-demand categories (R15).
The teaching hours ("利用课余时间") are a campaign setting with its default in
`jiafang.campaigns.defaults`.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from jiafang.campaigns import defaults as campaign_defaults_module

# Visit times, teaching hours and weeks are local to the schools (China Standard Time).
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# 五、活动内容 1–5 (R6): code, short label, the notice's wording.
VISIT_CONTENTS: list[tuple[str, str, str]] = [
    ("family_situation", "了解家庭情况",
     "全面了解学生家庭情况、成长环境、在家思想动态、学习表现和生活习惯等"),
    ("school_feedback", "反馈在校表现",
     "向家长反馈学生在校思想、学习、交往情况和综合表现等"),
    ("methods", "共同探讨方法",
     "与家长共同探讨促进学生身心健康成长的有效方法及途径，宣传科学的家庭教育理念和方法"),
    ("school_policy", "介绍办学理念与政策", "向家长介绍学校办学理念、办学特色及教育政策"),
    ("opinions", "征求意见建议",
     "征求家长对学校工作、教育发展的意见和建议，对家长关注的热点难点问题及时做好解释、宣传、记录、答复工作"),
]
CONTENT_CODES: tuple[str, ...] = tuple(code for code, _label, _text in VISIT_CONTENTS)
CONTENT_LABELS: dict[str, str] = {code: label for code, label, _text in VISIT_CONTENTS}

# 四进家庭 (R9).
INTO_FAMILY: list[tuple[str, str]] = [
    ("education_policy", "教育政策进家庭"),
    ("struggling_learners", "学困生转化措施进家庭"),
    ("family_education", "家庭教育指导进家庭"),
    ("health_guidance", "心理生理健康辅导进家庭"),
]
INTO_FAMILY_CODES: tuple[str, ...] = tuple(code for code, _label in INTO_FAMILY)
INTO_FAMILY_LABELS: dict[str, str] = dict(INTO_FAMILY)

# 家长诉求的分类 (R15): the initial rows of visits.DemandCategory (a data migration seeds them).
DEMAND_CATEGORIES: list[tuple[str, str]] = [
    ("study", "学业辅导"),
    ("family_education", "家庭教育指导"),
    ("mental_health", "心理健康"),
    ("school_management", "学校管理"),
    ("safety", "安全"),
    ("other", "其他"),
]
DEFAULT_DEMAND_CATEGORY = "other"

# The teaching hours are a campaign setting (`Campaign.teaching_hours`); the notice's default
# lives with the other campaign defaults.
DEFAULT_TEACHING_HOURS = campaign_defaults_module.DEFAULT_TEACHING_HOURS

DEFAULT_DURATION_MINUTES = 60
MIN_DURATION_MINUTES = 10
MAX_DURATION_MINUTES = 480


def seed_demand_categories(model) -> None:
    """Create the default demand categories where missing (model: the real or a historical one)."""
    for order, (code, name) in enumerate(DEMAND_CATEGORIES, start=1):
        model.objects.get_or_create(code=code, defaults={"name": name, "sort_order": order})
