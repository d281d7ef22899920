"""The seed data (fixtures/*.json) and `manage.py seed`.

The fixture files are checked as files (every excerpt is quoted word for word from its
source document, records are named by natural keys), then loaded through the seed
command into the test database and checked as records (every record cited and valid, the
table's projects with the table's years, seeding is safe to repeat).
"""

import io
import json
import re
import shutil
from collections import Counter
from functools import cache

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from partners.models import Partner
from projects.citations import NOTE_SUFFIX, excerpt_pattern
from projects.management.commands.seed import FIXTURE_FILES, fixture_paths
from projects.models import (
    CITATION_TARGETS,
    COUNTED_ROLES,
    Activity,
    Citation,
    Field,
    PartnerRole,
    Program,
    ProgramEvent,
    Project,
    ProjectPartner,
    Source,
    StatusReport,
)

TRACKER_MODELS = [Source, Field, Program, ProgramEvent, Partner, Project, Activity, StatusReport, Citation]
CITED_MODELS = [Partner, Field, Program, ProgramEvent, Project, Activity, StatusReport]
TARGETS = CITATION_TARGETS
ASEAN_MEMBER_STATES = {"BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN"}
# "A short passage": enough words to be found in one place, few enough to be a quotation.
EXCERPT_WORDS = (3, 45)


# --- the fixture files, read as files -----------------------------------------------


@cache
def fixture(name):
    return json.loads((settings.BASE_DIR / "fixtures" / name).read_text(encoding="utf-8"))


def entries(label):
    """The `fields` of every fixture entry of the given model, across all files."""
    return [e["fields"] for name in FIXTURE_FILES for e in fixture(name) if e["model"] == label]


def source_files():
    return {s["slug"]: s["filename"] for s in entries("projects.source")}


@cache
def source_text(filename):
    return (settings.SOURCES_DIR / filename).read_text(encoding="utf-8")


def citation_target(citation):
    named = [(t, citation[t]) for t in TARGETS if citation.get(t) is not None]
    return " ".join(f"{t} {'/'.join(key)}" for t, key in named) or "no target"


CITATIONS = fixture("citations.json")
CITATION_IDS = [f"{i}-{citation_target(c['fields']).replace(' ', '-')}" for i, c in enumerate(CITATIONS)]


class TestExcerptMatching:
    """The comparison forgives what PDF extraction does to a text, and nothing else."""

    TEXT = (
        "Japan’s MOD took the ini-\ntiative as a co-\nchair of the   EWG\non military medicine, a co-hosted exercise."
    )

    @pytest.mark.parametrize(
        "excerpt",
        [
            "took the initiative as a co-chair",
            "the ini-tiative as a co- chair",
            "of the EWG on military medicine, a co-hosted exercise.",
            "Japan’s MOD took",
        ],
    )
    def test_it_finds_an_excerpt_across_line_breaks_and_hyphenation(self, excerpt):
        assert excerpt_pattern(excerpt).search(self.TEXT)

    @pytest.mark.parametrize(
        "excerpt",
        [
            "Japan's MOD took",  # a straight apostrophe where the source has a curly one
            "a cohosted exercise",  # a hyphen the source prints mid-line is kept
            "the EWG on Military medicine",  # case
            "the EWG on military medicines",
            "took the initiative as co-chair",  # a missing word
        ],
    )
    def test_it_refuses_an_excerpt_that_differs_otherwise(self, excerpt):
        assert not excerpt_pattern(excerpt).search(self.TEXT)


@pytest.mark.parametrize("index", range(len(CITATIONS)), ids=CITATION_IDS)
def test_every_excerpt_occurs_in_its_source(index):
    citation = CITATIONS[index]["fields"]
    filename = source_files()[citation["source"][0]]
    assert excerpt_pattern(citation["excerpt"]).search(source_text(filename)), (
        f"citations.json entry {index} ({citation_target(citation)}): the excerpt is not in {filename}: "
        f"{citation['excerpt']!r}"
    )


