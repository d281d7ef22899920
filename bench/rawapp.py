"""The raw limit of the stack, for bench/run.py: a WSGI app with no framework that runs
the same SQL as the tracker through psycopg and returns the same JSON, and one that
returns a fixed pre-built body (the limit of HTTP serving itself).

    BENCH_RAW_DSN=postgres://... BENCH_RAW_NAMES=/tmp/names.json \
        gunicorn bench.rawapp:application

Routes (anonymous view: published, public projects only):
- /raw/projects/?country=..&field=..&year=..&q=..&page=..&page_size=..  the API's project list
- /raw/reports/counts/?group_by=field,year                               the counts report
- /fixed  and  /fixed-304                                                 a fixed body; an empty 304

It handles exactly the parameters the benchmark sends, nothing more: it is a yardstick,
not a second implementation of the API. Country names and status labels come from a
file the harness writes with the tracker's own translations (BENCH_RAW_NAMES), so the
JSON is the same, byte for byte.
"""

import calendar
import json
import os
from urllib import parse

import psycopg

try:
    import orjson

    def dumps(value):
        return orjson.dumps(value)

except ImportError:  # the fastest JSON available is the raw limit

    def dumps(value):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


_NAMES = None
_CONNECTION = None
FIXED = {"body": b"", "etag": ""}


def _names():
    global _NAMES
    if _NAMES is None:
        with open(os.environ["BENCH_RAW_NAMES"], encoding="utf-8") as f:
            _NAMES = json.load(f)
    return _NAMES


def _cursor():
    """One connection per worker process, kept open (like CONN_MAX_AGE)."""
    global _CONNECTION
    if _CONNECTION is None or _CONNECTION.closed:
        _CONNECTION = psycopg.connect(os.environ["BENCH_RAW_DSN"], autocommit=True)
    return _CONNECTION.cursor()


SEARCH = "to_tsvector('english'::regconfig, COALESCE(p.search_document, ''))"


def _where(params, cur):
    """The ProjectFilterSet's conditions for the parameters the benchmark uses, as it runs
    them on PostgreSQL: partners and fields by the ids kept on each project row."""
    clauses, args = ["p.published AND p.releasability = 'public'"], []
    countries = [c.upper() for c in params.get("country", [])]
    if countries:
        clauses.append(
            "p.partner_ids && ARRAY(SELECT id FROM partners_partner "
            "WHERE published AND releasability = 'public' AND country = ANY(%s))::bigint[]"
        )
        args.append(countries)
    fields = params.get("field", [])
    if fields:
        cur.execute("SELECT id FROM projects_field WHERE slug = ANY(%s)", [fields])
        clauses.append("p.field_ids && %s::bigint[]")
        args.append([row[0] for row in cur.fetchall()])
    if params.get("year"):
        year = int(params["year"][0])
        clauses.append("p.active_until >= %s AND p.start_year <= %s")
        args += [year, year]
    q = params.get("q", [""])[0].strip()
    if q:
        clauses.append(f"{SEARCH} @@ websearch_to_tsquery('english'::regconfig, %s)")
        args.append(q)
    return " AND ".join(clauses), args


def _years(start, end):
    if start is None:
        return "years not stated" if end is None else f"–{end}"
    if end is None:
        return f"{start}–"
    if start == end:
        return str(start)
    return f"{start}–{end}"


def _date(year, month, day):
    if month is None:
        return str(year)
    if day is None:
        return f"{calendar.month_name[month]} {year}"
    return f"{day} {calendar.month_name[month]} {year}"


def _cited(cur, column, ids):
    """The citations of the records `ids` (by the citation's foreign key `column`), as the
    API shows them, by record."""
    cur.execute(
        f"SELECT c.{column}, s.slug, s.title, s.year, c.section, c.excerpt, c.verified FROM projects_citation c "
        f"JOIN projects_source s ON s.id = c.source_id WHERE c.{column} = ANY(%s) "
        "AND c.releasability = 'public' ORDER BY s.year, s.title, c.id",
        [ids],
    )
    lists = {}
    for oid, slug, title, year, section, excerpt, verified in cur:
        lists.setdefault(oid, []).append(
            {"source": {"slug": slug, "title": title, "year": year}, "section": section, "excerpt": excerpt,
             "verified": bool(verified)}
        )  # fmt: skip
    return lists


