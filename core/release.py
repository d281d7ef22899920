"""The release: a short digest of what shapes the tracker's answers besides its data.

The response cache, the list counts and the streamed answers' ETags are keyed on the
data version, which moves with every write. A new release (code, templates,
translations, the libraries that format the answers) changes answers without a write:
keyed on the data version alone, a cache would go on serving the old release's bodies,
and a client's old ETag would still get a 304, until the next edit. `release()` joins
every such key, so a deploy starts from fresh entries.

TRACKER_RELEASE (the deploy's own name for the release, e.g. the commit) is used where
set; otherwise the digest of the files that shape answers, read once per process (a few
hundred files, about 20 ms, at the first request that needs it).
"""

import functools
import hashlib
from pathlib import Path

from django.conf import settings

# The folders under BASE_DIR whose files shape answers, and the files that do.
FOLDERS = ("core", "partners", "projects", "tracker", "locale")
SUFFIXES = {".py", ".html", ".txt", ".mo", ".json"}
# The libraries whose versions change how an answer is written.
LIBRARIES = ("django", "djangorestframework", "drf-spectacular", "orjson", "django-countries")


@functools.cache
def release() -> str:
    configured = getattr(settings, "TRACKER_RELEASE", "")
    if configured:
        return configured
    from importlib import metadata

    digest = hashlib.blake2b(digest_size=8)
    for name in LIBRARIES:
        try:
            digest.update(f"{name}=={metadata.version(name)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} absent\n".encode())
    base = Path(settings.BASE_DIR)
    for folder in FOLDERS:
        root = base / folder
        files = sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and "__pycache__" not in p.parts)
        for path in files:
            if path.is_file():
                digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
