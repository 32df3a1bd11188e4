from django.urls import path

from jiafang.roster import views

app_name = "roster"

urlpatterns = [
    path("<int:school_pk>/", views.upload, name="upload"),
    path("<int:school_pk>/staff/", views.upload, {"kind": "staff"}, name="upload_staff"),
    path("<int:school_pk>/template/<slug:kind>.xlsx", views.template, name="template"),
    path("<int:school_pk>/uploads/<int:upload_pk>/", views.preview, name="preview"),
    path("<int:school_pk>/uploads/<int:upload_pk>/confirm/", views.confirm, name="confirm"),
    path("<int:school_pk>/uploads/<int:upload_pk>/discard/", views.discard, name="discard"),
    path("<int:school_pk>/uploads/<int:upload_pk>/result/", views.result, name="result"),
]
