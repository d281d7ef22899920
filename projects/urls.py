from django.urls import path

from projects import views

app_name = "projects"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("projects/", views.ProjectListView.as_view(), name="project-list"),
    path("projects/<slug:slug>/", views.ProjectDetailView.as_view(), name="project-detail"),
    path("fields/<slug:slug>/", views.FieldDetailView.as_view(), name="field-detail"),
    path("programs/<slug:slug>/", views.ProgramDetailView.as_view(), name="program-detail"),
    path("matrix/", views.MatrixView.as_view(), name="matrix"),
    path("timeline/", views.TimelineView.as_view(), name="timeline"),
]
