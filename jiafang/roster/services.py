"""Roster import (R1, R4): the school's rules over a parsed file, and the writes.

`roster_preview` / `staff_preview` read a file and plan every change against the database
without writing anything; `roster_import` / `staff_import` plan again inside ONE transaction and
write the plan, or raise `ImportRefused` (nothing written) if there is any error: imports are
all-or-nothing (SECURITY E4). The browser (upload → preview → confirm) and the management
commands (`import_roster`, `import_staff`) both go through these functions.

Decisions (documented here because the file format leaves them open):

- Students are matched by student number within the school; re-importing is idempotent. An empty
  cell never clears a stored value (gender, birth date, status, guardian relation): it means "not
  given". Students absent from the file are listed, never changed.
- Focus flags from the file are added (`focus_flag_set`, reason "名册导入"); flags missing from
  the file are never cleared: clearing needs a person and a reason.
- Families: rows sharing a 家庭编号 are one family; rows sharing a guardian phone are one family
  unless their 家庭编号 differ (the code wins). A group is matched to an existing family by code,
  else by the family its existing students already share, else by guardian phone. A new code for
  students whose family had none is written onto that family instead of creating another.
  Guardians are added or updated (matched by phone, then by name), never removed.
- Classes that do not exist are created. entry_year = start of the current school year
  (1 September, Asia/Shanghai) − (grade − the first grade of the school's stage): a junior
  school's grade 7 entered this year, a nine-year school's grade 7 entered six years ago.
  A cohort (2023级) is the reverse: grade = first grade + (this school year − cohort).
- Staff are matched by mobile phone (their login). New accounts get an unusable password: an
  administrator sets the first one. Only an account that already holds a role at this school is
  matched: a phone that belongs to any other account (another school's staff, a bureau officer,
  an account without roles) is an error on its row that names no one, and that account gets no
  role here (B4/B5): the bureau's administrator links people across schools. Matched accounts
  are never renamed by a school's roster (the account may belong to several schools); roles are
  added with `role_grant` and never removed; a class's head teacher moves to the person named in
  the file.
- What an import leaves on its RosterUpload: the figures and new classes for good; the warnings
  and the names of the people absent from the file only for PENDING_RETENTION (the result page
  shows them), then `roster_uploads_purge` strips them (F8/F9: no lasting copy of names or
  phones).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiafang.accounts.models import Role, User
from jiafang.accounts.services import role_grant
from jiafang.roster import parsing
from jiafang.roster.models import PENDING_RETENTION, RosterUpload
from jiafang.roster.parsing import WARNING, ClassRef, GradeRef, Message, Row, Table
from jiafang.schools.models import (
    GRADE_NAMES,
    Family,
    FocusCategory,
    FocusFlag,
    Guardian,
    School,
    SchoolClass,
    Student,
)
from jiafang.schools.services import focus_flag_set, school_figures_refresh
from jiafang.schools.text import squash

IMPORT_REASON = "名册导入"
SAMPLE_ROWS = 20
ABSENT_NAMED = 30

STAGE_HINTS = {
    School.Stage.PRIMARY: gettext_lazy("一年级至六年级"),
    School.Stage.JUNIOR: gettext_lazy("七年级至九年级（初一至初三）"),
    School.Stage.SENIOR: gettext_lazy("高一至高三"),
    School.Stage.NINE_YEAR: gettext_lazy("一年级至九年级"),
}


class ImportRefused(Exception):
    """The file has errors: nothing was written. `preview` says what and where."""

    def __init__(self, preview: Preview):
        super().__init__(_("名册有 %(n)s 处错误，未导入任何数据。") % {"n": len(preview.errors)})
        self.preview = preview


@dataclass
class Preview:
    """What an import of this file will do (or did), for the preview page and the command line."""

    kind: str
    file_name: str
    sheet: str = ""
    header_row: int | None = None
    columns: list[tuple[str, str]] = field(default_factory=list)  # (stored as, header in file)
    messages: list[Message] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    sample: list[dict[str, Any]] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    new_classes: list[str] = field(default_factory=list)
    plan: Any = field(default=None, repr=False, compare=False)

    @property
    def errors(self) -> list[Message]:
        return [m for m in self.messages if m.is_error]

    @property
    def warnings(self) -> list[Message]:
        return [m for m in self.messages if not m.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def figures(self) -> list[tuple[str, int]]:
        """(label, number) for the counts worth showing, in a fixed order."""
        labels = STUDENT_FIGURES if self.kind == "students" else STAFF_FIGURES
        return [(label, self.counts[key]) for key, label in labels if key in self.counts]

    def summary(self) -> dict[str, Any]:
        """A JSON-able record of the result (kept on the RosterUpload). "warnings" and "absent"
        hold names and phone numbers: `lasting_summary` is what is kept after the retention."""
        return {
            "kind": self.kind,
            "counts": self.counts,
            "new_classes": self.new_classes,
            "warnings": [m.as_text() for m in self.warnings][:500],
            "absent": self.absent[:1000],
        }


PERSONAL_SUMMARY_KEYS = ("warnings", "absent")


def lasting_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """The record kept for good: figures and class names, no names or phone numbers."""
    lasting = {k: v for k, v in summary.items() if k not in PERSONAL_SUMMARY_KEYS}
    if "warnings" in summary:
        lasting["warnings_count"] = len(summary["warnings"])
    return lasting


STUDENT_FIGURES = [
    ("rows", gettext_lazy("数据行")),
    ("students_new", gettext_lazy("新增学生")),
    ("students_updated", gettext_lazy("更新学生")),
    ("students_unchanged", gettext_lazy("无变化学生")),
    ("families_new", gettext_lazy("新增家庭")),
    ("families_updated", gettext_lazy("更新家庭")),
    ("siblings", gettext_lazy("多孩家庭（兄弟姐妹）")),
    ("guardians_new", gettext_lazy("新增家长")),
    ("guardians_updated", gettext_lazy("更新家长")),
    ("classes_new", gettext_lazy("新建班级")),
    ("flags_new", gettext_lazy("新增关注标记")),
    ("absent", gettext_lazy("名册中没有的在读学生")),
]
STAFF_FIGURES = [
    ("rows", gettext_lazy("数据行")),
    ("accounts_new", gettext_lazy("新建账号")),
    ("accounts_existing", gettext_lazy("已有账号")),
    ("roles_new", gettext_lazy("新增角色")),
    ("roles_updated", gettext_lazy("更新角色")),
    ("roles_unchanged", gettext_lazy("无变化角色")),
    ("head_changes", gettext_lazy("更换班主任")),
    ("classes_new", gettext_lazy("新建班级")),
    ("absent", gettext_lazy("名册中没有的教职工")),
]


# --- school years and grades -------------------------------------------------------------------

def academic_year_start(today: dt.date | None = None) -> int:
    """The calendar year the current school year began in (1 September, Asia/Shanghai)."""
    today = today or timezone.localdate()
    return today.year if today.month >= 9 else today.year - 1


def entry_year_for(school: School, grade: int, start_year: int) -> int:
    return start_year - (grade - school.grade_range.start)


def grade_name(grade: int) -> str:
    return GRADE_NAMES.get(grade, f"{grade}年级")


def class_name(key: tuple[int, int]) -> str:
    return f"{grade_name(key[0])}({key[1]})班"


def _resolve_class(school: School, ref: ClassRef | None, grade_ref: GradeRef | None,
                   start_year: int, row: Row, column: str) -> tuple[int, int] | None:
    """(grade, number) of a class in this school, or None after recording the row's error."""
    if ref is None:
        row.error(_("缺少班级"), column)
        return None
    refs = [r for r in (ref.grade, grade_ref) if r is not None]
    grades = []
    for r in refs:
        grades.append(r.grade if r.cohort is None
                      else school.grade_range.start + (start_year - r.cohort))
    if not grades:
        row.error(_("班级“%(value)s”没有写年级。请填写“年级”列，或把班级写成“三年级(2)班”。")
                  % {"value": ref.text}, column)
        return None
    if len(set(grades)) > 1:
        row.error(_("年级与班级“%(value)s”中的年级不一致") % {"value": ref.text}, column)
        return None
    grade = grades[0]
    if grade not in school.grade_range:
        row.error(_("“%(value)s”的年级不在本校学段内（%(stage)s：%(hint)s）") % {
            "value": ref.text if ref.grade else grade_name(grade),
            "stage": school.get_stage_display(),
            "hint": STAGE_HINTS[School.Stage(school.stage)]}, column)
        return None
    return grade, ref.number


