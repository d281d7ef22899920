"""/api/v1/: the apps' API routes, the OpenAPI schema and the interactive docs."""

from django.urls import include, path

urlpatterns = [
    path("", include("partners.api.urls")),
    path("", include("projects.api.urls")),
]
