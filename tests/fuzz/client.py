"""Sends one fuzz case, counts it, and turns a server error (an exception out of a view,
or a 5xx status) into a failure that names the request and shows the traceback."""

from tests.fuzz.strategies import describe_exception
from tests.fuzz.tally import count_case, count_status, record_server_error


def _server_error(target, described, detail):
    record_server_error(target, described, detail)
    raise AssertionError(f"server error on {described}\n{detail}")


def fuzz_request(client, target, method, path, query="", body=None, files=None):
    """GET `path?query`, or POST a raw urlencoded `body` (or multipart `files`)."""
    count_case(target)
    described = f"{method} {path}" + (f"?{query[:500]}" if query else "")
    if body is not None:
        described += f" body={body[:500]}"
    if files is not None:
        described += (
            f" files={ {k: (getattr(v, 'name', v) if not isinstance(v, str) else v[:200]) for k, v in files.items()} }"
        )
    try:
        if method == "GET":
            response = client.get(path, QUERY_STRING=query)
        elif files is not None:
            response = client.post(path, files)
        else:
            response = client.post(path, body, content_type="application/x-www-form-urlencoded", QUERY_STRING=query)
    except Exception as exc:  # the test client re-raises what a view raised: a 500 in production
        _server_error(target, described, describe_exception(exc))
    count_status(target, response.status_code)
    if response.status_code >= 500:
        _server_error(target, described, f"status {response.status_code}")
    return response
