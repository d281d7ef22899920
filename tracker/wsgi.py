"""WSGI entry point (gunicorn tracker.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")

django_application = get_wsgi_application()

from core.cache.front import ResponseCacheFront  # noqa: E402 (after Django is set up)

# The API's response cache answers its hits here, before Django (core/cache/front.py).
application = ResponseCacheFront(django_application)
