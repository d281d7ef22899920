"""gunicorn's settings in production, behind nginx (deploy/nginx.conf):

    gunicorn -c deploy/gunicorn.conf.py tracker.wsgi

Options given on the command line win over these (the proxy test passes --workers and
--bind)."""

import multiprocessing

# Loopback only: every client comes through nginx, which reads whole requests before
# passing them on. A sync worker reading straight from a slow client is held until the
# last byte arrives.
bind = "127.0.0.1:8000"

# 2 × cores + 1 sync workers: a worker waiting on PostgreSQL leaves its core to another.
worker_class = "sync"
workers = 2 * multiprocessing.cpu_count() + 1

# A worker busy with one request for longer than this is killed and replaced
# (nginx's proxy_read_timeout is a little longer).
timeout = 30

# gunicorn's default, said outright: X-Forwarded-Proto is believed from nginx on this
# machine only.
forwarded_allow_ips = "127.0.0.1,::1"

# The longest request line (method, path, query string) gunicorn reads: gunicorn's most,
# as nginx's large_client_header_buffers 8k. Longer is a 414 (documented in the schema).
limit_request_line = 8190
