"""Check every citation against the text of its source again, and store the outcome.

Run it after adding a source's text file to SOURCES_DIR, or after changing one: the
citations of that source become verified (or are listed as not matching). Exits with an
error when a citation of a source whose text is on file does not occur in it (possible
only for a record saved without validation, or a text file that changed since).
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from projects.citations import check_citation, source_text
from projects.models import Citation


class Command(BaseCommand):
    help = "Check every citation's excerpt against its source's text in SOURCES_DIR and store the outcome."

    def handle(self, *args, **options):
        verified, unverified = Citation.objects.all().recheck()
        mismatched, no_text = [], set()
        for citation in Citation.objects.filter(verified=False).select_related("source").order_by("id"):
            if source_text(citation.source.filename) is None:
                no_text.add(citation.source.slug)
                continue
            try:
                check_citation(citation.source, citation.section, citation.excerpt)
            except ValidationError as exc:
                problems = "; ".join(f"{name}: {' '.join(m)}" for name, m in exc.message_dict.items())
                mismatched.append(f"citation #{citation.pk} ({citation.source.slug}): {problems}")
        self.stdout.write(f"{verified} citation(s) verified, {unverified} not verified.")
        if no_text:
            self.stdout.write(f"No text on file in SOURCES_DIR for: {', '.join(sorted(no_text))}.")
        if mismatched:
            raise CommandError(
                f"{len(mismatched)} citation(s) do not occur in their source's text:\n" + "\n".join(mismatched)
            )
