"""Who may do what through the API."""

from rest_framework import permissions


class ReadOrModelPermissions(permissions.DjangoModelPermissions):
    """Anyone may read (the querysets decide what each user sees: drafts only for staff
    with view permission); writing needs the model's add/change/delete permission."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return super().has_permission(request, view)
