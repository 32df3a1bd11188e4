"""The demo district: the guard, existence check, reset, and the table of demo logins.

Demo data may exist only where `settings.DEBUG` or `settings.DEMO_MODE` is on; production has
no account or password by default. What the demo created is recognisable without a table of
its own: the two bureaus with DEMO- codes, the schools under them, and the users whose e-mail
ends in `@demo.jiafang.invalid`.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models import ProtectedError, Q, RestrictedError
from django_scopes import scopes_disabled

from jiafang.accounts.models import Role, User
from jiafang.campaigns.models import Campaign
from jiafang.demo.generator import (
    CITY_CODE,
    DEMO_EMAIL_DOMAIN,
    DEMO_PASSWORD,
    DEMO_SCHOOL_CODE_PREFIX,
    DEMO_USERNAME_PREFIX,
    DISTRICT_CODE,
    FIXED_PHONE_BASE,
    STAFF_PHONE_BASE,
    fixed_usernames,
)
from jiafang.schools.models import Bureau, School

DEMO_BUREAU_CODES = [DISTRICT_CODE, CITY_CODE]  # children before parents


class DemoNotAllowed(Exception):
    pass


def demo_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "DEMO_MODE", False))


def demo_ensure_allowed() -> None:
    if not demo_allowed():
        raise DemoNotAllowed(
            "Demo data is refused here: these are production settings (DEBUG and DEMO_MODE are "
            "off). Set JIAFANG_DEMO=1 (or DEBUG=1) on a development or demo machine only."
        )


def demo_exists() -> bool:
    return Bureau.objects.filter(code=DISTRICT_CODE).exists()


def schools_exist() -> bool:
    with scopes_disabled():
        return School.objects.exists()


def demo_conflicts() -> list[str]:
    """Rows that would collide with a new demo (left-overs, or real data with demo names)."""
    found = []
    with scopes_disabled():
        if Bureau.objects.filter(code__in=DEMO_BUREAU_CODES).exists():
            found.append("a bureau with a DEMO- code")
        if School.objects.filter(code__startswith=DEMO_SCHOOL_CODE_PREFIX).exists():
            found.append("schools with DEMO- codes")
    users = User.objects.filter(
        Q(username__in=fixed_usernames()) | Q(username__startswith=DEMO_USERNAME_PREFIX)
        | Q(phone__startswith=str(FIXED_PHONE_BASE)[:6])  # 199000…: the demo logins
        | Q(phone__startswith=str(STAFF_PHONE_BASE)[:6])  # 199001…: other demo staff
    )
    clash = list(users.values_list("username", flat=True)[:5])
    if clash:
        found.append("users named like demo users or with their phone numbers: "
                     + ", ".join(clash))
    return found


# --- reset ---------------------------------------------------------------------------------------

def _school_data_models() -> list[tuple[type[models.Model], str]]:
    """Every model with a foreign key to School (the tenant key), dependants first."""
    found: list[tuple[type[models.Model], str]] = []
    for model in apps.get_models():
        if model is School:
            continue
        for f in model._meta.concrete_fields:
            if f.many_to_one and f.related_model is School:
                found.append((model, f.name))
                break
    candidates = {m for m, _ in found}

    def depends_on(model: type[models.Model]) -> set[type[models.Model]]:
        return {f.related_model for f in model._meta.concrete_fields
                if f.many_to_one and f.related_model in candidates and f.related_model is not model}

    # Kahn: a model goes after every model that points to it.
    pointed_by = {m: {o for o in candidates if m in depends_on(o)} for m in candidates}
    ordered: list[type[models.Model]] = []
    remaining = set(candidates)
    while remaining:
        ready = sorted((m for m in remaining if not (pointed_by[m] & remaining)),
                       key=lambda m: m._meta.label)
        if not ready:  # a cycle: let the retry loop below sort it out
            ready = sorted(remaining, key=lambda m: m._meta.label)
        ordered.extend(ready)
        remaining -= set(ready)
    field_of = dict(found)
    return [(m, field_of[m]) for m in ordered]


def demo_reset(*, log: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Delete everything the demo created, in an order the PROTECT foreign keys accept.

    Rows of other apps that point at a demo school go too (every row of school data carries its
    school), so a demo can be reset after people have clicked around in it.
    """
    deleted: dict[str, int] = {}
    started = time.perf_counter()
    with scopes_disabled(), transaction.atomic():
        bureau_ids = list(Bureau.objects.filter(code__in=DEMO_BUREAU_CODES)
                          .values_list("pk", flat=True))
        school_ids = list(School.objects.filter(
            Q(bureau_id__in=bureau_ids) | Q(code__startswith=DEMO_SCHOOL_CODE_PREFIX))
            .values_list("pk", flat=True))
        pending = _school_data_models()
        for _ in range(len(pending) + 1):
            blocked = []
            for model, fk in pending:
                queryset = model._base_manager.filter(**{f"{fk}__in": school_ids})
                try:
                    with transaction.atomic():
                        _, per_model = queryset.delete()
                except (ProtectedError, RestrictedError):
                    blocked.append((model, fk))
                    continue
                for label, n in per_model.items():
                    deleted[label] = deleted.get(label, 0) + n
            pending = blocked
            if not pending:
                break
        if pending:
            names = ", ".join(m._meta.label for m, _ in pending)
            raise RuntimeError(f"could not delete demo rows of: {names}")
        querysets = [
            Role.objects.filter(Q(school_id__in=school_ids) | Q(bureau_id__in=bureau_ids)),
            User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}"),
            Campaign.objects.filter(bureau_id__in=bureau_ids),
            School.objects.filter(pk__in=school_ids),
            *(Bureau.objects.filter(code=code) for code in DEMO_BUREAU_CODES),
        ]
        for queryset in querysets:
            for label, n in queryset.delete()[1].items():
                deleted[label] = deleted.get(label, 0) + n
    log(f"demo data deleted in {time.perf_counter() - started:.1f} s")
    return deleted


