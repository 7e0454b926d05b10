"""The project's URLs plus ``/bench/bare/``: a view that does nothing, behind the same
middleware (sessions, authentication, second factor, idle timeout, CSP), as the ceiling the
chairside pages are compared with."""

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path

from config.urls import handler403, handler404
from config.urls import urlpatterns as project_urlpatterns

__all__ = ["handler403", "handler404", "urlpatterns"]


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns: list[URLPattern | URLResolver] = [path("bench/bare/", bare, name="bench_bare"), *project_urlpatterns]