def _category_index() -> tuple[dict[str, FocusCategory], str]:
    index: dict[str, FocusCategory] = {}
    categories = list(FocusCategory.objects.filter(active=True))
    for category in categories:
        for spelling in category.spellings():
            index.setdefault(squash(spelling).lower(), category)
    return index, "、".join(c.short_name for c in categories)


def _preview_from_table(kind: str, table: Table) -> Preview:
    fields = parsing.SCHEMAS[kind]
    return Preview(
        kind=kind, file_name=table.file_name, sheet=table.sheet, header_row=table.header_row,
        columns=[(f.label, table.labels[f.key]) for f in fields if f.key in table.labels],
        messages=list(table.messages),
    )


def _finish(preview: Preview, table: Table) -> Preview:
    for row in table.rows:
        preview.messages.extend(row.messages)
    preview.messages = parsing.sort_messages(preview.messages, table.labels.values())
    return preview


def row_label(table: Table, key: str) -> str:
    return table.label(key, parsing.STUDENT_FIELDS)


def _rows_text(numbers: list[int]) -> str:
    return "、".join(str(n) for n in numbers)


# --- students: planning ------------------------------------------------------------------------

@dataclass
class _GuardianIn:
    name: str
    relation: str
    phone: str


@dataclass
class _FamilyPlan:
    existing: Family | None
    code: str = ""
    address: str = ""
    community: str = ""
    street: str = ""
    rows: list[int] = field(default_factory=list)
    incoming: list[_GuardianIn] = field(default_factory=list)
    changes: dict[str, str] = field(default_factory=dict)
    new_guardians: list[_GuardianIn] = field(default_factory=list)
    changed_guardians: list[tuple[Guardian, dict[str, str]]] = field(default_factory=list)
    instance: Family | None = None
    label: str = ""
    others: int = 0  # students of the existing family who are not in this file
    next_position: int = 0


@dataclass
class _StudentPlan:
    row: int
    number: str
    name: str
    gender: str
    birth_date: dt.date | None
    status: str
    class_key: tuple[int, int]
    family: _FamilyPlan
    categories: list[FocusCategory]
    guardians: list[_GuardianIn]
    existing: Student | None = None
    changes: list[str] = field(default_factory=list)
    new_flags: list[FocusCategory] = field(default_factory=list)

    @property
    def action(self) -> str:
        if self.existing is None:
            return "new"
        return "updated" if self.changes or self.new_flags else "unchanged"


@dataclass
class _StudentsPlan:
    school: School
    start_year: int
    classes: dict[tuple[int, int], SchoolClass | None]
    families: list[_FamilyPlan]
    students: list[_StudentPlan]


ACTION_LABELS = {"new": gettext_lazy("新增"), "updated": gettext_lazy("更新"),
                 "unchanged": gettext_lazy("无变化")}




def _row_guardians(row: Row) -> list[_GuardianIn]:
    """Up to four guardians of a row: 家长, 家长2, 父亲, 母亲 columns."""
    v = row.values
    pairs = [
        (v.get("guardian_name"), v.get("guardian_relation"), v.get("guardian_phone")),
        (v.get("guardian2_name"), v.get("guardian2_relation"), v.get("guardian2_phone")),
        (v.get("father_name"), "父亲", v.get("father_phone")),
        (v.get("mother_name"), "母亲", v.get("mother_phone")),
    ]
    guardians = []
    for name, relation, phone in pairs:
        name, relation, phone = name or "", relation or "", phone or ""
        if name or phone:
            guardians.append(_GuardianIn(name=name or relation or _("家长"), relation=relation,
                                         phone=phone))
    return guardians


