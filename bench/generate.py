"""Fill a migrated PostgreSQL database with synthetic tracker data at scale, deterministically.

    python bench/generate.py --dsn postgres://postgres@127.0.0.1:5432/tracker_bench \
        --projects 100000 --activities 500000 --partners 300 --fields 40 --years 60

The same arguments always give the same rows (a seeded random generator), loaded with
COPY. Existing tracker data is removed first. This is benchmark data, made up on
purpose: it never goes near the seed fixtures, which come from the sources only.
"""

import argparse
import io
import random
import sys
import time

import psycopg

REGIONS = ["southeast_asia", "south_asia", "east_asia", "oceania", "africa", "middle_east", "europe", "americas"]
STATUSES = ["planned", "ongoing", "completed", "suspended", "cancelled"]
KINDS = [
    "seminar",
    "training",
    "exercise",
    "invitation_program",
    "ship_rider_program",
    "equipment_transfer",
    "dialogue",
]
WORDS = [
    "maritime",
    "security",
    "disaster",
    "relief",
    "engineering",
    "peacekeeping",
    "aviation",
    "medicine",
    "seminar",
    "training",
    "exercise",
    "law",
    "navy",
    "air",
    "force",
    "coast",
    "guard",
    "capacity",
    "building",
    "cooperation",
    "logistics",
    "communications",
    "band",
    "demining",
]
LAST_YEAR = 2025
TABLES = [
    "projects_citation",
    "projects_statusreport",
    "projects_activity",
    "projects_project_partners",
    "projects_project_fields",
    "projects_project",
    "projects_program",
    "projects_field",
    "partners_partner",
]


def _country_codes():
    from django_countries.data import COUNTRIES

    return sorted(COUNTRIES)


def _array(ids):
    """The ids a project's links give it, as PostgreSQL's trigger keeps them (projects.facets;
    triggers are off while the generator loads)."""
    return "{" + ",".join(str(i) for i in sorted(ids)) + "}"


def _copy(cur, table, columns, rows):
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row))
        buffer.write("\n")
    buffer.seek(0)
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        while chunk := buffer.read(1 << 20):
            copy.write(chunk)


