"""The span rule's triggers (projects.db_rules) and, on PostgreSQL, the link ids'
(projects.facets), created here and dropped when this migration is unapplied. Until now
they were created after every migrate: on a database that has them this changes nothing.
(An SQLite database that older code left before 0007 has them too, and 0007's rebuild of
projects_project fails on them: migrate it to 0008 with that code first.)"""

from django.db import migrations

from projects.db_rules import span_rule_create, span_rule_drop
from projects.facets import facets_create_before_roles, facets_drop


class Migration(migrations.Migration):

    dependencies = [
        ("projects", "0008_search_documents_public_partners"),
    ]

    operations = [
        migrations.RunPython(span_rule_create, span_rule_drop),
        migrations.RunPython(facets_create_before_roles, facets_drop),
    ]