PHONE_FIELDS = {"guardian_phone", "guardian2_phone", "father_phone", "mother_phone"}


def _check_student_row(school: School, row: Row, table: Table, start_year: int,
                       categories: dict[str, FocusCategory], category_hint: str,
                       today: dt.date) -> dict[str, Any] | None:
    """The row checked against the school's rules; None (errors recorded) if it cannot be used."""
    v = row.values

    def label(key: str) -> str:
        return table.label(key, parsing.STUDENT_FIELDS)

    if not v.get("student_number") and not v.get("name") and not row.invalid & {
            "student_number", "name"}:
        row.warning(_("没有学号和姓名，此行已跳过"))
        return None
    if v.get("student_number") == "":
        row.error(_("缺少学号"), label("student_number"))
    if v.get("name") == "":
        row.error(_("缺少姓名"), label("name"))
    class_key = None
    if not row.invalid & {"class", "grade"}:
        class_key = _resolve_class(school, v.get("class"), v.get("grade"), start_year, row,
                                   label("class"))
    birth_date = v.get("birth_date")
    if birth_date and birth_date > today:
        row.error(_("出生日期不合理：%(value)s") % {"value": birth_date.isoformat()},
                  label("birth_date"))
    found: list[FocusCategory] = []
    unknown: list[str] = []
    for token in v.get("categories") or []:
        category = categories.get(squash(token).lower())
        if category is None:
            unknown.append(token)
        elif category not in found:
            found.append(category)
    if unknown:
        row.error(_("未知的关注类别：%(names)s。可填写：%(hint)s")
                  % {"names": "、".join(f"“{u}”" for u in unknown), "hint": category_hint},
                  label("categories"))
    guardians = _row_guardians(row)
    if PHONE_FIELDS & table.labels.keys() and not any(g.phone for g in guardians) and not (
            row.invalid & PHONE_FIELDS):
        row.warning(_("缺少家长电话"), table.labels.get("guardian_phone", ""))
    if row.has_errors or class_key is None:
        return None
    return {"class_key": class_key, "categories": found, "guardians": guardians}


class _Groups:
    """Union-find over row indexes; a group keeps its 家庭编号, and two codes never merge."""

    def __init__(self, codes: list[str]):
        self.parent = list(range(len(codes)))
        self.code = list(codes)

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb or (self.code[ra] and self.code[rb] and self.code[ra] != self.code[rb]):
            return
        self.parent[rb] = ra
        self.code[ra] = self.code[ra] or self.code[rb]


def roster_preview(*, school: School, file_name: str, data: bytes) -> Preview:
    """Read a students roster and plan every change, writing nothing."""
    table = parsing.read_table(file_name, data, "students")
    preview = _preview_from_table("students", table)
    if table.refused:
        return _finish(preview, table)
    today = timezone.localdate()
    start_year = academic_year_start(today)
    categories, category_hint = _category_index()
    if not PHONE_FIELDS & table.labels.keys():
        preview.messages.append(Message(WARNING, _(
            "名册没有家长电话列：家访需要联系家长，建议补充“联系电话”列后重新导入。")))

    checked: list[tuple[Row, dict[str, Any]]] = []
    by_number: dict[str, list[Row]] = defaultdict(list)
    for row in table.rows:
        number = row.values.get("student_number")
        if number:
            by_number[number].append(row)
        values = _check_student_row(school, row, table, start_year, categories, category_hint,
                                    today)
        if values is not None:
            checked.append((row, values))
    number_label = table.label("student_number", parsing.STUDENT_FIELDS)
    duplicates = set()
    for number, rows in by_number.items():
        if len(rows) > 1:
            duplicates.add(number)
            for row in rows:
                row.error(_("学号“%(number)s”重复：第 %(rows)s 行")
                          % {"number": number, "rows": _rows_text([r.number for r in rows])},
                          number_label)
    checked = [(row, values) for row, values in checked
               if row.values["student_number"] not in duplicates]

    plan = _plan_students(school, checked, start_year, preview, table)
    preview.plan = plan
    _describe_students(preview, plan, table, set(by_number),
                       any(row.has_errors for row in table.rows))
    return _finish(preview, table)


