from django.urls import path

from jiafang.schools import views

app_name = "schools"

urlpatterns = [
    path("schools/", views.school_list, name="list"),
    path("schools/<int:pk>/", views.school_detail, name="detail"),
    path("schools/<int:pk>/focus/", views.school_focus, name="focus"),
    path("classes/<int:pk>/", views.class_detail, name="class"),
    path("students/<int:pk>/", views.student_detail, name="student"),
    path("students/<int:pk>/focus/", views.student_focus_set, name="student_focus_set"),
    path("students/<int:pk>/focus/<int:flag_pk>/clear/", views.student_focus_clear,
         name="student_focus_clear"),
]
