from django.urls import path

from . import converters as _converters  # noqa: F401 - registers <initiative_code:…>
from . import views, views_roadmap

app_name = "initiatives"

urlpatterns = [
    path("", views.initiative_list, name="list"),
    path("new/", views.initiative_create, name="create"),
    path("approvals/", views.approvals, name="approvals"),
    path("roadmap/", views_roadmap.roadmap, name="roadmap"),
    path("assess/", views.lane_assessment_preview, name="assess"),
    path("<initiative_code:code>/", views.initiative_detail, name="detail"),
    path("<initiative_code:code>/edit/", views.initiative_edit, name="edit"),
    path("<initiative_code:code>/health/", views.initiative_health, name="health"),
    path("<initiative_code:code>/propose/", views.change_proposal_create, name="propose"),
    path("<initiative_code:code>/changes/<int:pk>/<str:decision>/", views.change_proposal_decide, name="change_decide"),
    path("<initiative_code:code>/<str:action>/", views.initiative_transition, name="transition"),
]
