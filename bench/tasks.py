"""Run one of bench/django_tasks.py's functions in a Django process of its own:

    python -m bench.tasks editor_token '{"username": "bench-editor"}'

The harnesses call it through bench.common.run_task, with the environment of the servers
under test, so the task sees the database and the settings they see. The keyword
arguments come as one JSON object; the result is printed as the last line, in JSON.
"""

import json
import os
import sys

import django


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2):
        raise SystemExit(__doc__)
    name, kwargs = argv[0], json.loads(argv[1]) if len(argv) == 2 else {}
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    django.setup()
    from bench import django_tasks  # imports models: only once Django is set up

    if name not in django_tasks.__all__:
        raise SystemExit(f"no task {name!r}; the tasks: {', '.join(django_tasks.__all__)}")
    print(json.dumps(getattr(django_tasks, name)(**kwargs), ensure_ascii=False))


if __name__ == "__main__":
    main()
