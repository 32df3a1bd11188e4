from django.urls import path, re_path

from jiafang.visits import views

app_name = "visits"

urlpatterns = [
    path("new/", views.visit_new, name="new"),
    path("<int:pk>/", views.visit_detail, name="detail"),
    re_path(r"^(?P<pk>[0-9]+)/(?P<action>confirm|reschedule|decline|cancel)/$",
            views.visit_action, name="action"),
    path("<int:pk>/record/", views.visit_record, name="record"),
    path("<int:pk>/record/amend/", views.visit_record_amend, name="record_amend"),
    path("<int:pk>/record/draft/", views.visit_record_draft, name="record_draft"),
    path("<int:pk>/prepare/", views.visit_prepare, name="prepare"),
]
