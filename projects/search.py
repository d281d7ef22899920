"""Full-text search over projects, matching only what the reader may see.

Each project keeps a plain-text search document: its title and description, the English
and Japanese names of its fields, and those of its partners that everyone may see. On
PostgreSQL it is searched with full-text search through a GIN expression index
(migration 0003); on SQLite every word of the query must occur in it, ignoring case
(core.db.TextSearch).

A reader who may see more partners than the public (staff) also matches on the names of
those partners, added at query time and only for the projects linked to them. So a
search cannot confirm, by the projects it finds, the name of a partner its reader may
not see.
"""

from django.db.models import OuterRef

from core.db import TextSearch
from core.filtersets import search_terms
from partners.models import Partner

SEARCH_CONFIG = "english"
_SEARCH = TextSearch("search_document", config=SEARCH_CONFIG)


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
    return _SEARCH.vector()


def project_refresh_search(*, projects) -> None:
    """Rebuild the search document of the given projects (after their partners, fields
    or the names or visibility of those changed). Writes the column only, so no version bump."""
    for project in projects.prefetch_related("partners", "fields"):
        projects.model.objects.using(projects.db).filter(pk=project.pk).update(
            search_document=project_search_document(project)
        )


def project_search(queryset, query: str, *, user=None):
    """The projects of `queryset` that match `query` for `user` (None: an anonymous
    reader): on the search documents, and on the names of the partners the user may see
    that the public may not."""
    query = query.strip()
    if not query:
        return queryset
    beyond_public = Partner.objects.beyond_public(user)
    linked = None
    if beyond_public is not None:
        linked = queryset.model.partners.through.objects.filter(project_id=OuterRef("pk"), partner__in=beyond_public)
    return _SEARCH.filter(
        queryset, query, words=search_terms(query), linked=linked, linked_text=("partner__name", "partner__name_ja")
    )