@pytest.mark.parametrize("index", range(len(CITATIONS)), ids=CITATION_IDS)
def test_every_citation_section_is_a_heading_of_its_source_that_precedes_the_excerpt(index):
    citation = CITATIONS[index]["fields"]
    text = source_text(source_files()[citation["source"][0]])
    heading = NOTE_SUFFIX.sub("", citation["section"])
    found = re.compile(excerpt_pattern(heading).pattern, re.IGNORECASE).search(text)
    assert found, f"citations.json entry {index}: the section {heading!r} is not a heading of its source"
    if heading == citation["section"]:  # footnotes may sit after the next heading
        excerpt_at = excerpt_pattern(citation["excerpt"]).search(text, found.start())
        assert excerpt_at, f"citations.json entry {index}: the excerpt is not under the heading {heading!r}"


def test_every_excerpt_is_a_short_passage():
    low, high = EXCERPT_WORDS
    wrong = [
        f"{i} ({citation_target(c['fields'])}): {len(c['fields']['excerpt'].split())} words"
        for i, c in enumerate(CITATIONS)
        if not low <= len(c["fields"]["excerpt"].split()) <= high
    ]
    assert not wrong, f"Excerpts should be {low}–{high} words: {wrong}"


def test_every_citation_supports_exactly_one_record():
    wrong = [i for i, c in enumerate(CITATIONS) if sum(c["fields"].get(t) is not None for t in TARGETS) != 1]
    assert not wrong, f"citations.json entries with no target or several: {wrong}"


def test_fixtures_name_records_by_natural_key_not_by_primary_key():
    for name in FIXTURE_FILES:
        for i, entry in enumerate(fixture(name)):
            assert set(entry) == {"model", "fields"}, f"{name} entry {i} has keys {sorted(entry)}"
    for label, relations in {
        "partners.partner": ["parent"],
        "projects.project": ["program", "partners", "fields"],
        "projects.projectpartner": ["project", "partner"],
        "projects.activity": ["project"],
        "projects.statusreport": ["project"],
        "projects.citation": ["source", *TARGETS],
    }.items():
        for fields in entries(label):
            for relation in relations:
                value = fields.get(relation)
                assert value is None or isinstance(value, list), f"{label} {fields}: {relation} is not a natural key"


def test_the_files_load_in_dependency_order():
    order = [e["model"] for name in FIXTURE_FILES for e in fixture(name)]
    expected = ["projects.source", "projects.field", "projects.program", "projects.programevent", "partners.partner"]
    expected += ["projects.project", "projects.activity", "projects.projectpartner", "projects.statusreport"]
    expected += ["projects.citation"]
    firsts = sorted(set(order), key=order.index)
    assert firsts == expected
    positions = {label: [i for i, m in enumerate(order) if m == label] for label in expected}
    for before, after in zip(expected, expected[1:], strict=False):
        assert max(positions[before]) < min(positions[after]), f"{before} must all come before {after}"
    # A service comes after the partner it belongs to.
    seen = set()
    for partner in entries("partners.partner"):
        assert partner["parent"] is None or partner["parent"][0] in seen, partner["slug"]
        seen.add(partner["slug"])


def test_every_activity_has_an_explicit_slug_unique_within_its_project():
    slugs = Counter((a["project"][0], a.get("slug")) for a in entries("projects.activity"))
    assert all(slug for _, slug in slugs), "an activity without a slug"
    assert [key for key, n in slugs.items() if n > 1] == []