# --- the table of demo logins ---------------------------------------------------------------------

@dataclass
class DemoLogin:
    role: str
    username: str
    phone: str
    sees: str


def _sees(role: Role, school_counts: dict[int, int], subject_classes: dict[int, int]) -> str:
    K = Role.Kind
    kind = role.kind
    if kind == K.BUREAU_OFFICER:
        return f"{role.bureau.name}：{school_counts.get(role.bureau_id, 0)} 所学校概况，联系方式隐藏"
    school = role.school.name if role.school else ""
    if kind == K.PRINCIPAL:
        return f"{school}：全校班级、学生和家长联系方式"
    if kind == K.COORDINATOR:
        return f"{school}：全校学生和家长联系方式，导入花名册"
    if kind == K.HEAD_TEACHER:
        return f"{school} {role.school_class.name}：本班学生、家长联系方式、关注类别"
    if kind == K.SUBJECT_TEACHER:
        n = subject_classes.get(role.user_id, 0)
        return f"{school}：任教 {n} 个班（{role.subject}），联系方式隐藏"
    if kind == K.MENTAL_HEALTH:
        return f"{school}：全校重点关注学生，联系方式隐藏"
    if kind == K.SAFETY_OFFICER:
        return f"{school}：全校概况数字，不看学生档案"
    return school


def demo_logins() -> list[DemoLogin]:
    """The memorable demo logins (empty if there is no demo)."""
    with scopes_disabled():
        if not demo_exists():
            return []
        order = {u: i for i, u in enumerate(fixed_usernames())}
        users = {u.pk: u for u in User.objects.filter(
            username__in=order, email__endswith=f"@{DEMO_EMAIL_DOMAIN}")}
        roles = list(Role.objects.filter(user_id__in=users)
                     .select_related("bureau", "school", "school_class").order_by("pk"))
        first_role: dict[int, Role] = {}
        subject_classes: dict[int, int] = {}
        for role in roles:
            first_role.setdefault(role.user_id, role)
            if role.kind == Role.Kind.SUBJECT_TEACHER:
                subject_classes[role.user_id] = subject_classes.get(role.user_id, 0) + 1
        district_schools = School.objects.filter(bureau__code=DISTRICT_CODE).count()
        city_schools = School.objects.filter(
            Q(bureau__code=CITY_CODE) | Q(bureau__parent__code=CITY_CODE)).count()
        school_counts = {}
        for role in roles:
            if role.kind == Role.Kind.BUREAU_OFFICER:
                school_counts[role.bureau_id] = (city_schools if role.bureau.code == CITY_CODE
                                                 else district_schools)
        rows = []
        for user in sorted(users.values(), key=lambda u: order[u.username]):
            role = first_role.get(user.pk)
            if role is None:
                continue
            rows.append(DemoLogin(role.get_kind_display(), user.username, user.phone or "",
                                  _sees(role, school_counts, subject_classes)))
        return rows


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_logins_table(rows: list[DemoLogin]) -> str:
    """A fixed-width table (CJK characters count double) of the demo logins."""
    if not rows:
        return ""
    header = DemoLogin("角色", "用户名", "手机号", "可以看到")
    table = [header, *rows]
    widths = [max(_width(getattr(r, f)) for r in table) for f in ("role", "username", "phone")]
    lines = [f"演示账号（仅演示环境）：以下账号的密码都是 {DEMO_PASSWORD}，用户名或手机号均可登录。"]
    for i, r in enumerate(table):
        cells = [_pad(r.role, widths[0]), _pad(r.username, widths[1]), _pad(r.phone, widths[2]),
                 r.sees]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in [*widths, _width(header.sees) + 8]))
    return "\n".join(lines)