def _plan_students(school: School, checked: list[tuple[Row, dict[str, Any]]], start_year: int,
                   preview: Preview, table: Table) -> _StudentsPlan:
    classes: dict[tuple[int, int], SchoolClass | None] = {
        (c.grade, c.number): c for c in SchoolClass.objects.filter(school=school)}
    students = {s.student_number: s for s in Student.objects.filter(school=school)}
    families = {f.pk: f for f in Family.objects.filter(school=school)}
    families_by_code = {f.code: f for f in families.values() if f.code}
    guardians_by_family: dict[int, list[Guardian]] = defaultdict(list)
    families_by_phone: dict[str, set[int]] = defaultdict(set)
    for g in Guardian.objects.filter(school=school):
        guardians_by_family[g.family_id].append(g)
        if g.phone:
            families_by_phone[g.phone].add(g.family_id)
    active_flags = set(FocusFlag.objects.filter(school=school, cleared_at=None)
                       .values_list("student_id", "category_id"))

    # 1. Rows → groups of siblings: the same 家庭编号, or a shared guardian phone.
    groups = _Groups([row.values.get("family_code") or "" for row, _v in checked])
    by_code: dict[str, int] = {}
    by_phone: dict[str, int] = {}
    for i, (row, _v) in enumerate(checked):
        code = row.values.get("family_code") or ""
        if code:
            groups.union(by_code.setdefault(code, i), i)
    for i, (_row, values) in enumerate(checked):
        for g in values["guardians"]:
            if g.phone:
                groups.union(by_phone.setdefault(g.phone, i), i)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(checked)):
        members[groups.find(i)].append(i)

    # 2. Groups → existing or new families.
    targets: dict[Any, _FamilyPlan] = {}
    adopted: set[int] = set()
    group_target: dict[int, _FamilyPlan] = {}
    for root, indexes in members.items():
        code = groups.code[root]
        rows = [checked[i][0] for i in indexes]
        numbers = [r.values["student_number"] for r in rows]
        phones = {g.phone for i in indexes for g in checked[i][1]["guardians"] if g.phone}
        current = {students[n].family_id for n in numbers if n in students}
        by_phones: set[int] = set().union(*(families_by_phone.get(p, set()) for p in phones))
        family: Family | None = None
        set_code = ""
        if code:
            family = families_by_code.get(code)
            if family is None and len(current) == 1:
                candidate = families[next(iter(current))]
                if not candidate.code and candidate.pk not in adopted:
                    family, set_code = candidate, code
                    adopted.add(candidate.pk)
        elif len(current) == 1 and (not by_phones or current <= by_phones):
            family = families[next(iter(current))]
        elif by_phones:
            family = families[min((current & by_phones) or by_phones)]
            if len(by_phones) > 1:
                preview.messages.append(Message(WARNING, _(
                    "家长电话对应多个已有家庭，第 %(rows)s 行的学生已归入家庭“%(family)s”")
                    % {"rows": _rows_text([r.number for r in rows]),
                       "family": family.code or f"#{family.pk}"}, rows[0].number))
        elif current:
            family = families[min(current)]
        key: Any = family.pk if family is not None else ("new", root)
        target = targets.get(key)
        if target is None:
            target = _FamilyPlan(existing=family, code=code if family is None else family.code)
            targets[key] = target
        if set_code:
            target.changes["code"] = set_code
            target.code = set_code
        target.rows.extend(r.number for r in rows)
        for r in rows:
            for name in ("address", "community", "street"):
                value = r.values.get(name) or ""
                if value and not getattr(target, name):
                    setattr(target, name, value)
        for i in indexes:
            target.incoming.extend(checked[i][1]["guardians"])
            group_target[i] = target

    # 3. Family fields and guardians.
    in_file = {row.values["student_number"] for row, _v in checked}
    others = Counter(s.family_id for s in students.values() if s.student_number not in in_file)
    new_count = 0
    for target in targets.values():
        existing_guardians: list[Guardian] = []
        if target.existing is not None:
            target.others = others[target.existing.pk]
            existing_guardians = guardians_by_family.get(target.existing.pk, [])
            target.next_position = max((g.position for g in existing_guardians), default=-1) + 1
            for name in ("address", "community", "street"):
                value = getattr(target, name)
                if value and value != getattr(target.existing, name):
                    target.changes[name] = value
            target.label = target.code or _("已有家庭#%(pk)s") % {"pk": target.existing.pk}
        else:
            new_count += 1
            target.label = target.code or _("新家庭%(n)s") % {"n": new_count}
        _plan_guardians(target, existing_guardians)

    # 4. Students.
    student_plans = []
    for i, (row, values) in enumerate(checked):
        v = row.values
        key = values["class_key"]
        classes.setdefault(key, None)
        plan = _StudentPlan(
            row=row.number, number=v["student_number"], name=v["name"],
            gender=v.get("gender") or "", birth_date=v.get("birth_date"),
            status=v.get("status") or "", class_key=key, family=group_target[i],
            categories=values["categories"], guardians=values["guardians"],
            existing=students.get(v["student_number"]),
        )
        s = plan.existing
        if s is None:
            plan.new_flags = list(plan.categories)
        else:
            current_class = classes[key]
            if s.name != plan.name:
                plan.changes.append("name")
            if plan.gender and s.gender != plan.gender:
                plan.changes.append("gender")
            if plan.birth_date and s.birth_date != plan.birth_date:
                plan.changes.append("birth_date")
            if plan.status and s.status != plan.status:
                plan.changes.append("status")
            elif not plan.status and s.status != Student.Status.ENROLLED:
                row.warning(_("该学生的学籍状态是“%(status)s”，名册未填写学籍状态，保持不变")
                            % {"status": s.get_status_display()}, row_label(table, "name"))
            if current_class is None or s.school_class_id != current_class.pk:
                plan.changes.append("school_class")
            if plan.family.existing is None or s.family_id != plan.family.existing.pk:
                plan.changes.append("family")
            plan.new_flags = [c for c in plan.categories if (s.pk, c.pk) not in active_flags]
        student_plans.append(plan)
    return _StudentsPlan(school=school, start_year=start_year, classes=classes,
                         families=list(targets.values()), students=student_plans)


def _plan_guardians(target: _FamilyPlan, existing: list[Guardian]) -> None:
    """Guardians to add and to update (matched by phone, then by name); none removed."""
    seen: list[_GuardianIn] = []
    for g in target.incoming:
        twin = next((s for s in seen if (g.phone and s.phone == g.phone)
                     or (not g.phone and s.name == g.name)), None)
        if twin is None:
            seen.append(_GuardianIn(g.name, g.relation, g.phone))
        elif not twin.relation and g.relation:
            twin.relation = g.relation
    matched: set[int] = set()
    for g in seen:
        match = next((e for e in existing if g.phone and e.phone == g.phone
                      and e.pk not in matched), None)
        if match is None:
            match = next((e for e in existing if e.name == g.name and e.pk not in matched), None)
        if match is None:
            target.new_guardians.append(g)
            continue
        matched.add(match.pk)
        changes = {}
        if g.name != match.name and g.name not in {g.relation, _("家长")}:
            changes["name"] = g.name
        if g.relation and g.relation != match.relation:
            changes["relation"] = g.relation
        if g.phone and g.phone != match.phone:
            changes["phone"] = g.phone
        if changes:
            target.changed_guardians.append((match, changes))


