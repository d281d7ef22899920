"""Who may do what through the API."""

from rest_framework import permissions

from core.models import is_liaison


class ReadOrModelPermissions(permissions.DjangoModelPermissions):
    """Anyone may read (the querysets decide what each user sees: drafts only for staff
    with view permission, releasable records to partners' liaison officers); writing
    needs the model's add/change/delete permission, and a liaison officer writes nothing,
    whatever groups they are in (403)."""

    message = "You do not have permission to perform this action."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        if is_liaison(request.user):
            self.message = "A partner's liaison officer may read but not change the tracker's records."
            return False
        return super().has_permission(request, view)


class ReviewPermission(permissions.IsAuthenticated):
    """A review step (core.api.views.ReviewActionsMixin) needs a signed-in user; whether
    their role allows the step is core.review's to say (a 403 naming the role), once
    the record is found among those they may see (a 404 otherwise)."""
