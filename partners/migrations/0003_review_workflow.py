"""Review before publish (core.review): a partner's publication state (draft, in review,
published), filled from `published`, which the database now checks against it; the
reviewer's last comment."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0002_releasability_and_liaisons"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="partner",
            options={
                "ordering": ["name"],
                "permissions": [("review_partner", "Can approve or send back partners in review")],
                "verbose_name": "partner",
                "verbose_name_plural": "partners",
            },
        ),
        migrations.AddField(
            model_name="historicalpartner",
            name="publication_state",
            field=models.CharField(
                choices=[("draft", "Draft"), ("in_review", "In review"), ("published", "Published")],
                db_default="published",
                default="published",
                editable=False,
                max_length=10,
                verbose_name="publication state",
            ),
        ),
        migrations.AddField(
            model_name="historicalpartner",
            name="review_comment",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="Why a reviewer last sent this record back.",
                verbose_name="reviewer's comment",
            ),
        ),
        migrations.AddField(
            model_name="partner",
            name="publication_state",
            field=models.CharField(
                choices=[("draft", "Draft"), ("in_review", "In review"), ("published", "Published")],
                db_default="published",
                default="published",
                editable=False,
                max_length=10,
                verbose_name="publication state",
            ),
        ),
        migrations.AddField(
            model_name="partner",
            name="review_comment",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="Why a reviewer last sent this record back.",
                verbose_name="reviewer's comment",
            ),
        ),
        migrations.AlterField(
            model_name="historicalpartner",
            name="published",
            field=models.BooleanField(default=True, editable=False, verbose_name="published"),
        ),
        migrations.AlterField(
            model_name="partner",
            name="published",
            field=models.BooleanField(default=True, editable=False, verbose_name="published"),
        ),
        migrations.RunSQL(
            "UPDATE partners_partner SET publication_state = CASE WHEN published THEN 'published' ELSE 'draft' END",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE partners_historicalpartner SET publication_state = CASE WHEN published THEN 'published' ELSE 'draft' END",
            migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name="partner",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("publication_state", "published"), ("published", True)),
                    models.Q(("publication_state__in", ["draft", "in_review"]), ("published", False)),
                    _connector="OR",
                ),
                name="partners_partner_published_is_state",
                violation_error_message="“published” must say whether the publication state is “published”.",
            ),
        ),
    ]
