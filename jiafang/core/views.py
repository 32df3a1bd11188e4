"""Home page per role, and the health check."""

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from jiafang.accounts.models import Role
from jiafang.schools.scoping import access_for


def home_destinations(user) -> list[tuple[str, str, str]]:
    """(role label, place, url) for each of the user's roles, most senior first."""
    roles = (Role.objects.filter(user=user)
             .select_related("bureau", "school", "school_class"))
    order = list(Role.Kind.values)
    destinations = []
    seen = set()
    for role in sorted(roles, key=lambda r: (order.index(r.kind), r.pk)):
        kind = Role.Kind(role.kind)
        if kind == Role.Kind.BUREAU_OFFICER:
            url, place = reverse("schools:list"), role.bureau.name
        elif kind in (Role.Kind.HEAD_TEACHER, Role.Kind.SUBJECT_TEACHER):
            url = reverse("schools:class", args=[role.school_class_id])
            place = f"{role.school.name} {role.school_class.name}"
        elif kind == Role.Kind.MENTAL_HEALTH:
            url, place = reverse("schools:focus", args=[role.school_id]), role.school.name
        else:
            url, place = reverse("schools:detail", args=[role.school_id]), role.school.name
        if url not in seen:
            seen.add(url)
            destinations.append((kind.label, place, url))
    return destinations


@require_GET
def home(request):
    """One destination: go straight there. Several roles: a page to choose. None: say so."""
    destinations = home_destinations(request.user)
    if len(destinations) == 1:
        return redirect(destinations[0][2])
    return render(request, "core/home.html", {"destinations": destinations,
                                              "access": access_for(request.user)})


@login_not_required
@require_GET
def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
