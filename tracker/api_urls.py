"""/api/v1/: the apps' API routes, the OpenAPI schema and the interactive docs."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.api.exceptions import api_not_found

urlpatterns = [
    path("", include("partners.api.urls")),
    path("", include("projects.api.urls")),
    path("schema/", SpectacularAPIView.as_view(api_version="v1"), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, not inline, so the docs
    # work under the site's Content-Security-Policy (core/security.py).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^[\s\S]*$", api_not_found),
]
