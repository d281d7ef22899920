"""The benchmark (run.py) and the harnesses (stress.py, fuzz_api.py), run from outside the
tracker against gunicorn servers on PostgreSQL. The pieces:

- cases.py: the benchmark's cases and goals, as data
- load.py: loading the cases with wrk, in alternating rounds
- checks.py: the raw app's answers, the CSV export's memory, the two-server freshness
- report.py: the table, the `RESULT` lines and RESULTS.md
- generate.py: the synthetic data; rawapp.py: the raw limit of the stack
- servers.py: gunicorn under production settings; database.py: the PostgreSQL they use
- common.py: logging, HTTP, manage.py and the Django tasks in a process of their own
- django_tasks.py: the harnesses' Django code, run by tasks.py (python -m bench.tasks)
"""
