"""A project's partners gain a role (projects.models.ProjectPartner): the link table
Django created for the plain many-to-many becomes the through model, with its rows, and
every existing link reads "recipient", as the tracker counted it until now. The links'
history table is renamed for the new model, its entries kept (their role: recipient).
On PostgreSQL the link-id trigger is re-created so that `partner_ids` holds the counted
roles only (not venues), and every project's ids are computed again."""

import django.db.models.deletion
from django.db import migrations, models

from projects.facets import facets_create, facets_create_before_roles, facets_fill

ROLE_CHOICES = [
    ("recipient", "Recipient"),
    ("host", "Host"),
    ("co_host", "Co-host"),
    ("co_chair", "Co-chair"),
    ("participant", "Participant"),
    ("venue", "Venue"),
]
ROLE_HELP = "Venue: only the country where it took place (not counted as a partner by default)."


def _role():
    return models.CharField(
        choices=ROLE_CHOICES,
        db_default="recipient",
        default="recipient",
        help_text=ROLE_HELP,
        max_length=20,
        verbose_name="role",
    )


def _create_and_fill(apps, schema_editor):
    facets_create(apps, schema_editor)
    facets_fill(apps, schema_editor)


def _restore_and_fill(apps, schema_editor):
    facets_create_before_roles(apps, schema_editor)
    facets_fill(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ("partners", "0001_initial"),
        ("projects", "0017_program_event_roles"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ProjectPartner",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("partner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                      to="partners.partner", verbose_name="partner")),
                        ("project", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                      to="projects.project", verbose_name="project")),
                    ],
                    options={
                        "verbose_name": "project partner",
                        "verbose_name_plural": "project partners",
                        "db_table": "projects_project_partners",
                        "unique_together": {("project", "partner")},
                    },
                ),
                migrations.AlterField(
                    model_name="project",
                    name="partners",
                    field=models.ManyToManyField(related_name="projects", through="projects.ProjectPartner",
                                                 to="partners.partner", verbose_name="partners"),
                ),
            ],
            database_operations=[],
        ),
        migrations.RenameModel("HistoricalProject_partners", "HistoricalProjectPartner"),
        migrations.AlterModelOptions(name="historicalprojectpartner", options={"verbose_name": "HistoricalProjectPartner"}),
        migrations.AlterField(
            model_name="historicalprojectpartner",
            name="partner",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                    on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                                    to="partners.partner", verbose_name="partner"),
        ),
        migrations.AlterField(
            model_name="historicalprojectpartner",
            name="project",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                    on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                                    to="projects.project", verbose_name="project"),
        ),
        migrations.AddField(model_name="projectpartner", name="role", field=_role()),
        migrations.AddField(model_name="historicalprojectpartner", name="role", field=_role()),
        migrations.RunPython(_create_and_fill, _restore_and_fill),
    ]
