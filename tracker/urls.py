"""Root URLs: the admin back office (the API and public pages join here)."""

from django.contrib import admin
from django.urls import path

admin.site.site_header = "Capacity Building Tracker"
admin.site.site_title = "Capacity Building Tracker"
admin.site.index_title = "Back office"

urlpatterns = [
    path("admin/", admin.site.urls),
]
