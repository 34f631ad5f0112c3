#!/usr/bin/env python3
"""A Flask application, unchanged, served by webserver2 through CGI.

Flask is not part of the standard library: `pip install flask` first.
The application below knows nothing about CGI or about our server; the
last two lines hand it to wsgiref's CGIHandler, the standard library's
WSGI server for CGI, exactly as they would hand it to any WSGI server.

    cargo run --bin webserver2 -- cgi:examples/cgi/flask_app.py
    curl localhost:8888/hello/Flask
"""
from flask import Flask, request

app = Flask(__name__)


@app.route("/")
def index():
    return "Hello world from Flask!\n"


@app.route("/hello/<name>")
def hello(name):
    greeting = request.args.get("greeting", "Hello")
    return f"{greeting}, {name}, from Flask!\n"


if __name__ == "__main__":
    from wsgiref.handlers import CGIHandler

    CGIHandler().run(app)