def _iso_date(year, month, day):
    if month is None:
        return f"{year:04d}"
    if day is None:
        return f"{year:04d}-{month:02d}"
    return f"{year:04d}-{month:02d}-{day:02d}"


def _iso(value):
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _link(base, query, page):
    query_dict = parse.parse_qs(query, keep_blank_values=True)
    if page == 1:
        query_dict.pop("page", None)
    else:
        query_dict["page"] = [str(page)]
    return f"{base}?{parse.urlencode(sorted(query_dict.items()), doseq=True)}"


def projects(environ):
    query = environ.get("QUERY_STRING", "")
    params = parse.parse_qs(query)
    page = int(params.get("page", ["1"])[0])
    size = int(params.get("page_size", ["25"])[0])
    names = _names()
    host = f"http://{environ['HTTP_HOST']}"
    cur = _cursor()
    where, args = _where(params, cur)
    cur.execute(f"SELECT COUNT(*) FROM projects_project p WHERE {where}", args)
    count = cur.fetchone()[0]
    # The page's ids, then their rows (as the tracker does: the ids come from an index).
    cur.execute(
        f"SELECT p.id FROM projects_project p WHERE {where} ORDER BY p.start_year, p.title LIMIT %s OFFSET %s",
        [*args, size, (page - 1) * size],
    )
    ids = [r[0] for r in cur.fetchall()]
    cur.execute(
        "SELECT p.id, p.slug, p.title, pr.slug, pr.name, p.start_year, p.end_year, p.status, p.status_year, "
        "p.status_month, p.status_day, p.cooperating_countries, p.description, p.published, p.publication_state, "
        "p.version, p.created, p.updated, p.active_until "
        "FROM projects_project p JOIN projects_program pr ON pr.id = p.program_id WHERE p.id = ANY(%s)",
        [ids],
    )
    by_id = {r[0]: r for r in cur.fetchall()}
    rows = [by_id[pk] for pk in ids]
    partners, fields, activities = {}, {}, {}
    cur.execute(
        "SELECT pp.project_id, pa.slug, pa.name, pa.name_ja, pa.country, pp.role FROM partners_partner pa "
        "JOIN projects_project_partners pp ON pa.id = pp.partner_id WHERE pp.project_id = ANY(%s) "
        "AND pa.published AND pa.releasability = 'public' ORDER BY pa.name, pa.id",
        [ids],
    )
    for pid, slug, name, name_ja, country, role in cur:
        partners.setdefault(pid, []).append(
            {"slug": slug, "name": name, "name_ja": name_ja, "country": country or None, "role": role}
        )
    cur.execute(
        "SELECT pf.project_id, f.slug, f.name, f.name_ja FROM projects_field f "
        "JOIN projects_project_fields pf ON f.id = pf.field_id WHERE pf.project_id = ANY(%s) ORDER BY f.name",
        [ids],
    )
    for pid, slug, name, name_ja in cur:
        fields.setdefault(pid, []).append({"slug": slug, "name": name, "name_ja": name_ja})
    cur.execute(
        "SELECT project_id, id, title, kind, year, month, day FROM projects_activity WHERE project_id = ANY(%s) "
        "AND releasability = 'public' ORDER BY year, month NULLS FIRST, day NULLS FIRST, id",
        [ids],
    )
    for pid, aid, title, kind, year, month, day in cur:
        activities.setdefault(pid, []).append(
            {"id": aid, "url": f"{host}/api/v1/activities/{aid}/", "title": title, "kind": kind, "year": year,
             "month": month, "day": day, "date_display": _date(year, month, day)}
        )  # fmt: skip
    citations = _cited(cur, "project_id", ids)
    reports = {}
    cur.execute(
        "SELECT project_id, id, slug, status, year, month, day FROM projects_statusreport "
        "WHERE project_id = ANY(%s) AND releasability = 'public' "
        "ORDER BY project_id, year, month NULLS FIRST, day NULLS FIRST, id",
        [ids],
    )
    report_rows = cur.fetchall()
    report_citations = _cited(cur, "status_report_id", [r[1] for r in report_rows])
    for pid, rid, slug, status, year, month, day in report_rows:
        reports.setdefault(pid, []).append(
            {"slug": slug, "status": status, "status_display": names["status"][status],
             "as_of": _iso_date(year, month, day), "as_of_display": _date(year, month, day),
             "citations": report_citations.get(rid, [])}
        )  # fmt: skip
    results = []
    for pid, slug, title, program_slug, program_name, start, end, status, status_year, status_month, status_day, \
            coop, description, published, state, version, created, updated, active_until in rows:  # fmt: skip
        codes = [c for c in coop.split(",") if c]
        results.append(
            {
                "url": f"{host}/api/v1/projects/{slug}/",
                "public_url": f"/projects/{slug}/",
                "slug": slug,
                "title": title,
                "program": {"slug": program_slug, "name": program_name},
                "partners": partners.get(pid, []),
                "fields": fields.get(pid, []),
                "start_year": start,
                "end_year": end,
                "years": _years(start, end),
                "active_until": active_until,
                "status": status,
                "status_display": names["status"][status],
                "status_as_of": _iso_date(status_year, status_month, status_day) if status_year else None,
                "status_reports": reports.get(pid, []),
                "cooperating_countries": [{"code": c, "name": names["countries"][c]} for c in codes],
                "description": description,
                "published": published,
                "publication_state": state,
                "version": version,
                "created": _iso(created),
                "updated": _iso(updated),
                "citations": citations.get(pid, []),
                "activities": activities.get(pid, []),
            }
        )
    base = f"{host}{environ['PATH_INFO'].replace('/raw', '/api/v1', 1)}"
    last = max(1, -(-count // size))
    return {
        "count": count,
        "next": _link(base, query, page + 1) if page < last else None,
        "previous": _link(base, query, page - 1) if page > 1 else None,
        "results": results,
    }


def counts(environ):
    """group_by=field,year over every published project: the same GROUP BY the tracker runs
    (COUNT(*): a project has a field once and a year once, so no DISTINCT is needed)."""
    cur = _cursor()
    cur.execute(
        "SELECT f.slug, f.name, y, COUNT(*) FROM projects_project p "
        "JOIN projects_project_fields pf ON pf.project_id = p.id JOIN projects_field f ON f.id = pf.field_id "
        "CROSS JOIN LATERAL generate_series(p.start_year::int, p.active_until::int) y "
        "WHERE p.published AND p.releasability = 'public' AND p.start_year IS NOT NULL GROUP BY f.slug, f.name, y"
    )
    rows = sorted(cur.fetchall(), key=lambda r: (r[0], str(r[2])))
    results = [{"field": s, "field_name": n, "year": y, "year_name": str(y), "count": c} for s, n, y, c in rows]
    return {"group_by": ["field", "year"], "results": results}


ROUTES = {"/raw/projects/": projects, "/raw/reports/counts/": counts}


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/fixed":
        body = FIXED["body"]
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/fixed-304":
        start_response("304 Not Modified", [("ETag", FIXED["etag"])])
        return [b""]
    handler = ROUTES.get(path)
    if handler is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    body = dumps(handler(environ))
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _load_fixed():
    path = os.environ.get("BENCH_FIXED_BODY")
    if path and os.path.exists(path):
        with open(path, "rb") as f:
            FIXED["body"] = f.read()
        FIXED["etag"] = os.environ.get("BENCH_FIXED_ETAG", '"fixed"')


_load_fixed()
