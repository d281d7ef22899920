"""Root URLs: the admin back office, the API (versioned, not translated) and the public
site (English at /, Japanese under /ja/)."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path

from core.health import healthz
from projects.sitemaps import SITEMAPS

admin.site.site_header = "Capacity Building Tracker"
admin.site.site_title = "Capacity Building Tracker"
admin.site.index_title = "Back office"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("tracker.api_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
]

urlpatterns += i18n_patterns(
    # Where a partner's liaison officer signs in (staff sign in at /admin/).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("partners/", include("partners.urls")),
    path("", include("projects.urls")),
    prefix_default_language=False,
)

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