def generate(dsn, *, projects, activities, partners, fields, years, seed=20121, out=sys.stdout):
    rng = random.Random(seed)
    first_year = LAST_YEAR - years + 1
    codes = _country_codes()
    started = time.monotonic()
    with psycopg.connect(dsn, autocommit=False) as conn, conn.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        # Synthetic rows are generated inside their spans; skip the per-row trigger.
        cur.execute("SET LOCAL session_replication_role = replica")
        now = "2026-01-01 00:00:00+00"

        partner_rows = []
        for i in range(1, partners + 1):
            code = codes[(i - 1) % len(codes)]
            partner_rows.append(
                (i, f"Partner {i:04d} ({code})", f"パートナー{i}", f"partner-{i:04d}", "country", code,
                 REGIONS[i % len(REGIONS)], "t" if i % 5 == 0 else "f", "", "t", now, now, 1)
            )  # fmt: skip
        _copy(cur, "partners_partner",
              ["id", "name", "name_ja", "slug", "kind", "country", "region", "asean_member", "description",
               "published", "created", "updated", "version"], partner_rows)  # fmt: skip

        _copy(cur, "projects_field", ["id", "name", "name_ja", "slug", "description", "version"],
              [(i, f"Field {i:02d}", f"分野{i}", f"field-{i:02d}", "", 1) for i in range(1, fields + 1)])  # fmt: skip
        programs = 10
        _copy(cur, "projects_program", ["id", "name", "name_ja", "slug", "start_year", "description", "version"],
              [(i, f"Program {i:02d}", f"プログラム{i}", f"program-{i:02d}", first_year, "", 1)
               for i in range(1, programs + 1)])  # fmt: skip

        project_rows, links_p, links_f, spans, report_rows = [], [], [], [], []
        reports_rng = random.Random(seed + 1)
        for i in range(1, projects + 1):
            start = rng.randint(first_year, LAST_YEAR)
            end = None if rng.random() < 0.15 else min(LAST_YEAR, start + rng.randint(0, 5))
            spans.append((start, end if end is not None else LAST_YEAR))
            pids = rng.sample(range(1, partners + 1), rng.choice((1, 1, 1, 2, 3)))
            fids = rng.sample(range(1, fields + 1), rng.choice((1, 1, 2)))
            title = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} project {i}"
            description = " ".join(rng.choice(WORDS) for _ in range(12))
            doc = " ".join([title, description] + [f"Partner {p:04d}" for p in pids] + [f"Field {f:02d}" for f in fids])
            status = rng.choice(STATUSES)
            # A status report for nine projects in ten (a second generator, so the rest
            # of the data is what it always was), as of a year of the span, perhaps a month.
            as_of = (None, None, None)
            if reports_rng.random() < 0.9:
                as_of = (
                    reports_rng.randint(start, spans[-1][1]),
                    reports_rng.choice((None, reports_rng.randint(1, 12))),
                    None,
                )
                report_rows.append((len(report_rows) + 1, i, status, f"{as_of[0]}-{status}", *as_of, "", now, now, 1))
            else:
                status = "not_reported"
            published = rng.random() < 0.9
            project_rows.append(
                (i, title, f"project-{i:06d}", rng.randint(1, programs), start,
                 end if end is not None else None, status, *as_of,
                 rng.choice(("", "", "US", "AU", "GB", "AU,US")), description,
                 "t" if published else "f", "published" if published else "draft",
                 now, now, 1, doc, _array(pids), _array(fids), "")
            )  # fmt: skip
            links_p.extend((i, p) for p in pids)
            links_f.extend((i, f) for f in fids)
        _copy(cur, "projects_project",
              ["id", "title", "slug", "program_id", "start_year", "end_year", "status", "status_year",
               "status_month", "status_day", "cooperating_countries", "description", "published", "publication_state",
               "created", "updated", "version", "search_document", "partner_ids", "field_ids", "staff_note"],
              project_rows)  # fmt: skip
        _copy(cur, "projects_statusreport",
              ["id", "project_id", "status", "slug", "year", "month", "day", "note", "created", "updated",
               "version"], report_rows)  # fmt: skip
        _copy(cur, "projects_project_partners", ["project_id", "partner_id"], links_p)
        _copy(cur, "projects_project_fields", ["project_id", "field_id"], links_f)

        def activity_rows():
            for i in range(1, activities + 1):
                project = rng.randint(1, projects)
                start, end = spans[project - 1]
                year = rng.randint(start, end)
                month = rng.choice((None, rng.randint(1, 12)))
                day = rng.randint(1, 28) if month and rng.random() < 0.5 else None
                yield (i, project, f"Activity {i}", f"activity-{i}", rng.choice(KINDS), year, month, day,
                       "", "", "", now, now, 1, "")  # fmt: skip

        _copy(cur, "projects_activity",
              ["id", "project_id", "title", "slug", "kind", "year", "month", "day", "location",
               "location_country", "description", "created", "updated", "version", "staff_note"],
              activity_rows())  # fmt: skip
        # What Project.refresh_latest_of() keeps: the latest evidence year (an activity or
        # a status report; the generated data cites no source); the database computes
        # active_until from it.
        cur.execute(
            "UPDATE projects_project p SET evidence_year = e.y FROM (SELECT project_id, MAX(y) y FROM "
            "(SELECT project_id, year y FROM projects_activity UNION ALL "
            "SELECT project_id, year FROM projects_statusreport) a GROUP BY project_id) e WHERE e.project_id = p.id"
        )

        for table in ["partners_partner", "projects_field", "projects_program", "projects_project",
                      "projects_activity", "projects_statusreport", "projects_project_partners",
                      "projects_project_fields"]:  # fmt: skip
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"
            )
        conn.commit()
        # What autovacuum would have done by the time a database this size is in use: the
        # statistics, and the visibility map that lets index-only scans skip the table.
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    print(
        f"generated {partners} partners, {fields} fields, {projects} projects, {activities} activities "
        f"over {years} years in {time.monotonic() - started:.1f} s",
        file=out,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", required=True, help="PostgreSQL URL of a migrated tracker database")
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=500_000)
    parser.add_argument("--partners", type=int, default=300)
    parser.add_argument("--fields", type=int, default=40)
    parser.add_argument("--years", type=int, default=60)
    parser.add_argument("--seed", type=int, default=20121)
    args = parser.parse_args(argv)
    for name in ("projects", "activities", "partners", "fields", "years"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    generate(
        args.dsn,
        projects=args.projects,
        activities=args.activities,
        partners=args.partners,
        fields=args.fields,
        years=args.years,
        seed=args.seed,
    )


if __name__ == "__main__":
    main()
