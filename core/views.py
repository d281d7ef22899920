"""What the apps' public pages share."""

from django.utils.cache import patch_cache_control


class PreviewMixin:
    """A record's page, which staff may also open for a record the public cannot see (a
    draft, an internal record, one releasable to partners: the admin's "View on site"),
    with a banner that says so; never stored by any cache. Everyone else gets a 404 for
    what they may not see. What the page lists (activities, partners, citations) is what
    the public will see, as it always is on the site."""

    def previews(self) -> bool:
        return self.model.objects.sees_drafts(self.request.user)

    def visible(self):
        user = self.request.user
        return self.model.objects.all() if self.previews() else self.model.objects.on_site(user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        record = self.object
        context["preview_note"] = ""
        if self.previews():  # the partners' names are read only for a preview that names them
            partners = record._meta.get_field("releasable_to").related_model()._default_manager
            names = []
            if record.releasable_to:
                named = partners.filter(pk__in=record.releasable_to).order_by("name")
                names = list(named.values_list("name", flat=True))
            context["preview_note"] = record.preview_note(names)
        return context

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        if context.get("preview_note"):
            patch_cache_control(response, private=True, no_store=True)
        return response