def test_partners_are_countries_their_services_or_asean():
    partners = {p["slug"]: p for p in entries("partners.partner")}
    for slug, partner in partners.items():
        assert partner["published"] is True, slug
        if partner["kind"] == "organisation":
            assert partner["country"] == "" and partner["parent"] is None, slug
            continue
        assert partner["asean_member"] is (partner["country"] in ASEAN_MEMBER_STATES), slug
        if partner["kind"] == "country":
            assert partner["parent"] is None, slug
        else:
            parent = partners[partner["parent"][0]]
            assert parent["kind"] == "country" and parent["country"] == partner["country"], slug
            assert parent["region"] == partner["region"], slug
    assert sorted(p["country"] for p in partners.values() if p["asean_member"] and p["kind"] == "country") == sorted(
        ASEAN_MEMBER_STATES
    )


def test_every_partner_field_and_program_has_a_japanese_name():
    for label in ["partners.partner", "projects.field", "projects.program"]:
        missing = [e["slug"] for e in entries(label) if not e.get("name_ja", "").strip()]
        assert not missing, f"{label} without a Japanese name: {missing}"


def test_sources_are_the_two_documents():
    files = {s["filename"] for s in entries("projects.source")}
    assert files == {"000_89ed16d3c4fe2a14.txt", "003_c2942d8e51fc462d.txt"}
    for filename in files:
        assert (settings.SOURCES_DIR / filename).is_file()


# --- the seed command and what it loads ----------------------------------------------


def seed(*args):
    out = io.StringIO()
    call_command("seed", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db):
    assert not Partner.objects.exists(), "the test database should start empty"
    return seed()


def _history_models():
    models = [m.history.model for m in TRACKER_MODELS]
    for field in Project._meta.many_to_many:
        models += [field.remote_field.through, getattr(Project.history.model, field.name).model]
    return models


def snapshot():
    """Every row of every tracker table, history and many-to-many links included."""
    return {m._meta.label: sorted(map(repr, m.objects.values())) for m in TRACKER_MODELS + _history_models()}


def _counted_projects_of(partner):
    return ProjectPartner.objects.filter(partner=partner, role__in=COUNTED_ROLES).values("project_id")


def test_seed_loads_every_fixture_record_into_an_empty_database(seeded):
    assert "Loaded the seed data" in seeded
    for model in TRACKER_MODELS:
        assert model.objects.count() == len(entries(model._meta.label_lower)), model._meta.label
    projects = entries("projects.project")
    roles = entries("projects.projectpartner")
    assert ProjectPartner.objects.count() == sum(len(p["partners"]) for p in projects) + len(roles)
    # A project's `partners` are its recipients; every other role is an entry of its own.
    assert ProjectPartner.objects.filter(role=PartnerRole.RECIPIENT).count() == sum(
        len(p["partners"]) for p in projects
    )
    for link in roles:
        assert link["role"] != PartnerRole.RECIPIENT, link
        stored = ProjectPartner.objects.get(project__slug=link["project"][0], partner__slug=link["partner"][0])
        assert stored.role == link["role"]
    assert Project.fields.through.objects.count() == sum(len(p["fields"]) for p in projects)


def test_every_partner_field_program_project_and_activity_has_a_citation(seeded):
    for model in CITED_MODELS:
        uncited = list(model.objects.filter(citations__isnull=True))
        assert not uncited, f"{model._meta.verbose_name_plural} without a citation: {uncited}"


def test_every_loaded_record_passes_full_clean(seeded):
    errors = []
    for model in TRACKER_MODELS:
        for obj in model.objects.all():
            try:
                obj.full_clean()
            except ValidationError as exc:
                errors.append(f"{model._meta.label} {obj}: {exc.message_dict}")
    assert not errors, "\n".join(errors)


