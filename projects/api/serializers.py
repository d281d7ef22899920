import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django_countries import countries
from django_countries.serializers import CountryFieldMixin
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS

from partners.models import Partner
from projects.models import MAX_YEAR, MIN_YEAR, SLUG_RE, Activity, Citation, Field, Program, Project, Source

YEAR_BOUNDS = {"min_value": MIN_YEAR, "max_value": MAX_YEAR}
# At most this many values in any list a client writes (partners, fields, co-operating
# countries): each value is looked up, and an unbounded list is an unbounded cost.
MAX_LIST_VALUES = 100


class StrictTypeMixin:
    """JSON has types: a title is a string, a year a number, a flag true or false. DRF
    would turn 2015 into "2015" or "true" into True; here the wrong type is a 400."""

    json_types = (str,)
    type_message = "A string is required."

    def to_internal_value(self, data):
        if isinstance(data, bool) and bool not in self.json_types or not isinstance(data, self.json_types):
            raise serializers.ValidationError(self.type_message, code="invalid_type")
        return super().to_internal_value(data)


class StrictCharField(StrictTypeMixin, serializers.CharField):
    pass


class StrictSlugField(StrictTypeMixin, serializers.SlugField):
    pass


class StrictURLField(StrictTypeMixin, serializers.URLField):
    pass


class StrictIntegerField(StrictTypeMixin, serializers.IntegerField):
    json_types = (int,)
    type_message = "A whole number is required."


class StrictBooleanField(StrictTypeMixin, serializers.BooleanField):
    json_types = (bool,)
    type_message = "true or false is required."


class ModelRulesSerializer(CountryFieldMixin, serializers.HyperlinkedModelSerializer):
    """Runs the model's own rules (clean() and its constraints) on the incoming values, so
    the API refuses what the admin refuses, one message per field; records the user in
    the change history. Values must have their JSON type (StrictTypeMixin)."""

    serializer_field_mapping = {
        **serializers.HyperlinkedModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.SlugField: StrictSlugField,
        models.URLField: StrictURLField,
        models.IntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
        models.BigIntegerField: StrictIntegerField,
        models.BooleanField: StrictBooleanField,
    }

    def validate(self, attrs):
        attrs = super().validate(attrs)
        model = self.Meta.model
        many = {f.name for f in model._meta.many_to_many}
        candidate = copy.copy(self.instance) if self.instance is not None else model()
        for name, value in attrs.items():
            if name not in many:
                setattr(candidate, name, value)
        try:
            candidate.full_clean(exclude=[*many, *self._excluded_from_clean()], validate_unique=False)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs

    def _excluded_from_clean(self):
        return []

    def _user(self):
        request = self.context.get("request")
        return getattr(request, "user", None)

    def create(self, validated_data):
        many = {
            f.name: validated_data.pop(f.name) for f in self.Meta.model._meta.many_to_many if f.name in validated_data
        }
        instance = self.Meta.model(**validated_data)
        instance._history_user = self._user()
        instance.save()
        for name, values in many.items():
            getattr(instance, name).set(values)
        return instance

    def update(self, instance, validated_data):
        instance._history_user = self._user()
        return super().update(instance, validated_data)


_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": "string", "nullable": True}


class BoundedManyRelatedField(serializers.ManyRelatedField):
    """A list of related records of at most MAX_LIST_VALUES, refused before any is looked up."""

    default_error_messages = {"max_length": f"At most {MAX_LIST_VALUES} values."}

    def to_internal_value(self, data):
        if isinstance(data, list) and len(data) > MAX_LIST_VALUES:
            self.fail("max_length")
        return super().to_internal_value(data)


class BoundedManyRelatedFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "projects.api.serializers.BoundedManyRelatedField"

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "array", "items": auto_schema._map_serializer_field(self.target.child_relation, direction)}
        if direction == "request":
            schema["maxItems"] = MAX_LIST_VALUES
        return schema


class StrictSlugRelatedField(serializers.SlugRelatedField):
    """A related record named by its slug. Only a slug can name a record: anything else
    (a number, NUL bytes the database would refuse) gets the same message as a slug that
    names nothing."""

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "slug")
        super().__init__(**kwargs)

    @classmethod
    def many_init(cls, *args, **kwargs):
        list_kwargs = {"child_relation": cls(*args, **kwargs)}
        list_kwargs.update({key: value for key, value in kwargs.items() if key in MANY_RELATION_KWARGS})
        return BoundedManyRelatedField(**list_kwargs)

    def run_validation(self, data=serializers.empty):
        if data == "":
            # DRF would read "" as null; here null is null and "" is a mistake.
            raise serializers.ValidationError("Give a slug (or null where the field may be empty).", code="blank")
        return super().run_validation(data)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not SLUG_RE.fullmatch(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data)[:100])
        return super().to_internal_value(data)


class SlugRefField(StrictSlugRelatedField):
    """A related record: written as its slug, read as an object with its slug and names
    (`represent` gives the object's keys and how to read each)."""

    def __init__(self, *, represent, **kwargs):
        self.represent = represent
        super().__init__(**kwargs)

    def to_representation(self, obj):
        return {key: read(obj) for key, (read, _) in self.represent.items()}

    def response_schema(self):
        return {
            "type": "object",
            "properties": {key: schema for key, (_, schema) in self.represent.items()},
            "required": list(self.represent),
        }


class SlugRefFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "projects.api.serializers.SlugRefField"

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return {"type": "string", "pattern": f"^{SLUG_RE.pattern}$", "description": "The slug of the record."}
        return self.target.response_schema()


def _attr(name):
    return lambda obj: getattr(obj, name)


PARTNER_REF = {
    "slug": (_attr("slug"), _STRING),
    "name": (_attr("name"), _STRING),
    "name_ja": (_attr("name_ja"), _STRING),
    "country": (lambda p: p.country.code or None, _NULLABLE_STRING),
}
NAMED_REF = {"slug": (_attr("slug"), _STRING), "name": (_attr("name"), _STRING)}
NAMED_JA_REF = {**NAMED_REF, "name_ja": (_attr("name_ja"), _STRING)}
PROJECT_REF = {"slug": (_attr("slug"), _STRING), "title": (_attr("title"), _STRING)}


class SourceRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["slug", "title", "year"]


class CitationSerializer(serializers.ModelSerializer):
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = Citation
        fields = ["source", "section", "excerpt"]


class CountryListField(serializers.ListField):
    """Writes ISO codes; reads them with their names."""

    child = serializers.ChoiceField(choices=list(countries))

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_LIST_VALUES)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = [c for c in data.split(",") if c]
        if isinstance(data, list) and len(data) > MAX_LIST_VALUES:
            self.fail("max_length", max_length=MAX_LIST_VALUES)
        return super().to_internal_value([str(c).strip().upper() for c in data] if isinstance(data, list) else data)

    def to_representation(self, value):
        return [{"code": c.code, "name": c.name} for c in value]


class CountryListFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "projects.api.serializers.CountryListField"

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return {"type": "array", "items": {"$ref": "#/components/schemas/CountryEnum"}, "maxItems": MAX_LIST_VALUES}
        return {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"code": _STRING, "name": _STRING},
                "required": ["code", "name"],
            },
        }


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


class NamedRefSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    name_ja = serializers.CharField(required=False)


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
