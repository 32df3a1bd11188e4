"""State changes of accounts: tokens, passwords, roles. One transaction each."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jiafang.accounts.models import AccessToken, Role, User, hash_token

TOKEN_PREFIX = "jf_"


@transaction.atomic
def token_create(*, user: User, name: str) -> tuple[AccessToken, str]:
    """Create a personal access token; the raw value is returned once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        user=user, name=name.strip()[:60] or "API", prefix=raw[:10], key_hash=hash_token(raw)
    )
    return token, raw


@transaction.atomic
def token_revoke(*, user: User, token_id: int) -> AccessToken:
    token = AccessToken.objects.select_for_update().get(pk=token_id, user=user)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(raw: str) -> AccessToken | None:
    """The active token for this raw value, its user active too; records last use (per minute)."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (AccessToken.objects.select_related("user")
             .filter(key_hash=hash_token(raw), revoked_at=None, user__is_active=True).first())
    if token is None or not token_user_allowed(token.user):
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_user_allowed(user: User) -> bool:
    """Tokens follow the login rules: demo accounts only in demo mode."""
    from jiafang.accounts.backends import is_demo_account

    return not is_demo_account(user) or settings.DEBUG or settings.DEMO_MODE


@transaction.atomic
def user_set_password(*, user: User, password: str) -> None:
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])


def password_expired(user: User) -> bool:
    """等保 rotation: only when JIAFANG_PASSWORD_MAX_AGE_DAYS > 0 (off by default)."""
    max_age = settings.PASSWORD_MAX_AGE_DAYS
    if not max_age:
        return False
    changed = user.password_changed_at or user.date_joined
    return timezone.now() - changed > timedelta(days=max_age)


@transaction.atomic
def role_grant(*, user: User, kind: str, school=None, school_class=None, bureau=None,
               subject: str = "") -> Role:
    """Give a role, idempotently. A class's head teacher role moves to the new person."""
    if kind == Role.Kind.HEAD_TEACHER:
        Role.objects.filter(kind=kind, school_class=school_class).exclude(user=user).delete()
    if school_class is not None:
        school = school_class.school
    role, created = Role.objects.get_or_create(
        user=user, kind=kind, bureau=bureau, school=school, school_class=school_class,
        defaults={"subject": subject},
    )
    if not created and subject and role.subject != subject:
        role.subject = subject
        role.save(update_fields=["subject"])
    return role