def _describe_students(preview: Preview, plan: _StudentsPlan, table: Table,
                       numbers_in_file: set[str], has_errors: bool) -> None:
    actions = [p.action for p in plan.students]
    per_family: dict[int, int] = defaultdict(int)
    for p in plan.students:
        per_family[id(p.family)] += 1
    new_class_keys = sorted(k for k, c in plan.classes.items() if c is None)
    preview.new_classes = [class_name(k) for k in new_class_keys]
    absent = list(
        Student.objects.filter(school=plan.school, status=Student.Status.ENROLLED)
        .exclude(student_number__in=numbers_in_file).select_related("school_class")
        .order_by("school_class__grade", "school_class__number", "student_number"))
    preview.absent = [f"{s.name}（{s.school_class.name}，{s.student_number}）" for s in absent]
    preview.counts = {
        "rows": len(table.rows),
        "students_new": actions.count("new"),
        "students_updated": actions.count("updated"),
        "students_unchanged": actions.count("unchanged"),
        "families_new": sum(1 for f in plan.families if f.existing is None),
        "families_updated": sum(1 for f in plan.families if f.existing is not None and (
            f.changes or f.new_guardians or f.changed_guardians)),
        "siblings": sum(1 for f in plan.families if per_family[id(f)] + f.others > 1),
        "guardians_new": sum(len(f.new_guardians) for f in plan.families),
        "guardians_updated": sum(len(f.changed_guardians) for f in plan.families),
        "classes_new": len(new_class_keys),
        "flags_new": sum(len(p.new_flags) for p in plan.students),
        "absent": len(absent),
    }
    if absent and not has_errors:  # with errors, fixing them comes first
        more = (_("等 %(n)s 人") % {"n": len(absent)}) if len(absent) > ABSENT_NAMED else ""
        preview.messages.append(Message(WARNING, _(
            "名册中没有这些在读学生：%(names)s%(more)s。系统不会删除或修改他们，请核对（转学、"
            "毕业请在学生页面处理）。")
            % {"names": "、".join(preview.absent[:ABSENT_NAMED]), "more": more}))
    for p in plan.students[:SAMPLE_ROWS]:
        preview.sample.append({
            "row": p.row, "number": p.number, "name": p.name,
            "gender": str(Student.Gender(p.gender).label) if p.gender else "",
            "birth_date": p.birth_date.isoformat() if p.birth_date else "",
            "class": class_name(p.class_key),
            "family": p.family.label,
            "guardians": "；".join(_guardian_text(g) for g in p.guardians),
            "categories": "、".join(c.short_name for c in p.categories),
            "action": str(ACTION_LABELS[p.action]),
        })


def _guardian_text(g: _GuardianIn) -> str:
    relation = f"（{g.relation}）" if g.relation and g.relation != g.name else ""
    return " ".join(x for x in (g.name + relation, g.phone) if x)


# --- students: writing -------------------------------------------------------------------------

def _lock_school(school: School) -> None:
    """One import per school at a time (PostgreSQL row lock; SQLite serialises writers)."""
    list(School.objects.select_for_update().filter(pk=school.pk).values_list("pk", flat=True))


def _create_classes(school: School, classes: dict[tuple[int, int], SchoolClass | None],
                    start_year: int) -> dict[tuple[int, int], SchoolClass]:
    result: dict[tuple[int, int], SchoolClass] = {}
    for key, existing in sorted(classes.items()):
        if existing is None:
            grade, number = key
            existing = SchoolClass.objects.create(
                school=school, grade=grade, number=number,
                entry_year=entry_year_for(school, grade, start_year))
        result[key] = existing
    return result


@transaction.atomic
def roster_import(*, school: School, file_name: str, data: bytes, by: User | None) -> Preview:
    """Import a students roster: everything in one transaction, or nothing (ImportRefused)."""
    _lock_school(school)
    preview = roster_preview(school=school, file_name=file_name, data=data)
    if not preview.ok:
        raise ImportRefused(preview)
    plan: _StudentsPlan = preview.plan
    now = timezone.now()
    classes = _create_classes(school, plan.classes, plan.start_year)

    new_families = [f for f in plan.families if f.existing is None]
    created = Family.objects.bulk_create([
        Family(school=school, code=f.code, address=f.address, community=f.community,
               street=f.street) for f in new_families])
    for target, family in zip(new_families, created, strict=True):
        target.instance = family
    changed_families = []
    for target in plan.families:
        if target.existing is None:
            continue
        target.instance = target.existing
        if target.changes:
            for name, value in target.changes.items():
                setattr(target.existing, name, value)
            changed_families.append(target.existing)
    if changed_families:
        Family.objects.bulk_update(changed_families, ["code", "address", "community", "street"])

    new_guardians = []
    changed_guardians = []
    for target in plan.families:
        for position, g in enumerate(target.new_guardians, start=target.next_position):
            new_guardians.append(Guardian(school=school, family=target.instance, name=g.name,
                                          relation=g.relation, phone=g.phone, position=position))
        for guardian, changes in target.changed_guardians:
            for name, value in changes.items():
                setattr(guardian, name, value)
            changed_guardians.append(guardian)
    Guardian.objects.bulk_create(new_guardians)
    if changed_guardians:
        Guardian.objects.bulk_update(changed_guardians, ["name", "relation", "phone"])

    new_students = []
    changed_students = []
    for p in plan.students:
        school_class = classes[p.class_key]
        family = p.family.instance
        if p.existing is None:
            p.existing = Student(
                school=school, student_number=p.number, name=p.name, gender=p.gender,
                birth_date=p.birth_date, school_class=school_class, family=family,
                status=p.status or Student.Status.ENROLLED)
            new_students.append(p.existing)
        elif p.changes:
            s = p.existing
            s.name = p.name
            s.gender = p.gender or s.gender
            s.birth_date = p.birth_date or s.birth_date
            s.status = p.status or s.status
            s.school_class = school_class
            s.family = family
            s.updated_at = now
            changed_students.append(s)
    Student.objects.bulk_create(new_students)
    if changed_students:
        Student.objects.bulk_update(changed_students, ["name", "gender", "birth_date", "status",
                                                       "school_class", "family", "updated_at"])
    for p in plan.students:
        for category in p.new_flags:
            focus_flag_set(student=p.existing, category=category, by=by, reason=IMPORT_REASON,
                           refresh_figures=False)
    school_figures_refresh(school_ids=[school.pk])
    _campaign_figures_follow(school)
    return preview


