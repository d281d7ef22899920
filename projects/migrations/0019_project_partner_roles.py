"""The staff roles' permissions on a project's partner links (ProjectPartner, edited in the
project page's inline since partners have roles): Editors may add, change and delete
them, Viewers may view them (projects.roles)."""

from django.db import migrations

from projects.roles import grant_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0018_partner_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(*grant_role_permissions("projectpartner"))]
