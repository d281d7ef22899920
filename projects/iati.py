"""The published projects as an IATI 2.03 activities document (/api/v1/iati/activities.xml).

One `iati-activity` per published project, built from the tracker's own records and
nothing else: where the IATI standard wants a fact the sources do not state, the fact is
left out rather than made up. The choices, and why:

- Identifier: `<IATI_REPORTING_ORG_REF>-<project slug>`; the reporting organisation (the
  ministry, type 10 Government) comes from the settings of the same names.
- Dates: the tracker holds years only, and IATI's activity-date needs a full date. The
  start year becomes 1 January of that year and the end year 31 December, the bounds of
  the span the years state, and every such date carries a narrative saying that only the
  year is known; `cbt:years` (our own namespace, which IATI allows at the end of an
  activity) repeats the years themselves for machines. A start is "actual" (type 2) once
  the project has begun (ongoing, completed or suspended) and "planned" (type 1)
  otherwise; an end is "actual" (type 4) for a completed project and "planned" (type 3)
  otherwise, and never "actual" while it lies in the future. A year the sources do not
  state is left out. IATI requires at least one date, so a project with neither a start
  nor an end year cannot be an IATI activity without an invented date: it is left out of
  the activities and named, with the reason, in `cbt:omitted-projects` at the end of the
  document.
- Status: planned 1 (pipeline), ongoing 2 (implementation), completed 3 (completion:
  the work is done; the tracker records no administrative closure, which 4 would claim),
  cancelled 5, suspended 6.
- Participating organisations: the ministry as funding (1) and implementing (4)
  organisation; each partner in a counted role (recipient, host, co-host, co-chair,
  participant: projects.models.COUNTED_ROLES) as implementing (4): its forces take part in
  carrying out the activity, while extending (3) would claim it manages the ministry's
  funds, and IATI has no role for a co-organiser of its own. A venue (only the country
  where it took place) is no participating organisation: it is a `location`. Each
  co-operating country, named by a narrative (no IATI reference is known), as
  implementing (4) too. Partners are type 10 (Government), a regional organisation
  (ASEAN) type 40 (Multilateral).
- Recipient countries: the countries of the partners in the recipient role (not a host,
  co-chair or venue), without percentages (the sources do not
  say how the assistance divides between countries). ASEAN gets no recipient-region: no
  DAC region code is ASEAN.
- Sectors: every field in vocabulary 99 (our own: the field's slug as code, its name as
  narrative, the fields API as vocabulary-uri) and, where one clearly fits, the DAC
  5-digit purpose code (vocabulary 1), see FIELD_DAC_SECTORS. No percentages: fields
  carry no weights.
- The program is a vocabulary-99 tag; the project's public page is a document-link
  (category A12, activity web page).

Drafts never appear: whatever queryset the caller passes, only its published projects
are exported. Nor does a project with no status report: IATI requires an activity-status
and has no code for "not known", and the tracker does not guess one. A project's
activity-status is its latest status report's, and a second description (type 4,
"other") says the date that status is known as of.
"""

import datetime
from collections.abc import Iterable, Iterator
from xml.etree import ElementTree as ET
from xml.sax.saxutils import quoteattr

from django.conf import settings
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone, translation

from partners.models import Partner
from projects.models import COUNTED_ROLES, PartnerRole, Project, ProjectPartner

