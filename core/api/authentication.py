"""The API's token authentication: DRF's `TokenAuthentication`, with messages that say
how to send a token when a client sends it another way.

A client that sends `Authorization: Bearer <key>` (the OAuth habit) would otherwise be
served as anonymous: shown only published records when it reads, and told
"Authentication credentials were not provided" when it writes. A Bearer header is a 401
that says how to send the token. Any other scheme (a proxy's `Basic`, say) is left to
pass as before, reads being public; a write refused for want of credentials then names
the scheme it could not use (`not_authenticated_detail`, from the exception handler).
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

HOW = _("Send the token as the header “Authorization: Token <key>”.")


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if header and header[0].lower() == b"bearer":
            raise exceptions.AuthenticationFailed(_("This API does not take “Bearer” tokens. %(how)s") % {"how": HOW})
        return super().authenticate(request)


def not_authenticated_detail(request):
    """The message of a 401 for want of credentials, when the request carried an
    Authorization header the API does not take; None otherwise."""
    header = authentication.get_authorization_header(request).split() if request is not None else []
    if not header:
        return None
    scheme = header[0].decode("latin-1")[:40]
    return _("The Authorization scheme “%(scheme)s” is not one this API takes. %(how)s") % {
        "scheme": scheme,
        "how": HOW,
    }
