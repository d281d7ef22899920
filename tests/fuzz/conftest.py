"""The fuzz suite's shared world. Its tally (every case tried, every server error found)
is printed at the end of the run by tests/conftest.py, from every worker."""

import pytest
from django.core.cache import cache


@pytest.fixture
def fuzz_world(project, draft_project):
    """A small data set: a published project with an activity and citations, a draft,
    and their partner, field, program and source. The cache starts empty: anonymous API
    answers are cached per data version, which a test's uncommitted writes do not move
    on, so an earlier test's answers would otherwise be served. The program has a dated
    event of its own, so its forms and endpoints are fuzzed with a record too."""
    from projects.models import ProgramEvent

    cache.clear()
    event = ProgramEvent.objects.create(
        program=project.program, title="The program launched", kind="announcement", year=2012, month=4
    )
    event.citations.create(source=project.citations.first().source, section="S", excerpt="launched in April 2012")
    return {"project": project, "draft": draft_project, "event": event}