IATI_VERSION = "2.03"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Our own extension elements (IATI allows elements of other namespaces at the end of an
# activity and of the document). Not a fetchable address, only a name.
TRACKER_NS = "urn:x-capacity-building-tracker:iati"
ET.register_namespace("cbt", TRACKER_NS)

# Projects are read in chunks of this size with their partners and fields prefetched:
# three queries per chunk, however many projects a chunk holds.
CHUNK_SIZE = 1000

ORGANISATION_TYPE_GOVERNMENT = "10"
ORGANISATION_TYPE_MULTILATERAL = "40"
ROLE_FUNDING = "1"
ROLE_IMPLEMENTING = "4"

# IATI ActivityStatus codelist.
ACTIVITY_STATUS = {
    Project.Status.PLANNED: "1",  # Pipeline/identification
    Project.Status.ONGOING: "2",  # Implementation
    Project.Status.COMPLETED: "3",  # Completion
    Project.Status.CANCELLED: "5",  # Cancelled
    Project.Status.SUSPENDED: "6",  # Suspended
}
STARTED = {Project.Status.ONGOING, Project.Status.COMPLETED, Project.Status.SUSPENDED}

# IATI ActivityDateType codelist.
PLANNED_START, ACTUAL_START, PLANNED_END, ACTUAL_END = "1", "2", "3", "4"

# OECD DAC 5-digit purpose codes (IATI Sector codelist, vocabulary 1) for the fields one
# clearly fits. The others (maritime security, PKO, aviation, medicine, ...) have none:
# 15230 is participation in a peacekeeping operation itself, not training a partner's
# forces for one, and the rest of the codes describe civilian purposes.
DAC_SECTOR_NAMES = {
    "74020": "Multi-hazard response preparedness",
    "15250": "Removal of land mines and explosive remnants of war",
}
FIELD_DAC_SECTORS = {
    "ha-dr": "74020",
    "demining": "15250",
    "uxo-clearance": "15250",
}


def iati_activities_document(*, projects, base_url: str, now: datetime.datetime | None = None) -> bytes:
    """The whole document as bytes (see iati_activities_chunks for the contract)."""
    return b"".join(iati_activities_chunks(projects=projects, base_url=base_url, now=now))


def iati_activities_chunks(*, projects, base_url: str, now: datetime.datetime | None = None) -> Iterator[bytes]:
    """The published projects among `projects` (a Project queryset, filtered and ordered
    as the caller likes) as an IATI 2.03 activities document, a piece at a time.

    `base_url` ("https://tracker.example.org") makes the links absolute: the fields and
    programs APIs as vocabulary URIs, the public project pages. Three queries per
    CHUNK_SIZE projects (projects, partners, fields), however many partners and fields."""
    now = now or timezone.now()
    base_url = base_url.rstrip("/")
    projects = (
        projects.public()
        .exclude(status=Project.Status.NOT_REPORTED)
        .select_related("program")
        .prefetch_related(
            Prefetch(
                "projectpartner_set",
                queryset=ProjectPartner.objects.filter(partner__in=Partner.objects.public()).select_related("partner"),
                to_attr="public_links",
            ),
            "fields",
        )
    )
    with translation.override(settings.LANGUAGE_CODE):
        uris = {
            "fields": base_url + reverse("projects-api:field-list"),
            "programs": base_url + reverse("projects-api:program-list"),
        }
    omitted = []
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n'
    yield f'<iati-activities version="{IATI_VERSION}" generated-datetime={quoteattr(now.isoformat())}>\n'.encode()
    for project in projects.iterator(chunk_size=CHUNK_SIZE):
        if project.start_year is None and project.end_year is None:
            omitted.append(project)
            continue
        element = _activity(project, uris=uris, base_url=base_url, today=now.date())
        ET.indent(element, level=1)
        yield b"  " + ET.tostring(element, encoding="utf-8", xml_declaration=False) + b"\n"
    if omitted:
        yield _omitted(omitted, base_url=base_url)
    yield b"</iati-activities>\n"


def iati_activity_identifier(project) -> str:
    return f"{settings.IATI_REPORTING_ORG_REF}-{project.slug}"


def _activity(project, *, uris, base_url, today) -> ET.Element:
    activity = ET.Element(
        "iati-activity",
        {XML_LANG: "en", "last-updated-datetime": project.updated.isoformat()},
    )
    ET.SubElement(activity, "iati-identifier").text = iati_activity_identifier(project)
    reporting = ET.SubElement(
        activity, "reporting-org", {"ref": settings.IATI_REPORTING_ORG_REF, "type": ORGANISATION_TYPE_GOVERNMENT}
    )
    _narrative(reporting, settings.IATI_REPORTING_ORG_NAME)
    _narrative(ET.SubElement(activity, "title"), project.title)
    # IATI requires a description; a project without one is described by its title.
    _narrative(ET.SubElement(activity, "description", {"type": "1"}), project.description or project.title)
    with translation.override(settings.LANGUAGE_CODE):
        status = f"Status: {project.status_with_date} (its latest status report)."
    _narrative(ET.SubElement(activity, "description", {"type": "4"}), status)

    # A partner in a counted role takes part (participating-org, Implementing); a
    # recipient's country is a recipient-country; a venue only locates the activity.
    links = sorted(project.public_links, key=lambda link: link.partner.name)
    partners = [link.partner for link in links if link.role in COUNTED_ROLES]
    recipients = [link.partner for link in links if link.role == PartnerRole.RECIPIENT]
    venues = [link.partner for link in links if link.role == PartnerRole.VENUE]
    for role in (ROLE_FUNDING, ROLE_IMPLEMENTING):
        ministry = ET.SubElement(
            activity,
            "participating-org",
            {"ref": settings.IATI_REPORTING_ORG_REF, "type": ORGANISATION_TYPE_GOVERNMENT, "role": role},
        )
        _narrative(ministry, settings.IATI_REPORTING_ORG_NAME)
    for partner in partners:
        kind = ORGANISATION_TYPE_MULTILATERAL if partner.kind == Partner.Kind.ORGANISATION else None
        org = ET.SubElement(
            activity,
            "participating-org",
            {"type": kind or ORGANISATION_TYPE_GOVERNMENT, "role": ROLE_IMPLEMENTING},
        )
        _narrative(org, partner.name)
        if partner.name_ja:
            _narrative(org, partner.name_ja, lang="ja")
    for country in project.cooperating_countries:
        org = ET.SubElement(
            activity, "participating-org", {"type": ORGANISATION_TYPE_GOVERNMENT, "role": ROLE_IMPLEMENTING}
        )
        _narrative(org, str(country.name))

    ET.SubElement(activity, "activity-status", {"code": ACTIVITY_STATUS[project.status]})
    for date_type, date, year in _dates(project, today=today):
        element = ET.SubElement(activity, "activity-date", {"type": date_type, "iso-date": date.isoformat()})
        _narrative(element, f"Year only: the sources give the year {year}, not a day.")

    for code in sorted({p.country.code for p in recipients if p.country}):
        ET.SubElement(activity, "recipient-country", {"code": code})
    for venue in venues:
        location = ET.SubElement(activity, "location")
        _narrative(ET.SubElement(location, "name"), venue.name)
        _narrative(ET.SubElement(location, "description"), "Where it took place (the venue).")

    fields = list(project.fields.all())
    for code in sorted({FIELD_DAC_SECTORS[f.slug] for f in fields if f.slug in FIELD_DAC_SECTORS}):
        _narrative(ET.SubElement(activity, "sector", {"vocabulary": "1", "code": code}), DAC_SECTOR_NAMES[code])
    for field in fields:
        sector = ET.SubElement(
            activity, "sector", {"vocabulary": "99", "vocabulary-uri": uris["fields"], "code": field.slug}
        )
        _narrative(sector, field.name)
        if field.name_ja:
            _narrative(sector, field.name_ja, lang="ja")

    program = project.program
    tag = ET.SubElement(activity, "tag", {"vocabulary": "99", "vocabulary-uri": uris["programs"], "code": program.slug})
    _narrative(tag, program.name)
    if program.name_ja:
        _narrative(tag, program.name_ja, lang="ja")

    link = ET.SubElement(activity, "document-link", {"format": "text/html", "url": _page_url(project, base_url)})
    _narrative(ET.SubElement(link, "title"), project.title)
    ET.SubElement(link, "category", {"code": "A12"})

    years = {}
    if project.start_year is not None:
        years["start"] = str(project.start_year)
    if project.end_year is not None:
        years["end"] = str(project.end_year)
    ET.SubElement(activity, f"{{{TRACKER_NS}}}years", years)
    return activity


def _dates(project, *, today) -> Iterable[tuple[str, datetime.date, int]]:
    if project.start_year is not None:
        start = datetime.date(project.start_year, 1, 1)
        actual = project.status in STARTED and start <= today
        yield (ACTUAL_START if actual else PLANNED_START), start, project.start_year
    if project.end_year is not None:
        end = datetime.date(project.end_year, 12, 31)
        actual = project.status == Project.Status.COMPLETED and end <= today
        yield (ACTUAL_END if actual else PLANNED_END), end, project.end_year


def _narrative(parent, text, lang=None) -> None:
    element = ET.SubElement(parent, "narrative", {XML_LANG: lang} if lang else {})
    element.text = text


def _page_url(project, base_url) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return base_url + project.get_absolute_url()


def _omitted(projects, *, base_url) -> bytes:
    element = ET.Element(f"{{{TRACKER_NS}}}omitted-projects")
    for project in projects:
        item = ET.SubElement(
            element, f"{{{TRACKER_NS}}}project", {"slug": project.slug, "url": _page_url(project, base_url)}
        )
        item.text = "The sources state neither a start nor an end year, and IATI requires at least one date."
    ET.indent(element, level=1)
    return b"  " + ET.tostring(element, encoding="utf-8", xml_declaration=False) + b"\n"


def iati_errors_document(errors) -> bytes:
    """The API's error shape ({"errors": [{"code", "detail", "field"?}]}) as XML, for a
    client of the IATI endpoint that asked for XML only."""
    root = ET.Element("errors")
    for error in errors:
        attributes = {"code": str(error.get("code", "error"))}
        if error.get("field"):
            attributes["field"] = str(error["field"])
        ET.SubElement(root, "error", attributes).text = str(error.get("detail", ""))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
