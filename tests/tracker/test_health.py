import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_cache(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["cache"]["status"] == "ok"
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_when_the_cache_is_unreachable(client, settings):
    # A real Redis client pointed at a port where nothing listens.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["cache"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "ok"


def test_the_api_still_answers_when_the_cache_is_unreachable(client, settings, editor):
    """Throttling and the response cache live in Redis; with Redis down the API serves
    from the database (and /healthz says the cache is down)."""
    from partners.models import Partner

    Partner.objects.create(name="Laos", slug="laos", country="LA", region="southeast_asia")
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    response = client.get("/api/v1/partners/")
    assert response.status_code == 200
    assert [p["slug"] for p in response.json()["results"]] == ["laos"]
    client.force_login(editor)
    response = client.patch(
        "/api/v1/partners/laos/", {"name": "Lao PDR"}, content_type="application/json", HTTP_X_CHANGE_REASON="Renamed"
    )
    assert response.status_code == 200, response.content
    assert client.get("/api/v1/partners/laos/").json()["name"] == "Lao PDR"
