import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from django_countries import countries
from django_countries.serializers import CountryFieldMixin
from rest_framework import serializers

from partners.models import Partner
from projects.models import Activity, Citation, Field, Program, Project, Source


class ModelRulesSerializer(CountryFieldMixin, serializers.HyperlinkedModelSerializer):
    """Runs the model's own rules (clean() and its constraints) on the incoming values, so
    the API refuses what the admin refuses, one message per field; records the user in
    the change history."""

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


class CitationSerializer(serializers.ModelSerializer):
    source = serializers.SerializerMethodField()

    class Meta:
        model = Citation
        fields = ["source", "section", "excerpt"]

    def get_source(self, obj) -> dict:
        return {"slug": obj.source.slug, "title": obj.source.title, "year": obj.source.year}


class CountryListField(serializers.ListField):
    """Writes ISO codes; reads them with their names."""

    child = serializers.ChoiceField(choices=list(countries))

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = [c for c in data.split(",") if c]
        return super().to_internal_value([str(c).strip().upper() for c in data] if isinstance(data, list) else data)

    def to_representation(self, value):
        return [{"code": c.code, "name": c.name} for c in value]


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


class SourceSerializer(ModelRulesSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:source-detail", lookup_field="slug")
    # The model's own `url` (where the document is published) under another name, since
    # `url` is the API link here as everywhere else.
    source_url = serializers.URLField(source="url", required=False, allow_blank=True)

    class Meta:
        model = Source
        fields = ["url", "slug", "title", "author", "publisher", "year", "filename", "source_url", "description"]


class ActivitySummarySerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:activity-detail")

    class Meta:
        model = Activity
        fields = ["id", "url", "title", "kind", "year", "month", "day", "date_display"]


class ProjectSerializer(ModelRulesSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:project-detail", lookup_field="slug")
    public_url = serializers.CharField(source="get_absolute_url", read_only=True)
    program = serializers.SlugRelatedField(slug_field="slug", queryset=Program.objects.all())
    partners = serializers.SlugRelatedField(slug_field="slug", queryset=Partner.objects.all(), many=True)
    fields = serializers.SlugRelatedField(slug_field="slug", queryset=Field.objects.all(), many=True, required=False)
    cooperating_countries = CountryListField(required=False)
    years = serializers.CharField(source="years_display", read_only=True)
    citations = CitationSerializer(many=True, read_only=True)
    activities = ActivitySummarySerializer(many=True, read_only=True)

    class Meta:
        model = Project
        fields = [
            "url", "public_url", "slug", "title", "program", "partners", "fields", "start_year", "end_year",
            "years", "status", "cooperating_countries", "description", "published", "version", "created",
            "updated", "citations", "activities",
        ]  # fmt: skip
        read_only_fields = ["version", "created", "updated"]

    def validate_partners(self, value):
        if not value:
            raise serializers.ValidationError("At least one partner is required.")
        return value

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["program"] = {"slug": instance.program.slug, "name": instance.program.name}
        data["partners"] = [
            {"slug": p.slug, "name": p.name, "name_ja": p.name_ja, "country": p.country.code or None}
            for p in instance.partners.all()
        ]
        data["fields"] = [{"slug": f.slug, "name": f.name, "name_ja": f.name_ja} for f in instance.fields.all()]
        data["status_display"] = instance.get_status_display()
        return data


class ActivitySerializer(ModelRulesSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:activity-detail")
    project = serializers.SlugRelatedField(slug_field="slug", queryset=Project.objects.all())
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

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["project"] = {"slug": instance.project.slug, "title": instance.project.title}
        return data