def _campaign_figures_follow(school: School) -> None:
    """A roster change (a child transferred out, moved class or family) moves the coverage of
    every campaign with visits at this school: re-evaluate that school's part of them."""
    from jiafang.campaigns.models import Campaign  # later stages of the flow build on rosters
    from jiafang.visits.services import campaign_visits_reevaluate

    for campaign in Campaign.objects.filter(visits__school=school).distinct():
        campaign_visits_reevaluate(campaign=campaign, school_ids=[school.pk])


# --- staff -------------------------------------------------------------------------------------

K = Role.Kind
CLASS_ROLES = {K.HEAD_TEACHER.value, K.SUBJECT_TEACHER.value}


def role_label(kind: str) -> str:
    return str(Role.Kind(kind).label)


@dataclass
class _PersonPlan:
    phone: str
    name: str
    username: str
    rows: list[int]
    existing: User | None = None
    instance: User | None = None


@dataclass
class _RolePlan:
    person: _PersonPlan
    kind: str
    class_key: tuple[int, int] | None
    subject: str
    row: int
    action: str = "new"


@dataclass
class _StaffPlan:
    school: School
    start_year: int
    classes: dict[tuple[int, int], SchoolClass | None]
    people: list[_PersonPlan]
    roles: list[_RolePlan]
    head_changes: int = 0


def staff_preview(*, school: School, file_name: str, data: bytes) -> Preview:
    """Read a staff roster and plan accounts and roles, writing nothing."""
    table = parsing.read_table(file_name, data, "staff")
    preview = _preview_from_table("staff", table)
    if table.refused:
        return _finish(preview, table)
    start_year = academic_year_start()

    def label(key: str) -> str:
        return table.label(key, parsing.STAFF_FIELDS)

    people: dict[str, _PersonPlan] = {}
    roles: dict[tuple[str, str, tuple[int, int] | None], _RolePlan] = {}
    head_claims: dict[tuple[int, int], dict[str, list[Row]]] = defaultdict(
        lambda: defaultdict(list))
    rows_by_number = {row.number: row for row in table.rows}
    for row in table.rows:
        v = row.values
        name, phone = v.get("name"), v.get("phone")
        if name == "":
            row.error(_("缺少姓名"), label("name"))
        if phone == "":
            row.error(_("缺少手机号（登录用）"), label("phone"))
        elif phone and not parsing.MOBILE_RE.fullmatch(phone):
            row.error(_("手机号不正确：“%(value)s”（登录用的手机号须为 11 位手机号）")
                      % {"value": phone}, label("phone"))
        kinds = v.get("roles") or []
        if not kinds and "roles" not in row.invalid:
            row.error(_("缺少角色。可填写：%(hint)s") % {"hint": parsing.ROLE_HINT}, label("roles"))
        class_keys = []
        for ref in v.get("classes") or []:
            key = _resolve_class(school, ref, None, start_year, row, label("classes"))
            if key is not None and key not in class_keys:
                class_keys.append(key)
        needs_class = [k for k in kinds if k in CLASS_ROLES]
        if needs_class and not v.get("classes") and "classes" not in row.invalid:
            row.error(_("%(role)s须填写任教班级")
                      % {"role": "、".join(role_label(k) for k in needs_class)},
                      table.labels.get("classes", _("任教班级")))
        elif v.get("classes") and kinds and not needs_class:
            row.warning(_("任教班级只对班主任和学科教师有效，已忽略"), label("classes"))
        if row.has_errors:
            continue
        person = people.get(phone)
        if person is None:
            person = people[phone] = _PersonPlan(phone=phone, name=name,
                                                 username=v.get("username") or "", rows=[])
        elif person.name != name:
            row.error(_("手机号 %(phone)s 在第 %(rows)s 行对应另一个姓名“%(name)s”")
                      % {"phone": phone, "rows": _rows_text(person.rows), "name": person.name},
                      label("phone"))
            continue
        elif v.get("username") and person.username and v["username"] != person.username:
            row.error(_("同一手机号的用户名前后不一致：“%(a)s”和“%(b)s”")
                      % {"a": person.username, "b": v["username"]}, label("username"))
            continue
        person.username = person.username or v.get("username") or ""
        person.rows.append(row.number)
        subject = v.get("subject") or ""
        for kind in kinds:
            for key in (class_keys if kind in CLASS_ROLES else [None]):
                role = roles.get((phone, kind, key))
                role_subject = subject if kind == K.SUBJECT_TEACHER else ""
                if role is None:
                    roles[(phone, kind, key)] = _RolePlan(person, kind, key, role_subject,
                                                          row.number)
                elif role_subject and role_subject not in role.subject.split("、"):
                    role.subject = "、".join(x for x in (role.subject, role_subject) if x)[:20]
                if kind == K.HEAD_TEACHER and key is not None:
                    head_claims[key][phone].append(row)
    for key, claims in head_claims.items():
        if len(claims) > 1:
            claim_rows = sorted(r.number for rs in claims.values() for r in rs)
            for number in claim_rows:
                rows_by_number[number].error(
                    _("%(cls)s的班主任重复：第 %(rows)s 行")
                    % {"cls": class_name(key), "rows": _rows_text(claim_rows)}, label("roles"))

    ok_people = [p for p in people.values()
                 if not any(rows_by_number[n].has_errors for n in p.rows)]
    plan = _plan_staff(school, start_year, ok_people,
                       [r for r in roles.values() if r.person in ok_people],
                       rows_by_number, label)
    preview.plan = plan
    _describe_staff(preview, plan, table, set(people),
                    any(row.has_errors for row in table.rows))
    return _finish(preview, table)


