#!/usr/bin/env python3
"""A Django application in one file, served by webserver2 through CGI.

Django is not part of the standard library: install the pinned frameworks
with `book/cgi-venv` and put its `bin` first on PATH (the chapter shows how).
A Django project is usually a folder of settings, URLs and views; here the
settings are given in code, so that the whole application fits in one file.
Its WSGI application is the same object a project's wsgi.py exports, and
the last lines hand it to wsgiref's CGIHandler.

    cargo run --bin webserver2 -- cgi:examples/cgi/django_app.py
    curl localhost:8888/hello/Django
"""
from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="an example that signs nothing",
)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402


def index(request):
    return HttpResponse("Hello world from Django!\n", content_type="text/plain")


def hello(request, name):
    greeting = request.GET.get("greeting", "Hello")
    return HttpResponse(f"{greeting}, {name}, from Django!\n", content_type="text/plain")


urlpatterns = [path("", index), path("hello/<str:name>", hello)]
app = get_wsgi_application()

if __name__ == "__main__":
    from wsgiref.handlers import CGIHandler

    CGIHandler().run(app)
