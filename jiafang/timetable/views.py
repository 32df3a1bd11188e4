"""Timetable pages (issue 3 point 4; R8, R17, R23.2; SECURITY.md B12). Thin: lookups through
the scoping layer (`timetable.selectors`, `visits.permissions`), changes through
`timetable.services`.

Parent pages (no login, no account): `GET /p/<token>/` exchanges the token for a short parent
session (`PARENT_SESSION_SECONDS`, the link id in the session, no user login) and ALWAYS
redirects to the token-free `/p/`, valid or not, so the token never stays in the address bar,
history or a Referer; `/p/` shows the appointment or one neutral page ("链接已失效，请联系老师",
404, the same body for unknown, expired, revoked and closed-visit links). Each request re-checks
the link. The token URL answers with `Referrer-Policy: no-referrer`; the token-free pages keep
the site's `same-origin` (nothing secret in their URL, and a browser sends `Origin: null` on a
form POST from a no-referrer page, which CSRF refuses). The parent has no scope of
their own: the views open `scope(school=[the link's school])` around the link's reads and
writes (the token → school lookup is `timetable.public.parent_link_lookup`).
"""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_scopes import scope

from jiafang.core.errors import form_add_errors, validation_messages
from jiafang.schools import scoping
from jiafang.timetable import ical, public, selectors, services
from jiafang.timetable.forms import ChangeRequestForm, ConfirmForm
from jiafang.visits import permissions
from jiafang.visits.services import StaleVersion

PARENT_SESSION_KEY = "jiafang_parent_link"
PARENT_SESSION_SECONDS = 30 * 60
NEW_LINK_KEY = "jiafang_new_parent_link"
NEW_FEED_KEY = "jiafang_new_calendar_feed"


# --- the parent's side ------------------------------------------------------------------------

