# Experiments of the Part 2 and server-toolkit chapters (book/record runs
# them): the gateway server and its applications, the CGI bridge, and the
# echo servers. Needs curl, python3 (the CGI examples use only its standard
# library; the Flask, Pyramid and Django experiments run only with the
# virtualenv of book/cgi-venv), procps
# and util-linux (setsid).
#
# Transcripts name the server by its pid (PID=...), not with pgrep: other
# programs of the same name may be running on this machine.

needs curl python3 ps pgrep setsid

URL='http://127.0.0.1:$PORT'

# ---- Part 2: the gateway interface ------------------------------------------

record_part2_hello() {
    serve part2-hello -- "$B/webserver2 --port 0 hello"
    begin part2-hello
    run "PORT=$PORT"
    run "curl -si $URL/hello"
    stop
}

record_part2_environ() {
    serve part2-environ -- "$B/webserver2 --port 0 --quiet environ"
    begin part2-environ
    run "PORT=$PORT"
    run "curl -s -H 'X-Lesson: 2' \"$URL/some/path?name=Ada&lang=en\""
    stop
}

record_part2_greeter() {
    serve part2-greeter -- "$B/webserver2 --port 0 --quiet greeter"
    begin part2-greeter
    run "PORT=$PORT"
    run "curl -s $URL/"
    run "curl -si -d 'name=Ada <Lovelace>' -d greeting=Bonjour $URL/greet"
    run "curl -s \"$URL/hello/World?greeting=Hi\""
    run "curl -si $URL/greet"
    stop
}

record_part2_unknown_app() {
    begin part2-unknown-app
    run "$B/webserver2 flaskapp:app"
    run "$B/webserver2 cgi:Cargo.toml"
}

# ---- Part 2: the CGI bridge --------------------------------------------------

record_part2_cgi_demo() {
    serve part2-cgi-demo -- "$B/webserver2 --port 0 --quiet cgi:examples/cgi/wsgi_demo.py"
    begin part2-cgi-demo
    run "PORT=$PORT"
    run "curl -si \"$URL/some/path?a=1\""
    stop
}

record_part2_cgi_form() {
    serve part2-cgi-form -- "$B/webserver2 --port 0 --quiet cgi:examples/cgi/wsgi_form.py"
    begin part2-cgi-form
    run "PORT=$PORT"
    run "curl -s $URL/"
    run "curl -s -d 'name=Grace Hopper' $URL/"
    stop
}

# The original's three frameworks, from the virtualenv book/cgi-venv makes
# (.ci/run makes it); without it these keep their old transcripts.
VENV_PRELUDE='export PATH=$PWD/target/cgi-venv/bin:$PATH'
have_frameworks() {
    if [ -x target/cgi-venv/bin/python3 ]; then return 0; fi
    say "no target/cgi-venv (book/cgi-venv makes it); keeping the old framework transcripts"
    skipped part2-cgi-flask part2-cgi-pyramid part2-cgi-django part2-cgi-by-hand
    return 1
}

# serve_framework NAME SCRIPT: one framework's application behind webserver2.
serve_framework() {
    serve "part2-cgi-$1" "$VENV_PRELUDE" -- "$B/webserver2 --port 0 --quiet cgi:examples/cgi/$2"
    begin "part2-cgi-$1"
    run "PORT=$PORT"
    run "curl -si \"$URL/hello/Ada?greeting=Hi\""
    run "curl -si $URL/nope | head -1"
    stop
}

record_part2_cgi_flask() {
    have_frameworks || return 0
    serve_framework flask flask_app.py
}

record_part2_cgi_pyramid() {
    have_frameworks || return 0
    serve_framework pyramid pyramid_app.py
}

record_part2_cgi_django() {
    have_frameworks || return 0
    serve_framework django django_app.py
}

# What the application itself prints, run by hand with the variables the
# bridge would set: the headers that are the application's.
record_part2_cgi_by_hand() {
    have_frameworks || return 0
    begin part2-cgi-by-hand
    run "target/cgi-venv/bin/python3 -c 'import importlib.metadata as m; print(*(f\"{p} {m.version(p)}\" for p in (\"Flask\", \"pyramid\", \"Django\")), sep=\", \")'"
    run "env -i REQUEST_METHOD=GET PATH_INFO=/hello/Ada QUERY_STRING=greeting=Hi SERVER_NAME=127.0.0.1 SERVER_PORT=8888 SERVER_PROTOCOL=HTTP/1.1 target/cgi-venv/bin/python3 examples/cgi/flask_app.py | cat -A"
}

record_part2_cgi_failures() {
    serve part2-cgi-failures -- "$B/webserver2 --port 0 --quiet --cgi-timeout 2 cgi:examples/cgi/misbehave.py"
    begin part2-cgi-failures
    run "PORT=$PORT PID=$SERVER"
    run "curl -si \"$URL/?do=crash\""
    run "curl -s \"$URL/?do=killed\""
    run "curl -s \"$URL/?do=garbage\""
    run "curl -s -w 'after %{time_total} s\n' \"$URL/?do=hang\""
    run "curl -s \"$URL/?do=ok\""
    run "ps -o pid,stat,cmd --ppid \$PID || echo 'no children'"
    stop
}