def _plan_staff(school: School, start_year: int, people: list[_PersonPlan],
                roles: list[_RolePlan], rows_by_number: dict[int, Row], label) -> _StaffPlan:
    classes: dict[tuple[int, int], SchoolClass | None] = {
        (c.grade, c.number): c for c in SchoolClass.objects.filter(school=school)}
    found = list(User.objects.filter(phone__in=[p.phone for p in people]))
    # Only accounts that already hold a role at this school are this school's to match (B4/B5):
    # another account is neither shown (name, username, state) nor given a role here.
    staff_ids = set(Role.objects.filter(school=school, user__in=found)
                    .values_list("user_id", flat=True))
    users = {u.phone: u for u in found if u.pk in staff_ids}
    elsewhere = {u.phone for u in found if u.pk not in staff_ids}
    # Login accepts a username or a phone: a new account's username must not be anyone's
    # username or phone, and its phone must not be anyone's username.
    new_people = [p for p in people if p.phone not in users and p.phone not in elsewhere]
    wanted = {(p.username or p.phone).lower() for p in new_people} | {p.phone for p in new_people}
    taken_usernames = set(User.objects.annotate(lower_name=Lower("username"))
                          .filter(lower_name__in=wanted).values_list("lower_name", flat=True))
    taken = taken_usernames | set(User.objects.filter(phone__in=wanted)
                                  .values_list("phone", flat=True))
    seen_usernames: set[str] = set()
    for person in people:
        first = rows_by_number[person.rows[0]]
        if person.phone in elsewhere:
            first.error(_("该手机号已被本校以外的账号使用，不能通过本校名册导入。请联系教育局管理员"
                          "处理。"), label("phone"))
            continue
        person.existing = users.get(person.phone)
        if person.existing is not None:
            user = person.existing
            if person.name != user.full_name and user.full_name:
                first.warning(_("手机号 %(phone)s 已有账号“%(name)s”，与名册中的姓名不同；"
                                "账号信息未修改") % {"phone": person.phone,
                                                   "name": user.full_name}, label("name"))
            if person.username and person.username != user.username:
                first.warning(_("已有账号的用户名是“%(username)s”，未修改")
                              % {"username": user.username}, label("username"))
            if not user.is_active:
                first.warning(_("账号“%(name)s”已停用，角色仍会添加，但在启用前无法登录")
                              % {"name": user.display_name}, label("name"))
            continue
        username = person.username or person.phone
        if username.lower() in taken or username.lower() in seen_usernames:
            first.error(_("用户名“%(username)s”已被其他账号使用") % {"username": username},
                        label("username") if person.username else label("phone"))
            continue
        if person.phone in taken_usernames:
            first.error(_("手机号 %(phone)s 已被其他账号用作用户名") % {"phone": person.phone},
                        label("phone"))
            continue
        seen_usernames.add(username.lower())
        person.username = username
        first.warning(_("新账号需由管理员设置初始密码"), label("phone"))

    existing_roles = {
        (r.user_id, r.kind, r.school_class_id): r
        for r in Role.objects.filter(school=school).select_related("user")}
    heads = {r.school_class_id: r.user for r in existing_roles.values()
             if r.kind == K.HEAD_TEACHER}
    head_changes = 0
    for role in roles:
        if role.class_key is not None:
            classes.setdefault(role.class_key, None)
        school_class = classes.get(role.class_key) if role.class_key else None
        class_id = school_class.pk if school_class else None
        user = role.person.existing
        found = existing_roles.get((user.pk, role.kind, class_id)) if user and (
            role.class_key is None or school_class is not None) else None
        if found is None:
            role.action = "new"
        elif role.subject and role.subject != found.subject:
            role.action = "updated"
        else:
            role.action = "unchanged"
        if role.kind == K.HEAD_TEACHER and school_class is not None:
            head = heads.get(school_class.pk)
            if head is not None and head != user:
                head_changes += 1
                rows_by_number[role.row].warning(
                    _("%(cls)s的班主任将由“%(old)s”改为“%(new)s”")
                    % {"cls": school_class.name, "old": head.display_name,
                       "new": role.person.name}, label("roles"))
    return _StaffPlan(school=school, start_year=start_year, classes=classes,
                      people=[p for p in people
                              if not rows_by_number[p.rows[0]].has_errors],
                      roles=[r for r in roles if not rows_by_number[r.person.rows[0]].has_errors],
                      head_changes=head_changes)


def _describe_staff(preview: Preview, plan: _StaffPlan, table: Table,
                    phones_in_file: set[str], has_errors: bool) -> None:
    new_class_keys = sorted(k for k, c in plan.classes.items() if c is None)
    preview.new_classes = [class_name(k) for k in new_class_keys]
    absent_users = (User.objects.filter(roles__school=plan.school).distinct()
                    .order_by("full_name", "username"))
    absent = [u for u in absent_users if not u.phone or u.phone not in phones_in_file]
    preview.absent = [u.display_name for u in absent]
    actions = [r.action for r in plan.roles]
    preview.counts = {
        "rows": len(table.rows),
        "accounts_new": sum(1 for p in plan.people if p.existing is None),
        "accounts_existing": sum(1 for p in plan.people if p.existing is not None),
        "roles_new": actions.count("new"),
        "roles_updated": actions.count("updated"),
        "roles_unchanged": actions.count("unchanged"),
        "head_changes": plan.head_changes,
        "classes_new": len(new_class_keys),
        "absent": len(absent),
    }
    if absent and not has_errors:
        more = (_("等 %(n)s 人") % {"n": len(absent)}) if len(absent) > ABSENT_NAMED else ""
        preview.messages.append(Message(WARNING, _(
            "名册中没有这些本校教职工：%(names)s%(more)s。他们在本校的角色未做修改。")
            % {"names": "、".join(preview.absent[:ABSENT_NAMED]), "more": more}))
    roles_by_person: dict[int, list[_RolePlan]] = defaultdict(list)
    for role in plan.roles:
        roles_by_person[id(role.person)].append(role)
    for person in plan.people[:SAMPLE_ROWS]:
        person_roles = roles_by_person[id(person)]
        preview.sample.append({
            "row": person.rows[0], "name": person.name, "phone": person.phone,
            "username": person.existing.username if person.existing else person.username,
            "account": _("已有") if person.existing else _("新建"),
            "roles": "、".join(
                role_label(r.kind) + (f"·{class_name(r.class_key)}" if r.class_key else "")
                + (f"·{r.subject}" if r.subject else "") for r in person_roles),
            "action": "、".join(sorted({str(ACTION_LABELS[r.action]) for r in person_roles})),
        })


