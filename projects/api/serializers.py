from rest_framework import serializers

from core.api.serializers import (
    NAMED_JA_REF,
    NAMED_REF,
    NULLABLE_STRING_SCHEMA,
    STRING_SCHEMA,
    YEAR_BOUNDS,
    CountryListField,
    ModelRulesSerializer,
    NamedRefSerializer,
    SlugRefField,
    StrictURLField,
    attr_reader,
)
from partners.models import Partner
from projects.models import Activity, Citation, Field, Program, Project, Source

PARTNER_REF = {
    "slug": (attr_reader("slug"), STRING_SCHEMA),
    "name": (attr_reader("name"), STRING_SCHEMA),
    "name_ja": (attr_reader("name_ja"), STRING_SCHEMA),
    "country": (lambda p: p.country.code or None, NULLABLE_STRING_SCHEMA),
}
PROJECT_REF = {"slug": (attr_reader("slug"), STRING_SCHEMA), "title": (attr_reader("title"), STRING_SCHEMA)}


class SourceRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["slug", "title", "year"]


class CitationSerializer(serializers.ModelSerializer):
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = Citation
        fields = ["source", "section", "excerpt"]


class FieldSerializer(ModelRulesSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:field-detail", lookup_field="slug")
    public_url = serializers.CharField(source="get_absolute_url", read_only=True)
    citations = CitationSerializer(many=True, read_only=True)

    class Meta:
        model = Field
        fields = ["url", "public_url", "slug", "name", "name_ja", "description", "citations"]


class ProgramSerializer(ModelRulesSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:program-detail", lookup_field="slug")
    public_url = serializers.CharField(source="get_absolute_url", read_only=True)
    citations = CitationSerializer(many=True, read_only=True)

    class Meta:
        model = Program
        fields = ["url", "public_url", "slug", "name", "name_ja", "start_year", "description", "citations"]
        extra_kwargs = {"start_year": YEAR_BOUNDS}


class SourceSerializer(ModelRulesSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:source-detail", lookup_field="slug")
    # The model's own `url` (where the document is published) under another name, since
    # `url` is the API link here as everywhere else.
    source_url = StrictURLField(source="url", required=False, allow_blank=True)

    class Meta:
        model = Source
        fields = ["url", "slug", "title", "author", "publisher", "year", "filename", "source_url", "description"]
        extra_kwargs = {"year": YEAR_BOUNDS}


class ActivitySummarySerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:activity-detail")

    class Meta:
        model = Activity
        fields = ["id", "url", "title", "kind", "year", "month", "day", "date_display"]


class ProjectSerializer(ModelRulesSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:project-detail", lookup_field="slug")
    public_url = serializers.CharField(source="get_absolute_url", read_only=True)
    program = SlugRefField(queryset=Program.objects.all(), represent=NAMED_REF)
    partners = SlugRefField(queryset=Partner.objects.all(), many=True, represent=PARTNER_REF)
    fields = SlugRefField(queryset=Field.objects.all(), many=True, required=False, represent=NAMED_JA_REF)
    cooperating_countries = CountryListField(required=False)
    years = serializers.CharField(source="years_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    citations = CitationSerializer(many=True, read_only=True)
    activities = ActivitySummarySerializer(many=True, read_only=True)

    class Meta:
        model = Project
        fields = [
            "url", "public_url", "slug", "title", "program", "partners", "fields", "start_year", "end_year",
            "years", "status", "status_display", "cooperating_countries", "description", "published", "version",
            "created", "updated", "citations", "activities",
        ]  # fmt: skip
        read_only_fields = ["version", "created", "updated"]
        extra_kwargs = {"start_year": YEAR_BOUNDS, "end_year": YEAR_BOUNDS}

    def validate_partners(self, value):
        if not value:
            raise serializers.ValidationError("At least one partner is required.")
        return value


class ActivitySerializer(ModelRulesSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:activity-detail")
    project = SlugRefField(queryset=Project.objects.all(), represent=PROJECT_REF)
    precision = serializers.CharField(read_only=True)
    date_display = serializers.CharField(read_only=True)
    citations = CitationSerializer(many=True, read_only=True)

    class Meta:
        model = Activity
        fields = [
            "id", "url", "project", "title", "slug", "kind", "year", "month", "day", "precision", "date_display",
            "location", "location_country", "description", "citations",
        ]  # fmt: skip
        read_only_fields = ["slug"]
        extra_kwargs = {
            "year": YEAR_BOUNDS,
            "month": {"min_value": 1, "max_value": 12},
            "day": {"min_value": 1, "max_value": 31},
        }


# -- reports: documentation of their response shapes (they are built by the selectors) --


class CountsReportSerializer(serializers.Serializer):
    group_by = serializers.ListField(child=serializers.CharField(), help_text="The dimensions, in order.")
    results = serializers.ListField(
        child=serializers.DictField(),
        help_text="One row per group: for each dimension its key (`field`: a slug, `year`: a year, ...) and its "
        "name (`field_name`), and `count`, the number of projects.",
    )


class MatrixProjectSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    start_year = serializers.IntegerField(allow_null=True)
    end_year = serializers.IntegerField(allow_null=True)
    years = serializers.CharField(help_text="The span as the sources give it, e.g. 2013–2015.")
    status = serializers.ChoiceField(choices=Project.Status.choices)


class MatrixCellSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field's slug.")
    projects = MatrixProjectSerializer(many=True)


class MatrixRowSerializer(serializers.Serializer):
    partner = NamedRefSerializer()
    country = serializers.CharField(allow_null=True)
    cells = MatrixCellSerializer(many=True)


class MatrixReportSerializer(serializers.Serializer):
    fields = NamedRefSerializer(many=True)
    rows = MatrixRowSerializer(many=True)


class TimelineRowSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Projects active that year, each counted once.")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Projects active that year, by field.")


class TimelineReportSerializer(serializers.Serializer):
    years = serializers.ListField(child=serializers.IntegerField())
    fields = NamedRefSerializer(many=True)
    rows = TimelineRowSerializer(many=True)
