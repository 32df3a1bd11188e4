"""Bearer tokens for the API; absolute session lifetime; forced password rotation (if on)."""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from jiafang.accounts.services import password_expired, token_authenticate


class BearerTokenMiddleware:
    """`Authorization: Bearer jf_…` on /api/ authenticates the request as the token's user.

    It runs before the scope middleware so an API request is scoped exactly like a page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.auth_token = None
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if request.path_info.startswith("/api/") and header[:7].lower() == "bearer ":
            token = token_authenticate(header[7:].strip())
            if token is not None:
                request.user = token.user
                request.auth_token = token
                request._dont_enforce_csrf_checks = True  # no cookie involved
            else:
                from django.contrib.auth.models import AnonymousUser

                request.user = AnonymousUser()
        return self.get_response(request)


def _signed_out(request):
    """The API answers 401 in JSON; pages go back to the login page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "登录已过期，请重新登录。"}, status=401)
    return redirect(settings.LOGIN_URL)


class SessionLifetimeMiddleware:
    """Ends a session after 30 min without a request, and 12 h after login whatever the
    activity (NIST SP 800-63B AAL2). The last-seen time is refreshed at most once a minute."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and request.auth_token is None:
            session = request.session
            now = time.time()
            started = session.get("login_at")
            seen = session.get("seen_at")
            if (started is not None and now - started > settings.SESSION_ABSOLUTE_SECONDS) or (
                    seen is not None and now - seen > settings.SESSION_IDLE_SECONDS):
                logout(request)
                return _signed_out(request)
            if started is None:
                session["login_at"] = now
            if seen is None or now - seen > settings.SESSION_TOUCH_SECONDS:
                session["seen_at"] = now
            if password_expired(user):
                allowed = {reverse("accounts:password_change"), reverse("accounts:logout")}
                if request.path_info.startswith("/api/"):
                    return JsonResponse({"detail": "请先修改密码。"}, status=401)
                if request.path_info not in allowed and not request.path_info.startswith("/static/"):
                    return redirect("accounts:password_change")
        return self.get_response(request)
