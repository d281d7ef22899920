"""What a browser would post back from an admin add or change page, read from the page's
own forms (the main form and every inline formset), so a test starts from a valid
submission and changes only what it means to."""

import datetime

from django import forms


def _field_data(bound):
    """The posted value(s) of one bound field of an unbound form, as a browser sends it."""
    widget = bound.field.widget
    value = bound.value()
    if isinstance(widget, forms.MultiWidget):
        values = widget.decompress(value) if not isinstance(value, list | tuple) else value
        return {f"{bound.html_name}{suffix}": _text(v) for suffix, v in zip(widget.widgets_names, values, strict=False)}
    if isinstance(widget, forms.CheckboxInput):
        return {bound.html_name: "on"} if value else {}
    multiple = isinstance(bound.field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField)
    if multiple or isinstance(value, list | tuple):
        return {bound.html_name: [_text(v) for v in value or []]}
    return {bound.html_name: _text(value)}


def _text(value):
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if hasattr(value, "code"):  # django-countries' Country
        return value.code
    return str(value)


def _form_data(form):
    data = {}
    for bound in form:
        data.update(_field_data(bound))
    return data


def admin_form_data(response):
    """The POST data of an admin add/change page (a TemplateResponse with its context):
    the model form and every inline formset with its management form, each field as it
    stands."""
    context = response.context
    data = _form_data(context["adminform"].form)
    if "change_reason" in context["adminform"].form.fields and not data.get("change_reason"):
        data["change_reason"] = "Edited in a test"  # a published record's change says why
    for inline in context.get("inline_admin_formsets", []):
        formset = inline.formset
        data.update(_form_data(formset.management_form))
        for form in formset.initial_forms:
            data.update(_form_data(form))
        # Extra (empty) forms are left out, and the management form counts only the initial ones.
        data[f"{formset.prefix}-TOTAL_FORMS"] = str(len(formset.initial_forms))
    return data


def admin_copy_data(response):
    """The data of an admin change page turned into a submission of the add page: a copy
    of the record (and of its inline rows), with its unique fields made unique again."""
    context = response.context
    form = context["adminform"].form
    model = form._meta.model
    text_fields = {f.name for f in model._meta.fields if f.get_internal_type() in {"CharField", "SlugField"}}
    unique = {f.name for f in model._meta.fields if f.unique and not f.primary_key}
    unique |= {name for constraint in model._meta.constraints for name in getattr(constraint, "fields", ())}
    unique &= text_fields
    data = _form_data(form)
    data.pop("loaded_version", None)
    for name in unique & set(data):
        if isinstance(data[name], str) and data[name]:
            data[name] = f"{data[name]}-copy"
    for inline in context.get("inline_admin_formsets", []):
        formset = inline.formset
        data.update(_form_data(formset.management_form))
        data[f"{formset.prefix}-TOTAL_FORMS"] = str(len(formset.initial_forms))
        data[f"{formset.prefix}-INITIAL_FORMS"] = "0"
        for form in formset.initial_forms:
            row = _form_data(form)
            for own in (formset.fk.name, model._meta.pk.name, "id"):
                row.pop(form.add_prefix(own), None)
            data.update(row)
    return data
