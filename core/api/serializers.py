"""The serializer fields and base every app's API is built on: JSON types kept strict, the
model's own rules run on every write, related records written as slugs and read as
objects, and bounded lists."""

import copy
from collections.abc import Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django_countries import countries
from django_countries import serializer_fields as country_fields
from django_countries.serializers import CountryFieldMixin
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.relations import MANY_RELATION_KWARGS

from core.api.queryparams import unknown_parameter_message
from core.models import (
    CHANGE_REASON_MAX,
    MAX_YEAR,
    MIN_YEAR,
    SLUG_RE,
    IdListField,
    OneHistoryEntry,
    PublicationState,
    ReviewedModel,
    is_liaison,
    liaison_partner_ids,
    reason_problem,
)

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


class RawLengthMixin:
    """The schema's maxLength is the length of the string the client sent. DRF trims
    surrounding whitespace before it checks the length, so a value one space over the
    limit would pass; here the limit applies to what was sent (then the value is trimmed)."""

    def to_internal_value(self, data):
        if self.max_length is not None and isinstance(data, str) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictCharField(StrictTypeMixin, RawLengthMixin, serializers.CharField):
    pass


class StrictSlugField(StrictTypeMixin, RawLengthMixin, serializers.SlugField):
    pass


class StrictURLField(StrictTypeMixin, RawLengthMixin, serializers.URLField):
    pass


class StrictIntegerField(StrictTypeMixin, serializers.IntegerField):
    json_types = (int,)
    type_message = "A whole number is required."


class StrictBooleanField(StrictTypeMixin, serializers.BooleanField):
    json_types = (bool,)
    type_message = "true or false is required."


class StrictCountryField(country_fields.CountryField):
    """An ISO 3166-1 alpha-2 code, as the schema's CountryEnum lists them ("" where the
    field may be blank). django-countries would also take a number (392), an alpha-3
    code, a name in any language or an object; the API takes what its schema says."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError("A country code (a string) is required.", code="invalid_type")
        if data == "" and self.allow_blank:
            return data
        if data not in self.choices:
            self.fail("invalid_choice", input=data)
        return data


class StrictCountryFieldMixin(CountryFieldMixin):
    """django-countries' serializer mixin, with its fields made strict (StrictCountryField)."""

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if field_class is country_fields.CountryField:
            field_class = StrictCountryField
        elif isinstance(field_kwargs.get("child"), country_fields.CountryField):
            child = field_kwargs["child"]
            field_kwargs["child"] = StrictCountryField(countries=child.countries)
        return field_class, field_kwargs


def reads_as_staff(request) -> bool:
    """Whether the request's user is staff: the audience of the fields only staff see."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff and not is_liaison(user))


def hidden_fields(request, meta) -> set:
    """The fields of a serializer's Meta the request's reader may not see: its
    `staff_only_fields` (notes, who entered a record, whom it is releasable to) for all
    but staff, and its `signed_in_fields` (the releasability) for all but staff and
    partners' liaison officers."""
    if reads_as_staff(request):
        return set()
    hidden = set(getattr(meta, "staff_only_fields", ()))
    if not liaison_partner_ids(getattr(request, "user", None)):
        hidden |= set(getattr(meta, "signed_in_fields", ()))
    return hidden


class SlugsOfIdsField(serializers.ListField):
    """A core.models.IdListField (ids of `model`'s records) as the API reads and writes
    it: a list of the records' slugs, at most MAX_LIST_VALUES, each looked up in one
    query; an unknown slug is an error naming it."""

    def __init__(self, *, model, **kwargs):
        self.related = model
        kwargs.setdefault("child", StrictSlugField())
        kwargs.setdefault("max_length", MAX_LIST_VALUES)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        slugs = super().to_internal_value(data)
        found = dict(self.related._default_manager.filter(slug__in=slugs).values_list("slug", "pk"))
        unknown = [slug for slug in slugs if slug not in found]
        if unknown:
            raise serializers.ValidationError(
                f"No {self.related._meta.verbose_name} has the slug “{unknown[0]}”.", code="does_not_exist"
            )
        return sorted({found[slug] for slug in slugs})

    def to_representation(self, value):
        return slugs_of_ids(self.related, value or [], self.context)


