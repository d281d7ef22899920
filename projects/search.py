"""Full-text search over projects, matching only what the reader may see.

Each project keeps a plain-text search document: its title and description, the English
and Japanese names of its fields, and those of its partners that everyone may see. On
PostgreSQL it is searched with full-text search through a GIN expression index
(migration 0003); on SQLite every word of the query must occur in it (case-insensitive).

A reader who may see more partners than the public (staff) also matches on the names of
those partners, added at query time and only for the projects linked to them. So a
search cannot confirm, by the projects it finds, the name of a partner its reader may
not see.
"""

from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connections
from django.db.models import Exists, OuterRef, Q, Subquery, TextField, Value
from django.db.models.functions import Coalesce, Concat

from core.filtersets import search_terms
from partners.models import Partner

SEARCH_CONFIG = "english"


def project_search_document(project) -> str:
    parts = [project.title, project.description]
    if project.pk:
        for partner in project.partners.all():
            if partner.is_public:
                parts += [partner.name, partner.name_ja]
        for field in project.fields.all():
            parts += [field.name, field.name_ja]
    return " ".join(p for p in parts if p)


def project_search_vector():
    """The indexed expression; the query must use exactly this for the index to apply."""
    return SearchVector("search_document", config=SEARCH_CONFIG)


def project_refresh_search(*, projects) -> None:
    """Rebuild the search document of the given projects (after their partners, fields
    or the names or visibility of those changed). Writes the column only, so no version bump."""
    for project in projects.prefetch_related("partners", "fields"):
        projects.model.objects.filter(pk=project.pk).update(search_document=project_search_document(project))


def project_search(queryset, query: str, *, user=None):
    """The projects of `queryset` that match `query` for `user` (None: an anonymous
    reader): on the search documents, and on the names of the partners the user may see
    that the public may not."""
    query = query.strip()
    if not query:
        return queryset
    Project = queryset.model
    beyond_public = Partner.objects.beyond_public(user)
    links = Project.partners.through.objects.filter(project_id=OuterRef("pk"))
    if connections[queryset.db].vendor == "postgresql":
        search = SearchQuery(query, config=SEARCH_CONFIG, search_type="websearch")
        if beyond_public is None:
            return queryset.annotate(_search=project_search_vector()).filter(_search=search)
        indexed = Project.objects.annotate(_search=project_search_vector()).filter(_search=search)
        # The projects linked to partners only this reader sees, searched with those
        # partners' names added to their documents; the others through the index.
        names = (
            links.filter(partner__in=beyond_public)
            .values("project_id")
            .annotate(
                names=StringAgg(
                    Concat("partner__name", Value(" "), "partner__name_ja", output_field=TextField()), delimiter=" "
                )
            )
            .values("names")
        )
        extended = Project.objects.filter(Exists(links.filter(partner__in=beyond_public))).annotate(
            _search=project_search_vector()
            + SearchVector(Coalesce(Subquery(names), Value(""), output_field=TextField()), config=SEARCH_CONFIG)
        )
        return queryset.filter(Q(pk__in=indexed.values("pk")) | Q(pk__in=extended.filter(_search=search).values("pk")))
    condition = Q()
    for word in search_terms(query):
        matches = Q(search_document__icontains=word)
        if beyond_public is not None:
            named = beyond_public.filter(Q(name__icontains=word) | Q(name_ja__icontains=word))
            matches |= Exists(links.filter(partner__in=named))
        condition &= matches
    return queryset.filter(condition)
