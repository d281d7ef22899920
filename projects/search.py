"""Full-text search over projects.

Each project keeps a plain-text search document (title, description, and the English and
Japanese names of its partners and fields). On PostgreSQL it is searched with full-text
search through a GIN expression index (migration 0004); on SQLite every word of the
query must occur in the document (case-insensitive), which is slower but finds the same
records for ordinary queries.
"""

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connections
from django.db.models import Q

SEARCH_CONFIG = "english"


def project_search_document(project) -> str:
    parts = [project.title, project.description]
    if project.pk:
        for partner in project.partners.all():
            parts += [partner.name, partner.name_ja]
        for field in project.fields.all():
            parts += [field.name, field.name_ja]
    return " ".join(p for p in parts if p)


def project_search_vector():
    """The indexed expression; the query must use exactly this for the index to apply."""
    return SearchVector("search_document", config=SEARCH_CONFIG)


def project_refresh_search(*, projects) -> None:
    """Rebuild the search document of the given projects (after their partners, fields
    or the names of those changed). Writes the column only, so no version bump."""
    from projects.models import Project

    for project in projects.prefetch_related("partners", "fields"):
        Project.objects.filter(pk=project.pk).update(search_document=project_search_document(project))


def project_search(queryset, query: str):
    query = query.strip()
    if not query:
        return queryset
    if connections[queryset.db].vendor == "postgresql":
        return queryset.annotate(_search=project_search_vector()).filter(
            _search=SearchQuery(query, config=SEARCH_CONFIG, search_type="websearch")
        )
    condition = Q()
    for word in query.split():
        condition &= Q(search_document__icontains=word.strip('"'))
    return queryset.filter(condition)