# The table "Japan's Capacity Building Assistance to ASEAN Countries" (Shoji 2015), row by
# row: project slug -> (partner country, field, start year, end year).
TABLE = {
    "cambodia-engineering": ("KH", "engineering", 2013, 2014),
    "indonesia-maritime-security": ("ID", "maritime-security", 2013, 2014),
    "indonesia-international-aviation-law": ("ID", "international-aviation-law", 2015, 2015),
    "myanmar-underwater-medicine": ("MM", "underwater-medicine", 2014, 2014),
    "myanmar-aviation-meteorology": ("MM", "aviation-meteorology", 2015, 2015),
    "myanmar-hadr": ("MM", "ha-dr", 2015, 2015),
    "philippines-air-transport": ("PH", "air-transport", 2015, 2015),
    "vietnam-underwater-medicine": ("VN", "underwater-medicine", 2012, 2015),
    "vietnam-pko": ("VN", "pko", 2013, 2013),
    "vietnam-aviation-safety": ("VN", "aviation-safety", 2013, 2014),
    "vietnam-hadr": ("VN", "ha-dr", 2014, 2014),
    "vietnam-international-aviation-law": ("VN", "international-aviation-law", 2015, 2015),
}


@pytest.mark.parametrize("slug", TABLE)
def test_the_tables_projects_have_exactly_the_tables_years(seeded, slug):
    country, field, start, end = TABLE[slug]
    project = Project.objects.get(slug=slug)
    assert (project.start_year, project.end_year) == (start, end)
    assert project.program.slug == "capacity-building-assistance"
    assert {p.country.code for p in project.partners.all()} == {country}
    assert [f.slug for f in project.fields.all()] == [field]
    assert project.citations.filter(section__startswith="Table:").exists()


def test_the_table_has_no_other_capacity_building_project_in_its_years(seeded):
    # Every table-era (2012-2015) capacity building project for these five countries is a table row.
    table_era = Project.objects.filter(
        program__slug="capacity-building-assistance",
        start_year__gte=2012,
        end_year__lte=2015,
        partners__country__in=["KH", "ID", "MM", "PH", "VN"],
    ).distinct()
    assert sorted(p.slug for p in table_era) == sorted(TABLE)


def test_a_year_stays_a_year(seeded):
    underwater = Project.objects.get(slug="vietnam-underwater-medicine")
    assert underwater.activities.count() == 0  # five seminars, no dates: a count in the description
    assert "five seminars" in underwater.description
    first_vessel = Activity.objects.get_by_natural_key("vietnam-coast-guard-vessels", "first-vessel-arrives-in-danang")
    assert (first_vessel.year, first_vessel.month, first_vessel.day) == (2015, 2, None)
    call = Activity.objects.get(slug="defense-ministers-telephone-conversation")
    assert (call.year, call.month, call.day) == (2020, 5, 12)
    assert Project.objects.get(slug="japan-asean-ship-rider-cooperation-program").start_year is None


def test_statuses_fit_the_years(seeded):
    """Every status is known as of a date (its latest report's); a completed project has
    an end year, and was known to be completed no earlier than that year."""
    for project in Project.objects.all():
        assert project.published, project.slug
        reported = project.status != Project.Status.NOT_REPORTED
        assert reported == (project.status_year is not None), project.slug
        assert reported == project.status_reports.exists(), project.slug
        if project.status == Project.Status.COMPLETED:
            assert project.end_year is not None, f"{project.slug}: completed but no end year"
            assert project.status_year >= project.end_year, f"{project.slug}: completed before its end year"
    assert Project.objects.get(slug="balikatan-hadr").status == Project.Status.ONGOING
    # The table gives its years (2013-4) and nothing of its status: not reported, not a guess.
    assert Project.objects.get(slug="cambodia-engineering").status == Project.Status.NOT_REPORTED
    vessels = Project.objects.get(slug="vietnam-coast-guard-vessels")
    assert (vessels.status, vessels.status_as_of, vessels.status_reports.count()) == ("ongoing", "2015-02", 2)


def test_every_project_has_a_partner(seeded):
    assert not Project.objects.filter(partners__isnull=True).exists()


