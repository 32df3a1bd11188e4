from django.urls import path

from jiafang.exports import views

app_name = "exports"

urlpatterns = [
    path("exports/visits/<int:pk>/record.docx", views.visit_record_docx,
         name="visit_record_docx"),
    path("exports/ledger.xlsx", views.ledger, name="ledger"),
    path("exports/log/", views.export_log, name="log"),
]
