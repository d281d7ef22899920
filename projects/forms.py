"""Admin forms: optimistic locking for records two editors may open at once."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext_lazy as _


class OptimisticLockForm(forms.ModelForm):
    """Carries the version the editor loaded; a save is refused when the stored version
    has moved on since (someone else saved in between). The stored row is locked
    (`select_for_update`) inside the admin's transaction, so the check and the save
    cannot be split by another save."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The stored version, not the instance's: a revert form holds an old copy.
            stored = type(self.instance).objects.filter(pk=self.instance.pk).values_list("version", flat=True).first()
            self.fields["loaded_version"].initial = stored

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk:
            return cleaned
        model = type(self.instance)
        stored = model.objects.select_for_update().filter(pk=self.instance.pk).values_list("version", flat=True).first()
        loaded = cleaned.get("loaded_version")
        if stored is not None and loaded != stored:
            last = self.instance.history.order_by("-history_date").select_related("history_user").first()
            who = last.history_user.get_username() if last and last.history_user else _("another user")
            when = formats.date_format(last.history_date, "DATETIME_FORMAT") if last else ""
            raise ValidationError(
                _(
                    "This %(model)s was changed by %(who)s at %(when)s since you opened it. Your changes were "
                    "not saved: reload the page to see the latest version, then make your changes again."
                )
                % {"model": model._meta.verbose_name, "who": who, "when": when},
                code="stale",
            )
        return cleaned
