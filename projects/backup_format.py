"""The JSON format of backups: Django's JSON serializer, but keeping datetimes to the
microsecond (Django's own encoder cuts them to milliseconds, which a backup must not).

Registered as the serialization format "backup-json" (settings.SERIALIZATION_MODULES);
the files it writes are plain JSON fixtures that loaddata reads as usual.
"""

import datetime

from django.core.serializers import json as django_json
from django.core.serializers.json import DjangoJSONEncoder


class FullPrecisionEncoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, datetime.datetime):
            text = o.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        if isinstance(o, datetime.time):
            return o.isoformat()
        return super().default(o)


class Serializer(django_json.Serializer):
    def _init_options(self):
        super()._init_options()
        self.json_kwargs["cls"] = FullPrecisionEncoder


Deserializer = django_json.Deserializer
