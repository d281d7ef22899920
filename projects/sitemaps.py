"""/sitemap.xml: the public pages in both languages, published records only."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from partners.models import Partner
from projects.models import Field, Program, Project


class _TrackerSitemap(Sitemap):
    i18n = True
    alternates = True
    x_default = True


class PageSitemap(_TrackerSitemap):
    priority = 0.8

    def items(self):
        return [
            "projects:home",
            "projects:project-list",
            "partners:partner-list",
            "projects:matrix",
            "projects:timeline",
        ]

    def location(self, item):
        return reverse(item)


class ProjectSitemap(_TrackerSitemap):
    def items(self):
        return Project.objects.public().order_by("slug")

    def lastmod(self, project):
        return project.updated


class PartnerSitemap(_TrackerSitemap):
    def items(self):
        return Partner.objects.public().order_by("slug")

    def lastmod(self, partner):
        return partner.updated


class FieldSitemap(_TrackerSitemap):
    def items(self):
        return Field.objects.order_by("slug")


class ProgramSitemap(_TrackerSitemap):
    def items(self):
        return Program.objects.order_by("slug")


SITEMAPS = {
    "pages": PageSitemap,
    "projects": ProjectSitemap,
    "partners": PartnerSitemap,
    "fields": FieldSitemap,
    "programs": ProgramSitemap,
}
