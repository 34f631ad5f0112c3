#!/usr/bin/env python3
"""A WSGI application with a form, standard library only, run through CGI.

GET shows the form; POST reads the body (CONTENT_LENGTH bytes of
wsgi.input, which CGIHandler connects to stdin) and answers with the name.

    cargo run --bin webserver2 -- cgi:examples/cgi/wsgi_form.py
"""
import html
from urllib.parse import parse_qs
from wsgiref.handlers import CGIHandler

FORM = b"""<!doctype html>
<title>A WSGI form</title>
<form method="post">
<label>Name <input name="name"></label> <button>Send</button>
</form>
"""


def app(environ, start_response):
    headers = [("Content-Type", "text/html; charset=utf-8")]
    if environ["REQUEST_METHOD"] != "POST":
        start_response("200 OK", headers)
        return [FORM]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    fields = parse_qs(environ["wsgi.input"].read(length).decode("utf-8"))
    name = fields.get("name", ["stranger"])[0]
    start_response("200 OK", headers)
    page = f"<p>Hello, {html.escape(name)}!</p>\n<p>({length} bytes of form data)</p>\n"
    return [page.encode("utf-8")]


if __name__ == "__main__":
    CGIHandler().run(app)