def slugs_of_ids(model, ids, context) -> list[str]:
    """The slugs of `model`'s records `ids`, sorted; the id → slug map loaded once per
    answer (kept in the serializer `context`, shared by its whole tree) and only if asked."""
    if not ids:
        return []
    key = f"_slugs_of_{model._meta.label_lower}"
    slugs = context.get(key) if context is not None else None
    if slugs is None:
        slugs = dict(model._default_manager.values_list("pk", "slug"))
        if context is not None:
            context[key] = slugs
    return sorted(slugs[i] for i in ids if i in slugs)


class ModelRulesSerializer(StrictCountryFieldMixin, serializers.HyperlinkedModelSerializer):
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

    def build_standard_field(self, field_name, model_field):
        if isinstance(model_field, IdListField):
            return SlugsOfIdsField, {
                "model": model_field.related_model(),
                "required": False,
                "help_text": model_field.help_text,
                "label": model_field.verbose_name,
            }
        return super().build_standard_field(field_name, model_field)

    def to_representation(self, instance):
        """Meta.staff_only_fields (notes for staff, who entered a record) are in the answer
        to staff only, Meta.signed_in_fields to staff and liaison officers
        (hidden_fields); the schema still lists them, described as such."""
        data = super().to_representation(instance)
        for name in hidden_fields(self.context.get("request"), self.Meta):
            data.pop(name, None)
        return data

    def change_reason(self):
        """The writer's reason for this change, for the history: the payload's
        `change_reason`, else the request's X-Change-Reason header; None without one."""
        return getattr(self, "_change_reason", None)

    def _read_change_reason(self, data):
        """The payload's `change_reason` and the X-Change-Reason header, each checked as a
        text field is (a string of at most CHANGE_REASON_MAX characters, no NUL), the
        payload's first. None when neither gives one."""
        request = self.context.get("request")
        given = []
        if isinstance(data, Mapping) and "change_reason" in data:
            given.append(("change_reason", data["change_reason"]))
        header = request.headers.get("X-Change-Reason") if request is not None else None
        if header is not None:
            given.append(("X-Change-Reason", header))
        reasons = []
        for name, reason in given:
            field = StrictCharField(max_length=CHANGE_REASON_MAX, allow_blank=True)
            try:
                reasons.append(field.run_validation(reason))
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({name: exc.detail}) from exc
        return next((reason.strip() for reason in reasons if reason.strip()), None)

    def to_internal_value(self, data):
        # The change reason is not a field of the record: read apart (payload or header).
        self._change_reason = self._read_change_reason(data)
        if isinstance(data, Mapping) and "change_reason" in data:
            data = {name: value for name, value in data.items() if name != "change_reason"}
        # A field the endpoint does not know is an error naming it, not silently ignored: a
        # misspelt "titel" would otherwise be a 200 that changed nothing the client meant.
        # Read-only fields (url, version, ...) may come back as read: they are ignored.
        if isinstance(data, Mapping):
            unknown = [name for name in data if name not in self.fields]
            if unknown:
                writable = [name for name, field in self.fields.items() if not field.read_only]
                message = lambda name: unknown_parameter_message(name, writable, "field")  # noqa: E731
                raise serializers.ValidationError(
                    {str(name)[:100]: [ErrorDetail(message(name), code="unknown")] for name in unknown}
                )
        return super().to_internal_value(data)

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
        if self.instance is not None and self._changes(self.instance, attrs):
            problem = reason_problem(self.instance, attrs, self.change_reason())
            if problem is not None:
                name, message = problem
                if name == "change_reason":
                    message = f"{message} Give an X-Change-Reason header or a change_reason field."
                raise serializers.ValidationError({name: [message]})
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
        if isinstance(instance, ReviewedModel):
            # Whatever the model's default, a record made through the API is a draft until
            # a reviewer approves it (core.review).
            instance.publication_state = PublicationState.DRAFT
        instance._history_user = self._user()
        instance._change_reason = self.change_reason()
        entry = OneHistoryEntry(self.Meta.model).begin()
        instance.save()
        for name, values in many.items():
            self.save_links(instance, name, values)
        entry.end(instance)
        return instance

    def update(self, instance, validated_data):
        # A write of the values the record already holds changes nothing: no new version,
        # no history entry, no data version (so no cached answer is thrown away).
        if not self._changes(instance, validated_data):
            return instance
        instance._history_user = self._user()
        instance._change_reason = self.change_reason()
        entry = OneHistoryEntry(type(instance)).begin()
        many = {f.name: validated_data.pop(f.name) for f in instance._meta.many_to_many if f.name in validated_data}
        instance = super().update(instance, validated_data)
        for name, values in many.items():
            self.save_links(instance, name, values)
        entry.end(instance)
        return instance

    def save_links(self, instance, name, values):
        """Make the record's many-to-many `name` hold `values` (as validated)."""
        getattr(instance, name).set(values)

    def links_differ(self, instance, name, values) -> bool:
        """Whether `values` (as validated) differ from the links `name` the record has."""
        return set(getattr(instance, name).values_list("pk", flat=True)) != {related.pk for related in values}

    def _changes(self, instance, validated_data) -> bool:
        """Whether writing `validated_data` would change `instance` (its links included)."""
        for name, value in validated_data.items():
            field = instance._meta.get_field(name)
            if field.many_to_many:
                if self.links_differ(instance, name, value):
                    return True
            elif getattr(instance, name) != value:
                return True
        return False


