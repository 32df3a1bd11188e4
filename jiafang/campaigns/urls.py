from django.urls import path

from jiafang.campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/fields/", views.field_add, name="field_add"),
    path("<int:pk>/fields/<int:field_pk>/", views.field_edit, name="field_edit"),
    path("<int:pk>/fields/<int:field_pk>/move/", views.field_move, name="field_move"),
    path("<int:pk>/fields/<int:field_pk>/remove/", views.field_remove, name="field_remove"),
]
