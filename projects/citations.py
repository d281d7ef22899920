"""Checking a citation against the text of its source document.

A citation quotes its source word for word. The text copies of the sources (plain text in
`settings.SOURCES_DIR`, named by `Source.filename`) were extracted from PDFs, so the
comparison forgives what extraction does to a text, and nothing else: any run of
whitespace matches any run (line breaks included), a hyphen may end a line, and a word
may be split across lines by a hyphen ("ini-\\ntiative" matches "initiative"). Quotes,
case and every other character must be exactly as in the source.

`check_citation()` is what saving a citation runs (the model's `clean()`, so the admin,
its inlines and any form or serializer that validates the model): an excerpt that is not
in a source whose text is on file is an error on the excerpt; a section that is not a
heading of that text is an error on the section. A source with no text on file cannot
be checked: its citations are saved as "not verified" (`Citation.verified` is False),
which the public pages and the API show and staff can list in the admin.
"""

import functools
import os
import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# A citation of a footnote names the section the note belongs to and the note: "... (note 12)".
NOTE_SUFFIX = re.compile(r"\s*\(note \d+\)$")


def excerpt_pattern(excerpt, flags=0):
    """A pattern that finds `excerpt` in a text extracted from a PDF (see the module's
    docstring for what it forgives)."""
    text = " ".join(excerpt.split())
    parts = []
    for i, char in enumerate(text):
        if char == " ":
            parts.append(r"\s+")
        elif char == "-":
            parts.append(r"-\s*")
        else:
            parts.append(re.escape(char))
            following = text[i + 1] if i + 1 < len(text) else ""
            if char.isalnum() and following.isalnum():
                parts.append(r"(?:-[ \t]*\n\s*)?")
    return re.compile("".join(parts), flags)


def source_path(filename):
    """The path of a source's text copy in SOURCES_DIR, or None when `filename` is empty
    or names anything but a plain file name (no folders, so nothing outside SOURCES_DIR
    can be read through a source)."""
    if not filename or filename != os.path.basename(filename) or filename in {".", ".."}:
        return None
    return Path(settings.SOURCES_DIR) / filename


def source_text(filename):
    """The text of a source's copy in SOURCES_DIR, or None when there is none to read.
    Read again when the file changes (its size or modification time)."""
    path = source_path(filename)
    try:
        stat = path.stat() if path is not None else None
    except OSError:
        return None
    if stat is None or not path.is_file():
        return None
    return _read(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _read(path, mtime_ns, size):
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def check_citation(source, section, excerpt):
    """Whether the citation could be verified (True), or could not because its source has
    no text on file (False). Raises ValidationError, keyed by field, when the source's text
    is on file and the excerpt is not in it, or the section is not one of its headings, or
    the excerpt is not under that heading."""
    text = source_text(source.filename) if source is not None else None
    if text is None or not excerpt or not excerpt.strip():
        return False
    errors = {}
    found = excerpt_pattern(excerpt).search(text)
    if not found:
        errors["excerpt"] = _(
            "This passage does not occur in the source's text (%(file)s). An excerpt quotes the source "
            "word for word: line breaks and hyphenation may differ, nothing else."
        ) % {"file": source.filename}
    heading = NOTE_SUFFIX.sub("", section or "").strip()
    if heading:
        at = excerpt_pattern(heading, re.IGNORECASE).search(text)
        if not at:
            errors["section"] = _("This is not a heading of the source's text (%(file)s).") % {"file": source.filename}
        elif found and heading == section.strip() and not excerpt_pattern(excerpt).search(text, at.start()):
            # A footnote's citation ("... (note 12)") may sit after the next heading.
            errors["section"] = _("The excerpt is not under this heading in the source's text.")
    if errors:
        raise ValidationError(errors)
    return True


def verified(source, section, excerpt):
    """Whether a citation as saved is verified: its source's text is on file and the
    check passes. Never raises (for saves that did not run `clean()`)."""
    try:
        return check_citation(source, section, excerpt)
    except ValidationError:
        return False
