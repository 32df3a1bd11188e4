"""Entry points without a signed-in user: a raw token → its row, and the rate limit on failed
token lookups (SECURITY.md B12).

The parent has no account and so no django-scopes scope. `parent_link_lookup` is the ONE read
that runs without a scope: it finds which school a token hash belongs to (nothing else, no
school data), so the caller can open `scope(school=[school_id])` for everything after it
(listed in `SCOPE_BYPASS_ALLOWED` of `core/tests/test_security.py`). A calendar feed belongs
to a user, not a school, so its lookup needs no bypass.
"""

from __future__ import annotations

from django.core.cache import cache

from jiafang.accounts.backends import client_ip
from jiafang.accounts.models import hash_token
from jiafang.timetable.models import CalendarFeed, ParentLink

TOKEN_MAX_CHARS = 100
FAILURE_LIMIT = 20  # failed token lookups per client IP ...
FAILURE_WINDOW_SECONDS = 10 * 60  # ... in this window (fixed, from the first failure)
CHANGE_REQUEST_LIMIT = 5  # change requests per link in the same window


def _plausible(raw: str) -> bool:
    return bool(raw) and len(raw) <= TOKEN_MAX_CHARS


def parent_link_lookup(raw: str) -> tuple[int, int] | None:
    """(link id, school id) of the link with this token's hash, or None. Read without a scope:
    see the module docstring."""
    if not _plausible(raw):
        return None
    return (ParentLink.objects.with_scopes_disabled().filter(token_hash=hash_token(raw))
            .values_list("pk", "school_id").first())


def calendar_feed_lookup(raw: str) -> CalendarFeed | None:
    """The active feed of an active user for this token, or None."""
    if not _plausible(raw):
        return None
    return (CalendarFeed.objects.select_related("user")
            .filter(token_hash=hash_token(raw), revoked_at=None, user__is_active=True).first())


# --- rate limits (django cache) ---------------------------------------------------------------

def _key(kind: str, subject: str) -> str:
    return f"jiafang:timetable:{kind}:{subject}"


def _hit(key: str) -> None:
    if not cache.add(key, 1, FAILURE_WINDOW_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired in between
            cache.add(key, 1, FAILURE_WINDOW_SECONDS)


def lookups_blocked(request, kind: str) -> bool:
    """Whether this client IP failed `FAILURE_LIMIT` token lookups of this kind in the window
    (then every lookup from it is refused until the window ends, valid tokens included)."""
    return cache.get(_key(kind, client_ip(request)), 0) >= FAILURE_LIMIT


def lookup_failed(request, kind: str) -> None:
    _hit(_key(kind, client_ip(request)))


def change_requests_blocked(link_id: int) -> bool:
    return cache.get(_key("change", str(link_id)), 0) >= CHANGE_REQUEST_LIMIT


def change_request_made(link_id: int) -> None:
    _hit(_key("change", str(link_id)))