def _no_referrer(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "no-referrer"
    return response


def _parent_render(request, template: str, context: dict | None = None, status: int = 200):
    return render(request, template, context or {}, status=status)


def _invalid(request):
    """The one neutral answer for every unusable link (B12: nothing to tell them apart)."""
    request.session.pop(PARENT_SESSION_KEY, None)
    return _parent_render(request, "timetable/parent_invalid.html", status=404)


def _too_many(request):
    return _parent_render(request, "timetable/parent_limited.html", status=429)


def _session_link(request) -> tuple[int, int] | None:
    data = request.session.get(PARENT_SESSION_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("until"), (int, float)) \
            or data["until"] < time.time():
        return None
    try:
        return int(data["link"]), int(data["school"])
    except (KeyError, TypeError, ValueError):
        return None


@login_not_required
@require_GET
def parent_exchange(request, token: str):
    """The link the teacher sent: token → short parent session → redirect to `/p/`."""
    if public.lookups_blocked(request, "parent"):
        return _no_referrer(_too_many(request))
    request.session.pop(PARENT_SESSION_KEY, None)
    found = public.parent_link_lookup(token)
    usable = False
    if found is not None:
        link_id, school_id = found
        with scope(school=[school_id]):
            link = selectors.parent_link(link_id, school_id)
            usable = link is not None and services.parent_link_usable(link)
            if usable:
                services.parent_link_use(link=link)
    if usable:
        request.session.cycle_key()
        request.session[PARENT_SESSION_KEY] = {
            "link": link_id, "school": school_id, "until": time.time() + PARENT_SESSION_SECONDS}
    else:
        public.lookup_failed(request, "parent")
    return _no_referrer(redirect("timetable:parent"))


def _parent_page(request, link, *, confirm_form=None, change_form=None, status=200,
                 stale=False):
    view = selectors.parent_view(link)
    return _parent_render(request, "timetable/parent.html", {
        "p": view, "stale": stale,
        "confirm_form": confirm_form or ConfirmForm(initial={"version": view.version}),
        "change_form": change_form or ChangeRequestForm(),
    }, status=status)


def _with_parent_link(request, handle):
    """Run `handle(link)` inside the scope of the session's link, or answer the neutral page."""
    found = _session_link(request)
    if found is None:
        return _invalid(request)
    link_id, school_id = found
    with scope(school=[school_id]):
        link = selectors.parent_link(link_id, school_id)
        if link is None or not services.parent_link_usable(link):
            return _invalid(request)
        return handle(link)


@login_not_required
@require_GET
def parent_page(request):
    """Only the school's name, the date, time and duration, the teachers' names."""
    return _with_parent_link(request, lambda link: _parent_page(request, link))


@login_not_required
@require_POST
def parent_confirm(request):
    def handle(link):
        form = ConfirmForm(request.POST)
        if not form.is_valid():
            return _parent_page(request, link, status=400)
        try:
            services.parent_link_confirm(link=link, expected_version=form.cleaned_data["version"])
        except StaleVersion:
            link = selectors.parent_link(link.pk, link.school_id)
            return _parent_page(request, link, status=409, stale=True)
        except ValidationError:
            return _invalid(request)
        messages.success(request, _("谢谢，已确认家访时间。"))
        return redirect("timetable:parent")

    return _with_parent_link(request, handle)


@login_not_required
@require_POST
def parent_change(request):
    def handle(link):
        if public.change_requests_blocked(link.pk):
            return _too_many(request)
        form = ChangeRequestForm(request.POST)
        if form.is_valid():
            try:
                services.parent_change_request(link=link, note=form.cleaned_data["note"],
                                               preferred=form.preferred())
            except ValidationError as error:
                form_add_errors(form, error, {"preferred": "preferred_1"})
            else:
                public.change_request_made(link.pk)
                messages.success(request, _("已告诉老师您希望换个时间，老师会再与您联系。"))
                return redirect("timetable:parent")
        return _parent_page(request, link, change_form=form, status=400)

    return _with_parent_link(request, handle)


# --- the teacher's side: parent links ---------------------------------------------------------

@require_http_methods(["GET", "POST"])
def parent_link(request, pk: int):
    """GET: the visit's link (opened how often, until when) and, once, a new link's URL.
    POST: a new link (the previous one stops working)."""
    visit = permissions.get_visit_for_change(request.user, pk)
    error = None
    if request.method == "POST":
        try:
            link, raw = services.parent_link_create(visit=visit, by=request.user)
        except ValidationError as exc:
            error = " ".join(m for msgs in validation_messages(exc).values() for m in msgs)
        else:
            # post/redirect/get: shown once on the next page, then gone (never stored raw)
            request.session[NEW_LINK_KEY] = {
                "visit": visit.pk, "link": link.pk,
                "url": request.build_absolute_uri(reverse("timetable:parent_exchange",
                                                          args=[raw]))}
            return redirect("timetable:parent_link", pk=visit.pk)
    new = request.session.pop(NEW_LINK_KEY, None) if request.method == "GET" else None
    link = selectors.latest_parent_link(visit)
    new_url = new["url"] if new and new.get("visit") == visit.pk and link is not None \
        and new.get("link") == link.pk else None
    return render(request, "timetable/parent_link.html", {
        "visit": visit, "link": link, "new_url": new_url, "error": error,
        "usable": link is not None and services.parent_link_usable(link),
    }, status=400 if error else 200)


@require_POST
def parent_link_revoke(request, pk: int):
    visit = permissions.get_visit_for_change(request.user, pk)
    if services.parent_link_revoke(visit=visit, by=request.user):
        messages.success(request, _("家长链接已作废。"))
    return redirect("timetable:parent_link", pk=visit.pk)


# --- the week calendar ------------------------------------------------------------------------

@require_GET
def week(request):
    """A teacher's visits Monday to Sunday (R8, R17): the user's own, or (principal,
    coordinator) any staff member's of their school."""
    teacher, school_ids = selectors.calendar_teacher(request.user, request.GET.get("teacher"))
    try:
        monday = selectors.parse_week(request.GET.get("week"))
    except ValueError:
        messages.warning(request, _("无法识别的周，已显示本周。"))
        monday = None
    data = selectors.week_for_user(request.user, teacher=teacher, school_ids=school_ids,
                                   monday=monday or selectors.current_monday())
    staff = selectors.staff_choices(request.user)
    own = teacher.pk == request.user.pk
    return render(request, "timetable/week.html", {
        "week": data, "staff": staff, "own": own, "this_week": selectors.week_label(
            selectors.current_monday()),
        "teacher_param": "" if own else str(teacher.pk),
    })


# --- the iCalendar feed -----------------------------------------------------------------------

def _feed_url(request, raw: str) -> str:
    return request.build_absolute_uri(reverse("timetable:feed_ics", args=[raw]))


@require_http_methods(["GET", "POST"])
def feed(request):
    """The user's secret calendar URL: create or replace it (shown once), see when it synced."""
    if request.method == "POST":
        _feed, raw = services.calendar_feed_create(user=request.user)
        request.session[NEW_FEED_KEY] = _feed_url(request, raw)
        messages.success(request, _("已生成新的订阅地址，旧地址已停止工作。"))
        return redirect("timetable:feed")
    return render(request, "timetable/feed.html", {
        "feed": selectors.active_feed(request.user),
        "new_url": request.session.pop(NEW_FEED_KEY, None),
    })


@require_POST
def feed_revoke(request):
    if services.calendar_feed_revoke(user=request.user):
        messages.success(request, _("日历订阅已停止。"))
    return redirect("timetable:feed")


@login_not_required
@require_GET
def feed_ics(request, token: str):
    """The phone calendar's poll: the user's visits from 30 days ago onward. Unknown or revoked
    token → 404. The visits are read inside a scope of the feed owner's schools."""
    if public.lookups_blocked(request, "feed"):
        return HttpResponse(status=429)
    found = public.calendar_feed_lookup(token)
    if found is None:
        public.lookup_failed(request, "feed")
        raise Http404
    user = found.user
    with scope(school=sorted(scoping.access_for(user).school_ids)):
        entries = selectors.feed_entries(user)
    body = ical.feed_calendar(
        entries, name=_("家访日程"),
        visit_url=lambda v: request.build_absolute_uri(reverse("visits:detail", args=[v.pk])))
    services.calendar_feed_touch(feed=found)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="jiafang.ics"'
    return response
