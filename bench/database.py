"""The harnesses' PostgreSQL: DATABASE_URL's server, or a throwaway cluster for the run;
databases on it made anew; and the check that keeps the benchmark off real data."""

import contextlib
import os
from urllib import parse

import psycopg

from harness.pgcluster import pg_cluster


@contextlib.contextmanager
def postgres(cluster_settings=None):
    """(url, where): DATABASE_URL when it names PostgreSQL, else a throwaway cluster's
    database, removed on exit with its cluster."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        yield url, "DATABASE_URL"
        return
    with pg_cluster(cluster_settings) as cluster:
        yield cluster.url, "a throwaway cluster"


def database_name(url):
    return parse.urlsplit(url).path.lstrip("/")


def with_database(url, name):
    """`url` with its database replaced by `name`."""
    parts = parse.urlsplit(url)
    return parse.urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def recreate(url, name, template=None):
    """Drop and create the database `name` on the server of `url`; its URL."""
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return with_database(url, name)


def refuse_real_data(url):
    """The benchmark wipes its database: refuse one that holds projects the generator did
    not make."""
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM projects_project WHERE slug !~ '^project-[0-9]{6}$'").fetchone()
    except psycopg.errors.UndefinedTable:
        return
    except psycopg.OperationalError as exc:
        raise SystemExit(f"Cannot connect to DATABASE_URL: {exc}") from None
    if row and row[0]:
        raise SystemExit(
            f"DATABASE_URL holds {row[0]} real projects; the benchmark wipes its database. "
            "Point DATABASE_URL at an empty database of its own (or unset it for a throwaway cluster)."
        )


def server_version(url):
    with psycopg.connect(url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]