record_part2_413() {
    serve part2-413 -- "$B/webserver2 --port 0 --max-body 1000 greeter"
    begin part2-413
    run "PORT=$PORT"
    run "python3 -c 'print(\"name=\" + \"a\" * 5000)' > /tmp/form.txt"
    run "curl -si --data-binary @/tmp/form.txt $URL/greet"
    stop
}

record_part2_webserver3h() {
    local server
    for server in webserver2 webserver3h; do
        serve "part2-$server-slow" -- "$B/$server --port 0 --quiet cgi:examples/cgi/misbehave.py"
        begin "part2-$server-slow"
        run "PORT=$PORT PID=$SERVER"
        run "( for i in 1 2 3; do curl -s -w \"client \$i: %{time_total} s\\n\" \"$URL/?do=slow\" & done; sleep 0.5; ps -o pid,stat,cmd --ppid \$PID; wait )"
        run "sleep 0.5; ps -o pid,stat,cmd --ppid \$PID || echo 'no children'"
        stop
    done
}

# ---- The toolkit -------------------------------------------------------------

record_toolkit_echo() {
    serve toolkit-echo -- "$B/echo-server --port 0"
    begin toolkit-echo
    run "PORT=$PORT"
    run "$B/echo-client --port \$PORT hello"
    run "$B/echo-client --port \$PORT hello again"
    stop
}

record_toolkit_echo_refused() {
    begin toolkit-echo-refused
    run "$B/echo-client --port 1 hello"
    run "$B/echo-client --udp --port 1 hello"
}

record_toolkit_sigign() {
    # A listen queue of 128: 50 clients at once overflow the default 5, and
    # a handshake dropped and retried is sometimes reset (see the chapter).
    serve toolkit-sigign -- "$B/echo-sigign --port 0 --quiet --backlog 128"
    begin toolkit-sigign
    run "PORT=$PORT PID=$SERVER"
    run "( for i in \$(seq 50); do $B/echo-client --port \$PORT client \$i > /dev/null & done; wait )"
    run "ps -o pid,stat,cmd --ppid \$PID || echo 'no children, no zombies'"
    run "grep -E '^Sig(Ign|Cgt)' /proc/\$PID/status"
    stop
}

record_toolkit_sigign_exec() {
    local flag name
    SCRIPT="import subprocess, sys; sys.stdin.readline(); print('false exited with status', subprocess.run(['false']).returncode)"
    for flag in "" "--restore-sigchld "; do
        name=toolkit-sigign-exec${flag:+-restored}
        serve "$name" -- "$B/echo-sigign --port 0 ${flag}-- python3 -c \"$SCRIPT\""
        begin "$name"
        run "PORT=$PORT"
        run "$B/echo-client --port \$PORT go"
        stop
    done
}

record_toolkit_composed() {
    local transport concurrency name udp
    for transport in tcp udp; do
        for concurrency in fork thread; do
            name=toolkit-composed-$transport-$concurrency
            serve "$name" -- "$B/echo-composed --port 0 --transport $transport --concurrency $concurrency"
            begin "$name"
            run "PORT=$PORT"
            udp=""; [ $transport = udp ] && udp="--udp "
            run "$B/echo-client ${udp}--port \$PORT one; $B/echo-client ${udp}--port \$PORT two"
            sleep 0.2
            stop
        done
    done
}

record_toolkit_composed_delay() {
    local concurrency name
    for concurrency in thread inline; do
        name=toolkit-composed-delay-$concurrency
        serve "$name" -- "$B/echo-composed --port 0 --quiet --concurrency $concurrency --delay 2"
        begin "$name"
        run "PORT=$PORT"
        run "time ( $B/echo-client --port \$PORT first > /dev/null & $B/echo-client --port \$PORT second > /dev/null; wait )"
        stop
    done
}

record_toolkit_httpserver2() {
    serve toolkit-httpserver2 -- "$B/httpserver2 --port 0"
    begin toolkit-httpserver2
    run "PORT=$PORT PID=$SERVER"
    run "curl -s \"$URL/api/square?n=12\" \"$URL/api/query?tag=a&tag=b&name=Ada+L\" $URL/api/stats"
    run "curl -s \"$URL/api/square?n=twelve\""
    run "curl -s -w '%{http_code} %{content_type} %{size_download} bytes\\n' -o /dev/null $URL/ -o /dev/null $URL/style.css -o /dev/null $URL/images/banner.png"
    run "( for i in 1 2 3; do sleep 2 > /dev/tcp/127.0.0.1/\$PORT & done; sleep 0.5; ls /proc/\$PID/task | wc -l; wait )"
    run "curl -s $URL/api/stats"
    stop
}
