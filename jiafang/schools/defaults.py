"""Seeded defaults from the notice: the six focus categories (R4), in its wording, with aliases.

Data, not code: a bureau may rename them or add more; these are only the initial rows.
"""

FOCUS_CATEGORIES = [
    ("mental_health", "心理健康有困难的学生", "心理",
     "心理健康有困难、心理健康发展有困难、心理困难、心理健康"),
    ("economic", "家庭经济有困难的学生", "经济困难",
     "家庭经济有困难、家庭经济困难、家困、贫困、经济"),
    ("academic", "学业发展有困难的学生", "学业困难", "学业发展有困难、学困、学困生、学业"),
    ("left_behind_single_parent", "留守学生及单亲家庭学生", "留守单亲",
     "留守、单亲、留守儿童、单亲家庭、留守学生、单亲家庭学生"),
    ("migrant", "流动人员随迁子女", "随迁子女", "随迁、流动人员子女、流动人口子女、外来务工子女"),
    ("disability", "身体有残障的学生", "残障", "身体有残障、残疾、身体残障、残疾学生"),
]


def seed_focus_categories(model) -> None:
    """Create the default categories where missing (model: the real or a historical one)."""
    for order, (code, name, short, aliases) in enumerate(FOCUS_CATEGORIES, start=1):
        model.objects.get_or_create(
            code=code, defaults={"name": name, "short_name": short, "aliases": aliases,
                                 "sort_order": order},
        )
