"""Word lists for the synthetic demo district: surnames, name characters, places, reasons.

Nothing here is taken from a real roster. Surnames are weighted roughly by their national
frequency (a few common in southern Jiangsu are nudged up); given names are random
combinations of common name characters; places are the public names of the towns and
sub-districts of the Changzhou Economic Development Zone, combined with invented house
numbers and estate names.
"""

from __future__ import annotations

# (surname, relative weight): roughly per-mille of the population, rounded.
SURNAMES: list[tuple[str, int]] = [
    ("王", 71), ("李", 70), ("张", 67), ("刘", 54), ("陈", 46), ("杨", 31), ("黄", 22),
    ("赵", 20), ("吴", 22), ("周", 21), ("徐", 18), ("孙", 15), ("马", 13), ("朱", 15),
    ("胡", 12), ("郭", 12), ("何", 11), ("林", 10), ("高", 10), ("罗", 9), ("郑", 9),
    ("梁", 8), ("谢", 8), ("宋", 8), ("唐", 8), ("许", 8), ("韩", 7), ("冯", 7), ("邓", 7),
    ("曹", 7), ("彭", 6), ("曾", 6), ("肖", 6), ("田", 6), ("董", 5), ("袁", 5), ("潘", 5),
    ("于", 5), ("蒋", 7), ("蔡", 5), ("余", 5), ("杜", 5), ("叶", 5), ("程", 5), ("苏", 4),
    ("魏", 4), ("吕", 4), ("丁", 5), ("任", 4), ("沈", 7), ("姚", 4), ("卢", 4), ("姜", 3),
    ("崔", 3), ("钟", 3), ("谭", 3), ("陆", 6), ("汪", 3), ("范", 3), ("金", 4), ("石", 3),
    ("廖", 3), ("贾", 3), ("夏", 3), ("韦", 3), ("付", 3), ("方", 3), ("白", 2), ("邹", 2),
    ("孟", 2), ("熊", 2), ("秦", 2), ("邱", 2), ("江", 2), ("尹", 2), ("薛", 2), ("闫", 2),
    ("段", 2), ("雷", 2), ("侯", 2), ("龙", 2), ("史", 2), ("陶", 2), ("黎", 2), ("贺", 2),
    ("顾", 5), ("毛", 2), ("郝", 2), ("龚", 2), ("邵", 2), ("万", 2), ("钱", 4), ("严", 2),
    ("武", 2), ("戴", 2), ("孔", 2), ("汤", 2), ("庄", 3), ("恽", 1), ("承", 1), ("华", 1),
]

# Given-name characters for children born 2010-2020.
BOY_CHARS = (
    "浩宇轩子俊杰博文泽睿晨阳然鑫磊瑞哲航宸毅嘉伟明辰诚翔凯铭豪鹏昊天逸煜远辉川霖乐安恒"
    "楷锦皓宁奕朗彬城峻骏晟旭卓越涛嘉言佑霆骁锐"
)
GIRL_CHARS = (
    "欣怡梓涵诗雨婷佳琪思悦萱可馨妍彤语若晴雅静芸琳曦月菲瑶梦蕊婉心依洁慧雯璇紫萌"
    "甜露岚清芮玥钰颖茜蓓柔舒苒楠沁"
)
NEUTRAL_CHARS = "子一文嘉思雨晨安乐可宁星云亦清睿昕"

# Given-name characters for parents (born 1975-1992) and grandparents (born 1945-1965).
MAN_CHARS = "建军伟强磊勇涛斌峰刚辉明杰华平波鹏林超亮松海军东斌飞宏洪志俊晓永新"
WOMAN_CHARS = "丽芳娟敏静燕霞艳玲红萍婷洁雪琴梅莉慧晶蕾倩琳晓颖霞春秀丹"
OLD_MAN_CHARS = "国建华明德福荣根宝兴林生忠金富祥才财水海顺"
OLD_WOMAN_CHARS = "秀英兰珍凤桂芬玉梅花琴娣妹菊香仙娥"

BUREAU_CITY = ("DEMO-CZ", "常州市教育局")
BUREAU_DISTRICT = ("DEMO-CZJK", "常州经开区社会事业局")

