#!/usr/bin/env python3
"""A Pyramid application, unchanged, served by webserver2 through CGI.

Pyramid is not part of the standard library: install the pinned frameworks
with `book/cgi-venv` and put its `bin` first on PATH (the chapter shows how).
The application knows nothing about CGI or about our server; the last lines
hand it to wsgiref's CGIHandler, as they would hand it to any WSGI server.

    cargo run --bin webserver2 -- cgi:examples/cgi/pyramid_app.py
    curl localhost:8888/hello/Pyramid
"""
from pyramid.config import Configurator
from pyramid.response import Response


def index(request):
    return Response("Hello world from Pyramid!\n", content_type="text/plain")


def hello(request):
    name = request.matchdict["name"]
    greeting = request.params.get("greeting", "Hello")
    return Response(f"{greeting}, {name}, from Pyramid!\n", content_type="text/plain")


config = Configurator()
config.add_route("index", "/")
config.add_view(index, route_name="index")
config.add_route("hello", "/hello/{name}")
config.add_view(hello, route_name="hello")
app = config.make_wsgi_app()

if __name__ == "__main__":
    from wsgiref.handlers import CGIHandler

    CGIHandler().run(app)
