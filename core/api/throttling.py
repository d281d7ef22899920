"""Throttles that let requests through when the cache they count in is unreachable."""

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from core.cache import health as cachehealth


class FailOpenThrottleMixin:
    """Throttles count requests in the cache. If the cache (Redis) is unreachable, let the
    request through and say so in the log (once an outage: core.cache.health): an
    outage of the cache must not turn every API request into a server error (/healthz
    reports the cache as down)."""

    def allow_request(self, request, view):
        try:
            allowed = super().allow_request(request, view)
        except Exception as exc:
            cachehealth.failed("throttling", exc)
            return True
        if getattr(self, "key", None) is not None:  # DRF's SimpleRateThrottle read the cache
            cachehealth.worked()
        return allowed


class AnonThrottle(FailOpenThrottleMixin, AnonRateThrottle):
    pass


class UserThrottle(FailOpenThrottleMixin, UserRateThrottle):
    pass
