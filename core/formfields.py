"""Form fields of the shared layer's model fields (kept apart from core.forms, which
imports the models)."""

import json

from django import forms


class IdListFormField(forms.ModelMultipleChoiceField):
    """The form field of core.models.IdListField: the records to choose, stored as the
    sorted list of their ids."""

    def prepare_value(self, value):
        if isinstance(value, str):  # a bound form re-shown: the JSON the column held
            try:
                value = json.loads(value)
            except ValueError:
                value = []
        return super().prepare_value(value)

    def clean(self, value):
        chosen = super().clean(value)
        return sorted(record.pk for record in chosen) if chosen is not None else []

    def has_changed(self, initial, data):
        initial_ids = {str(i) for i in (initial or [])}
        return initial_ids != {str(i) for i in (data or [])}
