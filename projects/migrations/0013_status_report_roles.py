"""The staff roles' permissions on status reports: Editors may add, change and delete
them, Viewers may view them (as on every other tracked record; projects.roles)."""

from django.db import migrations

from projects.roles import grant_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0012_status_reports"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(*grant_role_permissions("statusreport"))]