STRING_SCHEMA = {"type": "string"}


NULLABLE_STRING_SCHEMA = {"type": "string", "nullable": True}


class BoundedManyRelatedField(serializers.ManyRelatedField):
    """A list of related records of at most MAX_LIST_VALUES, refused before any is looked up."""

    default_error_messages = {"max_length": f"At most {MAX_LIST_VALUES} values."}

    def to_internal_value(self, data):
        if isinstance(data, list) and len(data) > MAX_LIST_VALUES:
            self.fail("max_length")
        return super().to_internal_value(data)


class BoundedManyRelatedFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "core.api.serializers.BoundedManyRelatedField"

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
    target_class = "core.api.serializers.SlugRefField"

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return {"type": "string", "pattern": f"^{SLUG_RE.pattern}$", "description": "The slug of the record."}
        return self.target.response_schema()


def attr_reader(name):
    return lambda obj: getattr(obj, name)


NAMED_REF = {"slug": (attr_reader("slug"), STRING_SCHEMA), "name": (attr_reader("name"), STRING_SCHEMA)}


NAMED_JA_REF = {**NAMED_REF, "name_ja": (attr_reader("name_ja"), STRING_SCHEMA)}


class CountryListField(serializers.ListField):
    """Writes ISO codes; reads them with their names."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_LIST_VALUES)
        kwargs.setdefault("child", StrictCountryField(countries=countries))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        # A JSON array of codes, as the schema says (DRF's ListField would also take a
        # string as a one-character list, or a form's repeated keys).
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if len(data) > MAX_LIST_VALUES:
            self.fail("max_length", max_length=MAX_LIST_VALUES)
        return super().to_internal_value(data)

    def to_representation(self, value):
        return [{"code": c.code, "name": c.name} for c in value]


class CountryListFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "core.api.serializers.CountryListField"

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return {"type": "array", "items": {"$ref": "#/components/schemas/CountryEnum"}, "maxItems": MAX_LIST_VALUES}
        return {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"code": STRING_SCHEMA, "name": STRING_SCHEMA},
                "required": ["code", "name"],
            },
        }


class NamedRefSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    name_ja = serializers.CharField(required=False)
