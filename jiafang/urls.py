from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from jiafang.api.api import api
from jiafang.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("health/", core_views.health, name="health"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("accounts/", include("jiafang.accounts.urls")),
    path("roster/", include("jiafang.roster.urls")),
    path("campaigns/", include("jiafang.campaigns.urls")),
    path("visits/", include("jiafang.visits.urls")),
    path("api/v1/", api.urls),
    path("", include("jiafang.schools.urls")),
    path("", include("jiafang.reports.urls")),
    path("", include("jiafang.taskmap.urls")),
    path("", include("jiafang.timetable.urls")),
    path("", include("jiafang.exports.urls")),
]