# The towns and sub-districts of the zone, each with communities, roads and estates.
# (street, communities, roads, estates, (lat, lon) centre)
PLACES: list[tuple[str, list[str], list[str], list[str], tuple[float, float]]] = [
    ("遥观镇", ["塘桥社区", "剑湖社区", "遥观社区", "钱家塘社区"],
     ["塘桥路", "剑湖路", "遥观路", "富民路"], ["剑湖花园", "塘桥新村", "遥观名苑"],
     (31.765, 120.085)),
    ("横林镇", ["横林社区", "崔桥社区", "新东方社区"],
     ["横林路", "崔桥路", "顺庄路"], ["横林家园", "崔桥新村", "锦绣苑"],
     (31.790, 120.110)),
    ("横山桥镇", ["横山桥社区", "芙蓉社区", "五一社区"],
     ["横山路", "芙蓉路", "东方大道"], ["芙蓉新村", "横山桥花苑", "翠竹苑"],
     (31.795, 120.070)),
    ("潞城街道", ["东方社区", "潞城社区", "五星社区"],
     ["东方大道", "潞城路", "富民路"], ["东方花园", "潞城新苑", "富民小区"],
     (31.770, 120.060)),
    ("戚墅堰街道", ["戚墅堰社区", "新风社区", "东风社区"],
     ["东方路", "新风路", "戚机路"], ["新风小区", "东风新村", "戚墅堰花苑"],
     (31.755, 120.055)),
    ("丁堰街道", ["丁堰社区", "富民社区", "东南社区"],
     ["丁堰路", "富民路", "东方大道"], ["丁堰新村", "富民佳园", "东南花苑"],
     (31.760, 120.075)),
]
ADDRESS_PREFIX = "常州经开区"

SCHOOLS_FIXED: list[tuple[str, str]] = [
    # (name, stage); schools 4.. are generated, their stage cycling through the same three.
    ("常州经开区第一实验小学", "primary"),
    ("常州经开区第一实验初级中学", "junior"),
    ("常州经开区第一实验学校", "nine_year"),
]
GENERATED_SCHOOL_SUFFIX = {"primary": "实验小学", "junior": "实验初级中学", "nine_year": "实验学校"}

# Subjects taught by subject teachers (the head teacher usually teaches 语文 and holds that role).
PRIMARY_SUBJECTS = ["数学", "英语", "科学", "体育", "音乐", "美术"]
JUNIOR_SUBJECTS = ["数学", "英语", "物理", "道德与法治", "体育", "美术"]

# Guardian set-ups: (relations, weight). Grandparents appear more often for left-behind children.
GUARDIANS_USUAL: list[tuple[tuple[str, ...], int]] = [
    (("母亲", "父亲"), 42), (("父亲", "母亲"), 22), (("母亲",), 18), (("父亲",), 9),
    (("奶奶", "爷爷"), 3), (("母亲", "外婆"), 3), (("外婆", "外公"), 2), (("奶奶",), 1),
]
GUARDIANS_LEFT_BEHIND: list[tuple[tuple[str, ...], int]] = [
    (("奶奶", "爷爷"), 30), (("外婆", "外公"), 15), (("奶奶",), 10), (("外婆",), 5),
    (("母亲",), 25), (("父亲",), 15),
]

# Focus categories: (code, share of students, per-family?, reasons).
FOCUS_PLAN: list[tuple[str, float, bool, list[str]]] = [
    ("mental_health", 0.03, False, [
        "情绪波动较大，需持续关注", "入学适应困难，常独处", "近期学习压力大，睡眠不佳",
        "心理测评提示需要跟进", "与同伴交往困难",
    ]),
    ("economic", 0.04, True, [
        "家庭享受城乡低保", "父母一方失业，家庭收入较低", "家中有重病成员，负担较重",
        "已纳入资助对象",
    ]),
    ("academic", 0.06, False, [
        "数学基础薄弱，需个别辅导", "学习习惯有待养成", "阅读理解困难", "作业完成情况较差",
        "注意力难以集中，成绩下滑",
    ]),
    ("left_behind_single_parent", 0.08, True, [
        "父母在外务工，由祖辈照顾", "父母离异，随母亲生活", "父母离异，随父亲生活",
        "父亲长期在外地工作",
    ]),
    ("migrant", 0.10, True, [
        "随父母来常务工，外省户籍", "随迁就读，居住证在有效期内", "随父母从外市迁入",
    ]),
    ("disability", 0.005, False, [
        "听力障碍，佩戴助听器", "肢体残疾，行动需协助", "视力障碍（低视力）",
    ]),
]
CLEARED_ACADEMIC_REASON = "经辅导成绩明显进步"

CHINESE_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 21 → 二十一, 105 → 一百零五 (for school names, 1..9999)."""
    if n < 10:
        return CHINESE_DIGITS[n]
    if n < 20:
        return "十" + (CHINESE_DIGITS[n % 10] if n % 10 else "")
    units = [(1000, "千"), (100, "百"), (10, "十")]
    out = ""
    pending_zero = False
    for size, name in units:
        digit = n // size % 10
        if digit:
            if pending_zero and out:
                out += "零"
            out += CHINESE_DIGITS[digit] + name
            pending_zero = False
        elif out:
            pending_zero = True
    if n % 10:
        if pending_zero:
            out += "零"
        out += CHINESE_DIGITS[n % 10]
    return out
