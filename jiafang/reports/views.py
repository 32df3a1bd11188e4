"""Coverage pages (R3, R4, R5, R17). Thin: lookups through `reports.selectors` (the scoping
layer), figures from `visits.selectors`."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from jiafang.reports import selectors
from jiafang.reports.charts import progress_chart
from jiafang.schools import scoping
from jiafang.visits.selectors import (
    coverage_for_bureau,
    coverage_for_school,
    families_to_visit,
    progress_by_week,
)


@require_GET
def bureau_coverage(request, pk: int):
    """The bureau's coverage of one campaign: totals, per school, the six focus categories."""
    campaign = selectors.get_campaign_for_bureau_coverage(request.user, pk)
    coverage = coverage_for_bureau(request.user, campaign)
    return render(request, "reports/bureau_coverage.html", {
        "campaign": campaign, "coverage": coverage})


@require_GET
def school_coverage(request, pk: int):
    """One school's coverage: totals, grades, classes, categories, teachers, progress."""
    school = selectors.get_school_for_coverage(request.user, pk)
    campaign = selectors.campaign_for_school(request.user, school, request.GET.get("campaign"))
    context = {"school": school, "campaign": campaign,
               "show_bureau_link": bool(scoping.access_for(request.user).bureau_school_ids)}
    if campaign is not None:
        coverage = coverage_for_school(request.user, school, campaign)
        progress = progress_by_week(request.user, school, campaign)
        context.update(coverage=coverage, progress=progress,
                       chart=progress_chart(progress, timezone.localdate()),
                       principals=[t for t in coverage.by_teacher if t.is_principal])
    return render(request, "reports/school_coverage.html", context)


@require_GET
def class_todo(request, pk: int):
    """The head teacher's to-do list: families not yet visited (focus first), declined apart."""
    school_class = scoping.get_class_for_user(request.user, pk)
    campaign = selectors.campaign_for_school(request.user, school_class.school,
                                             request.GET.get("campaign"))
    context = {"school_class": school_class, "campaign": campaign,
               "can_open_school": school_class.school_id
               in scoping.access_for(request.user).full_school_ids}
    if campaign is not None:
        todo = families_to_visit(request.user, school_class, campaign)
        families_total = todo.visited_count + len(todo.pending) + len(todo.declined)
        context.update(todo=todo, families_total=families_total)
    return render(request, "reports/class_todo.html", context)