# What a project's citations must say for a partner to have a role other than recipient.
ROLE_WORDS = {
    PartnerRole.CO_CHAIR: re.compile(r"co-?chair", re.IGNORECASE),
    PartnerRole.HOST: re.compile(r"hosted by", re.IGNORECASE),
    PartnerRole.CO_HOST: re.compile(r"co-?host", re.IGNORECASE),
    PartnerRole.PARTICIPANT: re.compile(r"participat|joined|exercise", re.IGNORECASE),
    PartnerRole.VENUE: re.compile(r"\b(in|held in)\s+(the\s+)?{name}", re.IGNORECASE),
}


def _states_role(excerpt, name, role):
    if name.lower() not in excerpt.lower():
        return False
    if role == PartnerRole.VENUE:
        return bool(re.search(ROLE_WORDS[role].pattern.format(name=re.escape(name)), excerpt, re.IGNORECASE))
    return bool(ROLE_WORDS[role].search(excerpt))


def test_every_partner_role_is_stated_by_a_citation_of_its_project(seeded):
    """A host, co-chair, participant or venue is what a passage cited for the project says
    of that partner: the passage names the partner (or its country, or says "Philippine"
    of the Philippines) and the role."""
    links = ProjectPartner.objects.exclude(role=PartnerRole.RECIPIENT).select_related("partner", "project")
    assert links.count() == len(entries("projects.projectpartner"))
    for link in links:
        names = {link.partner.name}
        if link.partner.country:
            country = str(link.partner.country.name)
            names |= {country, country.removesuffix("s")}
        excerpts = list(link.project.citations.values_list("excerpt", flat=True))
        stated = any(_states_role(e, n, link.role) for e in excerpts for n in names)
        assert stated, f"{link}: no citation of the project states the role"


def test_a_country_that_only_hosted_an_event_is_not_counted_as_its_partner(seeded):
    brunei = Partner.objects.get(slug="brunei")
    ftx = Project.objects.get(slug="admm-plus-hadr-military-medicine-ftx-brunei-2013")
    assert ProjectPartner.objects.get(project=ftx, partner=brunei).role == PartnerRole.VENUE
    assert ftx not in Project.objects.filter(pk__in=_counted_projects_of(brunei))


def test_every_seeded_record_has_a_baseline_history_record(seeded):
    for model in TRACKER_MODELS:
        recorded = set(model.history.filter(history_type="+").values_list("id", flat=True))
        assert recorded == set(model.objects.values_list("pk", flat=True)), model._meta.label
    for project in Project.objects.all():
        baseline = project.history.get()
        then = {(p.partner_id, p.role) for p in baseline.partners.all()}
        assert then == set(ProjectPartner.objects.filter(project=project).values_list("partner_id", "role"))
        assert {f.field_id for f in baseline.fields.all()} == set(project.fields.values_list("pk", flat=True))


def test_every_project_can_be_found_by_search(seeded):
    assert not Project.objects.filter(search_document="").exists()
    assert "ベトナム" in Project.objects.get(slug="vietnam-pko").search_document


def test_seeding_a_database_that_holds_the_seed_changes_nothing(seeded):
    before = snapshot()
    out = seed()
    assert "Skipped" in out and "seed --reload" in out
    assert snapshot() == before


def test_seeding_a_database_with_staff_data_changes_nothing(db, program):
    before = snapshot()
    out = seed()
    assert "Skipped" in out and "programs" in out
    assert snapshot() == before
    assert not Partner.objects.exists()


def test_reload_replaces_the_tracker_data_and_keeps_users(seeded, editor):
    project = Project.objects.get(slug="vietnam-pko")
    project.title = "Edited by staff"
    project.save()
    Partner.objects.create(name="Not in the seed", slug="not-in-the-seed", country="JP", region="east_asia")

    out = seed("--reload")

    assert "Deleted" in out and "Loaded the seed data" in out
    assert Project.objects.get(slug="vietnam-pko").title == "Vietnam: PKO"
    assert not Partner.objects.filter(slug="not-in-the-seed").exists()
    for model in TRACKER_MODELS:
        assert model.objects.count() == len(entries(model._meta.label_lower)), model._meta.label
    assert type(editor).objects.filter(pk=editor.pk).exists()
    # The deletions are in the history, and the reloaded records have a baseline of their own.
    assert Project.history.filter(slug="vietnam-pko", history_type="-").exists()
    new = Project.objects.get(slug="vietnam-pko")
    assert new.history.filter(history_type="+").count() == 1


