#!/usr/bin/env python3
"""A CGI program that really fails, in the way the query asks for.

    ?do=ok        a valid response
    ?do=slow      a valid response after 1 second
    ?do=crash     a bug: a traceback on stderr and exit status 1
    ?do=killed    killed by SIGKILL (as the OOM killer would)
    ?do=hang      sleeps for an hour
    ?do=garbage   prints text that is not a CGI response
    ?do=nothing   exits 0 without printing anything
    ?do=flood     prints headers, then 17 MiB of body

    cargo run --bin webserver2 -- --cgi-timeout 2 cgi:examples/cgi/misbehave.py
    curl -i 'localhost:8888/?do=hang'
"""
import os
import signal
import sys
import time
from urllib.parse import parse_qs

do = parse_qs(os.environ.get("QUERY_STRING", "")).get("do", ["ok"])[0]

if do == "crash":
    print(1 / 0)
elif do == "killed":
    os.kill(os.getpid(), signal.SIGKILL)
elif do == "hang":
    time.sleep(3600)
elif do == "garbage":
    print("this is not a CGI response")
elif do == "nothing":
    pass
elif do == "flood":
    sys.stdout.write("Content-Type: text/plain\n\n")
    sys.stdout.flush()
    sys.stdout.buffer.write(b"x" * (17 * 1024 * 1024))
else:
    if do == "slow":
        time.sleep(1)
    sys.stdout.write(f"Content-Type: text/plain\n\n{do}: all good\n")
