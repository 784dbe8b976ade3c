from django.urls import path

from . import views

app_name = "initiatives"

urlpatterns = [
    path("", views.initiative_list, name="list"),
    path("new/", views.initiative_create, name="create"),
    path("approvals/", views.approvals, name="approvals"),
    path("assess/", views.lane_assessment_preview, name="assess"),
    path("<str:code>/", views.initiative_detail, name="detail"),
    path("<str:code>/edit/", views.initiative_edit, name="edit"),
    path("<str:code>/health/", views.initiative_health, name="health"),
    path("<str:code>/propose/", views.change_proposal_create, name="propose"),
    path("<str:code>/changes/<int:pk>/<str:decision>/", views.change_proposal_decide, name="change_decide"),
    path("<str:code>/<str:action>/", views.initiative_transition, name="transition"),
]
