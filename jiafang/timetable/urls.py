from django.urls import path

from jiafang.timetable import views

app_name = "timetable"

urlpatterns = [
    # the teacher's side
    path("calendar/", views.week, name="week"),
    path("calendar/feed/", views.feed, name="feed"),
    path("calendar/feed/revoke/", views.feed_revoke, name="feed_revoke"),
    path("calendar/feed/<str:token>.ics", views.feed_ics, name="feed_ics"),
    path("visits/<int:pk>/parent-link/", views.parent_link, name="parent_link"),
    path("visits/<int:pk>/parent-link/revoke/", views.parent_link_revoke,
         name="parent_link_revoke"),
    # the parent's side (no login): the fixed paths before the token
    path("p/", views.parent_page, name="parent"),
    path("p/confirm/", views.parent_confirm, name="parent_confirm"),
    path("p/change/", views.parent_change, name="parent_change"),
    path("p/<str:token>/", views.parent_exchange, name="parent_exchange"),
]