@transaction.atomic
def staff_import(*, school: School, file_name: str, data: bytes, by: User | None) -> Preview:
    """Import a staff roster: accounts and roles in one transaction, or nothing."""
    _lock_school(school)
    preview = staff_preview(school=school, file_name=file_name, data=data)
    if not preview.ok:
        raise ImportRefused(preview)
    plan: _StaffPlan = preview.plan
    classes = _create_classes(school, plan.classes, plan.start_year)
    for person in plan.people:
        if person.existing is None:
            user = User(username=person.username, full_name=person.name, phone=person.phone)
            user.set_unusable_password()
            user.save()
            person.instance = user
        else:
            person.instance = person.existing
    for role in plan.roles:
        if role.action == "unchanged":
            continue
        if role.class_key is None:
            role_grant(user=role.person.instance, kind=role.kind, school=school)
        else:
            role_grant(user=role.person.instance, kind=role.kind,
                       school_class=classes[role.class_key], subject=role.subject)
    return preview


# --- uploads between preview and confirmation --------------------------------------------------

PREVIEWS = {RosterUpload.Kind.STUDENTS: roster_preview, RosterUpload.Kind.STAFF: staff_preview}
IMPORTS = {RosterUpload.Kind.STUDENTS: roster_import, RosterUpload.Kind.STAFF: staff_import}


def upload_preview(*, upload: RosterUpload) -> Preview:
    return PREVIEWS[RosterUpload.Kind(upload.kind)](
        school=upload.school, file_name=upload.file_name, data=bytes(upload.content))


def upload_expired(upload: RosterUpload) -> bool:
    return upload.created_at < timezone.now() - PENDING_RETENTION


@transaction.atomic
def roster_upload_create(*, school: School, by: User | None, kind: str, file_name: str,
                         data: bytes) -> RosterUpload:
    """Keep a file that previewed without errors until it is confirmed or discarded."""
    roster_uploads_purge(school=school)
    RosterUpload.objects.filter(school=school, uploaded_by=by, kind=kind,
                                status=RosterUpload.Status.PENDING).update(
        status=RosterUpload.Status.DISCARDED, content=b"", finished_at=timezone.now())
    return RosterUpload.objects.create(
        school=school, uploaded_by=by, kind=kind, file_name=file_name[:200], size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), content=data)


@transaction.atomic
def roster_upload_discard(*, upload: RosterUpload) -> RosterUpload:
    updated = RosterUpload.objects.filter(pk=upload.pk, status=RosterUpload.Status.PENDING).update(
        status=RosterUpload.Status.DISCARDED, content=b"", finished_at=timezone.now())
    if updated:
        upload.refresh_from_db()
    return upload


def roster_uploads_purge(*, school: School | None = None) -> int:
    """Empty and discard pending uploads older than the retention, and strip the names and phone
    numbers from the results of imports finished longer ago than that (F8/F9).

    Returns the number of pending uploads emptied.
    """
    cutoff = timezone.now() - PENDING_RETENTION
    uploads = RosterUpload.objects.all()
    if school is not None:
        uploads = uploads.filter(school=school)
    with transaction.atomic():
        count = uploads.filter(status=RosterUpload.Status.PENDING, created_at__lt=cutoff).update(
            status=RosterUpload.Status.DISCARDED, content=b"", finished_at=timezone.now())
        done = list(uploads.filter(finished_at__lt=cutoff,
                                   summary__has_any_keys=PERSONAL_SUMMARY_KEYS)
                    .select_for_update().only("pk", "summary"))
        for upload in done:
            upload.summary = lasting_summary(upload.summary)
        RosterUpload.objects.bulk_update(done, ["summary"])
    return count


def roster_upload_confirm(*, school: School, upload_id: int, by: User | None
                          ) -> tuple[RosterUpload, Preview | None]:
    """Import a pending upload once: a second confirmation (double click) imports nothing.

    Returns the upload and the import's preview, or None if it had already been handled.
    Raises ImportRefused (nothing written, the upload stays pending) if the file no longer
    imports cleanly, and RosterUpload.DoesNotExist for an unknown id.
    """
    with transaction.atomic():
        upload = RosterUpload.objects.select_for_update().filter(school=school, pk=upload_id).get()
        if not upload.is_pending:
            return upload, None
        if upload_expired(upload):
            upload.status = RosterUpload.Status.DISCARDED
            upload.content = b""
            upload.finished_at = timezone.now()
            upload.save(update_fields=["status", "content", "finished_at"])
            return upload, None
        preview = IMPORTS[RosterUpload.Kind(upload.kind)](
            school=school, file_name=upload.file_name, data=bytes(upload.content), by=by)
        upload.status = RosterUpload.Status.IMPORTED
        upload.content = b""
        upload.summary = preview.summary()
        upload.finished_at = timezone.now()
        upload.save(update_fields=["status", "content", "summary", "finished_at"])
        return upload, preview
