from django.urls import path

from jiafang.taskmap import views

app_name = "taskmap"

urlpatterns = [
    path("schools/<int:pk>/taskmap/", views.school_map, name="school"),
    path("schools/<int:pk>/taskmap/draft/", views.draft, name="draft"),
    path("schools/<int:pk>/taskmap/reassign/", views.reassign, name="reassign"),
    path("schools/<int:pk>/taskmap/loads/", views.load_set, name="load"),
    path("taskmap/mine/", views.mine, name="mine"),
]
