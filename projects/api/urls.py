from django.urls import path
from rest_framework.routers import DefaultRouter

from projects.api import views

app_name = "projects-api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("fields", views.FieldViewSet, basename="field")
router.register("programs", views.ProgramViewSet, basename="program")
router.register("projects", views.ProjectViewSet, basename="project")
router.register("activities", views.ActivityViewSet, basename="activity")
router.register("status-reports", views.StatusReportViewSet, basename="statusreport")
router.register("program-events", views.ProgramEventViewSet, basename="programevent")
router.register("sources", views.SourceViewSet, basename="source")

urlpatterns = [
    path("reports/counts/", views.CountsReportView.as_view(), name="report-counts"),
    path("reports/matrix/", views.MatrixReportView.as_view(), name="report-matrix"),
    path("reports/timeline/", views.TimelineReportView.as_view(), name="report-timeline"),
    path("iati/activities.xml", views.IATIActivitiesView.as_view(), name="iati-activities"),
    *router.urls,
]