@pytest.mark.parametrize("args", [("everything",), ("--reload=yes",), ("--relaod",)])
def test_seed_refuses_bad_arguments_with_a_command_error(db, args):
    with pytest.raises(CommandError):
        call_command("seed", *args, stdout=io.StringIO())
    assert not Partner.objects.exists()


def test_seed_names_a_missing_fixture_file(db, settings, tmp_path):
    (tmp_path / "fixtures").mkdir()
    settings.BASE_DIR = tmp_path
    with pytest.raises(CommandError, match="sources.json"):
        seed()


def test_a_seed_that_fails_to_load_leaves_the_database_as_it_was(db, settings, tmp_path):
    folder = tmp_path / "fixtures"
    folder.mkdir()
    for path in fixture_paths():
        shutil.copy(path, folder / path.name)
    broken = json.loads((folder / "citations.json").read_text(encoding="utf-8"))
    for target in TARGETS:
        broken[-1]["fields"].pop(target, None)
    broken[-1]["fields"]["project"] = ["no-such-project"]
    (folder / "citations.json").write_text(json.dumps(broken), encoding="utf-8")
    settings.BASE_DIR = tmp_path

    with pytest.raises(CommandError, match="nothing was changed"):
        seed()
    for model in TRACKER_MODELS:
        assert not model.objects.exists(), model._meta.label


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip


def test_every_status_report_has_a_citation_that_gives_its_date():
    """A status is known as of a date a source gives: the report's excerpts hold its year
    (one of them) and, where the report gives a month, the month's name (one of them, as
    "in March of the same year" beside "In 2015")."""
    cited = {}
    for citation in entries("projects.citation"):
        if citation.get("status_report"):
            cited.setdefault(tuple(citation["status_report"]), []).append(" ".join(citation["excerpt"].split()))
    wrong = []
    for report in entries("projects.statusreport"):
        key = (*report["project"], report["slug"])
        wanted = [str(report["year"])] + ([MONTHS[report["month"] - 1]] if report["month"] else [])
        excerpts = cited.get(key, [])
        if not all(any(w in excerpt for excerpt in excerpts) for w in wanted):
            wrong.append(f"{'/'.join(key)} (wants {' '.join(wanted)})")
    assert not wrong, f"Status reports with no citation giving their date: {wrong}"


def test_no_project_fixture_states_a_status_of_its_own():
    """A project's status is its latest status report's, never a value of its own."""
    wrong = [p["slug"] for p in entries("projects.project") if "status" in p]
    assert not wrong, f"projects.json gives a status: {wrong}"


