"""Login by username or phone number; the client IP as the trusted proxy reports it."""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from jiafang.accounts.models import User
from jiafang.schools.text import squash


class PhoneOrUsernameBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or not password:
            return None
        login = squash(username)
        user = User.objects.filter(Q(username__iexact=login) | Q(phone=login)).first()
        if user is None:
            # Same work for unknown users as for known ones (C8: no timing oracle).
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def user_can_authenticate(self, user) -> bool:
        """Demo accounts (published password) can never log in outside demo mode, even if a
        demo database is promoted to production by mistake."""
        if is_demo_account(user) and not (settings.DEBUG or settings.DEMO_MODE):
            return False
        return super().user_can_authenticate(user)


DEMO_EMAIL_DOMAIN = "demo.jiafang.invalid"


def is_demo_account(user) -> bool:
    return (user.email or "").endswith(f"@{DEMO_EMAIL_DOMAIN}")


def client_ip(request) -> str:
    """REMOTE_ADDR, or the address the N trusted proxies in front of us saw (JIAFANG_PROXY_COUNT)."""
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                     if p.strip()]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR", "")
