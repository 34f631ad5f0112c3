#!/usr/bin/env python3
"""The standard library's WSGI demo application, run as a CGI program.

wsgiref.handlers.CGIHandler is a WSGI *server* that speaks CGI: it builds
`environ` from this process's environment (the CGI variables webserver2
set), reads the body from stdin, calls the application, and prints a CGI
response (`Status:`, headers, a blank line, the body) on stdout.

    cargo run --bin webserver2 -- cgi:examples/cgi/wsgi_demo.py
"""
from wsgiref.handlers import CGIHandler
from wsgiref.simple_server import demo_app

CGIHandler().run(demo_app)