def years_stated(excerpt):
    """The years an excerpt states: each four-digit year, and the end of a range written as
    the 2015 table writes it ("(2013-4)": 2013 to 2014; "2012-15"; "2012–2015")."""
    text = " ".join(excerpt.split())
    years = {int(y) for y in re.findall(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)", text)}
    for start, end in re.findall(r"(?<!\d)((?:19|20)\d\d)\s*[-–]\s*(\d{1,4})(?!\d)", text):
        years.add(int(start[: 4 - len(end)] + end))
    return years


@pytest.mark.parametrize(
    "excerpt, years",
    [
        ("Cambodia Engineering (2013-4)", {2013, 2014}),
        ("Vietnam Underwater medicine (2012-5), PKO (2013)", {2012, 2015, 2013}),
        ("from 2012–2015 and in 2020", {2012, 2015, 2020}),
        ("ship No. 20150 sailed", set()),
    ],
)
def test_years_stated_reads_the_sources_notations(excerpt, years):
    assert years_stated(excerpt) == years


def test_every_project_year_has_a_citation_of_the_project_that_states_it():
    """A start or end year is recorded only where a source states it: one of the project's
    own citations holds that year (not only an activity's: a project does not start with
    the earliest event cited)."""
    stated = {}
    for citation in entries("projects.citation"):
        if citation.get("project"):
            stated.setdefault(citation["project"][0], set()).update(years_stated(citation["excerpt"]))
    wrong = [
        f"{project['slug']} {name} {project[name]}"
        for project in entries("projects.project")
        for name in ("start_year", "end_year")
        if project.get(name) is not None and project[name] not in stated.get(project["slug"], set())
    ]
    assert not wrong, f"Project years no citation of the project states: {wrong}"


def test_every_activity_date_has_a_citation_of_the_activity_that_gives_it():
    """An activity's year (and its month's name, where it has a month) is stated by one of
    its own citations, not only by a neighbouring sentence cited for something else."""
    cited = {}
    for citation in entries("projects.citation"):
        if citation.get("activity"):
            cited.setdefault(tuple(citation["activity"]), []).append(" ".join(citation["excerpt"].split()))
    wrong = []
    for activity in entries("projects.activity"):
        key = (*activity["project"], activity["slug"])
        excerpts = cited.get(key, [])
        year_ok = any(activity["year"] in years_stated(e) for e in excerpts)
        month_ok = not activity["month"] or any(MONTHS[activity["month"] - 1] in e for e in excerpts)
        if not (year_ok and month_ok):
            wrong.append("/".join(key))
    assert not wrong, f"Activities with no citation of their own giving their date: {wrong}"


def test_every_passage_a_staff_note_quotes_is_cited_on_its_record():
    """A note for staff that records a contradiction or an error quotes the passages it
    weighs, and the record cites each of them (both sides of a contradiction)."""
    cited = {}
    for citation in entries("projects.citation"):
        for target in ("project", "activity"):
            if citation.get(target):
                cited.setdefault((target, tuple(citation[target])), []).append(" ".join(citation["excerpt"].split()))
    records = [("project", (p["slug"],), p) for p in entries("projects.project")]
    records += [("activity", tuple(a["project"]) + (a["slug"],), a) for a in entries("projects.activity")]
    noted = [(target, key, record["staff_note"]) for target, key, record in records if record.get("staff_note")]
    assert len(noted) >= 4
    wrong = [
        f"{target} {'/'.join(key)}: “{quote}”"
        for target, key, note in noted
        for quote in re.findall(r"“([^”]+)”", note)
        if not any(quote in excerpt for excerpt in cited.get((target, key), []))
    ]
    assert not wrong, f"Passages staff notes quote that their record does not cite: {wrong}"


def test_every_program_event_has_a_citation_that_gives_its_date():
    """A program's dated event (the Vientiane Vision's announcement and update) is cited
    by passages that hold its year and, where it has one, its month's name."""
    cited = {}
    for citation in entries("projects.citation"):
        if citation.get("program_event"):
            cited.setdefault(tuple(citation["program_event"]), []).append(" ".join(citation["excerpt"].split()))
    events = entries("projects.programevent")
    assert {e["slug"] for e in events} >= {"vientiane-vision-announced", "updating-the-vientiane-vision"}
    wrong = []
    for event in events:
        key = (*event["program"], event["slug"])
        wanted = [str(event["year"])] + ([MONTHS[event["month"] - 1]] if event["month"] else [])
        if not all(any(w in excerpt for excerpt in cited.get(key, [])) for w in wanted):
            wrong.append(f"{'/'.join(key)} (wants {' '.join(wanted)})")
    assert not wrong, f"Program events with no citation giving their date: {wrong}"
