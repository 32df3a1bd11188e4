from django.urls import path

from jiafang.roster import views

app_name = "roster"

urlpatterns = [
    path("<int:school_pk>/", views.upload, name="upload"),
]
