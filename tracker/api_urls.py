"""/api/v1/: the apps' API routes, the OpenAPI schema and the interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", include("partners.api.urls")),
    path("", include("projects.api.urls")),
    path("schema/", SpectacularAPIView.as_view(api_version="v1"), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
