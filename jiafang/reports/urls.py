from django.urls import path

from jiafang.reports import views

app_name = "reports"

urlpatterns = [
    path("campaigns/<int:pk>/coverage/", views.bureau_coverage, name="bureau"),
    path("schools/<int:pk>/coverage/", views.school_coverage, name="school"),
    path("classes/<int:pk>/todo/", views.class_todo, name="todo"),
]
