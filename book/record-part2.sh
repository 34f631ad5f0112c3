#!/usr/bin/env bash
# Re-run the experiments of the Part 2 and server-toolkit chapters and
# rewrite the transcripts they include, in book/src/output/ (part2-*.txt,
# toolkit-*.txt). Every line of output in those chapters is what a real run
# printed.
#
#   book/record-part2.sh              # every experiment
#   book/record-part2.sh cgi sigign   # only those whose name contains cgi or sigign
#
# Needs Linux, curl, python3 (the CGI examples use only its standard
# library; the Flask experiment runs only if `import flask` works), procps
# and util-linux (setsid).
#
# Each server runs in its own process group (setsid) on a port the kernel
# picks (--port 0) on 127.0.0.1, and is killed with its whole group when its
# experiment ends, or when the script exits in any way.
#
# File naming: NAME.txt is the terminal where the clients run, and
# NAME.server.txt the terminal where the server runs. A line in square
# brackets, such as `[exit status 2]`, is the shell's exit status of the
# command above it, not something the program printed.

set -euo pipefail
cd "$(dirname "$0")/.."
OUT=book/src/output
B=target/debug          # transcripts show the programs as target/debug/NAME
mkdir -p "$OUT"

for tool in curl python3 ps pgrep setsid; do
    command -v "$tool" >/dev/null || { echo "record-part2.sh: needs $tool" >&2; exit 1; }
done
# `pgrep -x webserver2` in a transcript must find our server only: wait
# for other runs (a `cargo test`, say) to end.
for i in $(seq 120); do
    pgrep -x 'webserver2|webserver3h|echo-server|echo-sigign|echo-composed|httpserver2' >/dev/null || break
    [ "$i" -eq 1 ] && echo "record-part2.sh: waiting for running servers to end ..." >&2
    [ "$i" -eq 120 ] && { pgrep -a -x 'webserver2|webserver3h|echo-server|echo-sigign|echo-composed|httpserver2' >&2; exit 1; }
    sleep 1
done

echo "building ..." >&2
cargo build --quiet --bins

# wanted, begin, run, stop (and the cleanup on exit) from the shared
# helpers; this script starts its servers with a simpler `serve`.
source book/record-lib.sh "$@"

# serve NAME COMMAND: start COMMAND (shown as typed) in a new session with
# its terminal going to $OUT/NAME.server.txt; wait for its `Serving ... on
# port N ...` banner; set PORT and SERVER (pid and process group).
serve() {
    local name=$1 cmd=$2
    SERVER_LOG=$OUT/$name.server.txt
    printf '$ %s\n' "$cmd" >"$SERVER_LOG"
    setsid bash -c "exec $cmd" >>"$SERVER_LOG" 2>&1 </dev/null &
    SERVER=$!
    SERVERS+=("$SERVER")
    PORT=""
    local i
    for i in $(seq 200); do
        PORT=$(sed -n 's/^Serving .* on port \([0-9]*\) \.\.\.$/\1/p' "$SERVER_LOG")
        [ -n "$PORT" ] && break
        kill -0 "$SERVER" 2>/dev/null || { cat "$SERVER_LOG" >&2; exit 1; }
        sleep 0.05
    done
    [ -n "$PORT" ] || { echo "no banner from: $cmd" >&2; cat "$SERVER_LOG" >&2; exit 1; }
}


URL='http://127.0.0.1:$PORT'

# ---- Part 2: the gateway interface ------------------------------------------

if wanted part2-hello; then
    serve part2-hello "$B/webserver2 --port 0 hello"
    begin part2-hello
    run "PORT=$PORT"
    run "curl -si $URL/hello"
    stop
fi

if wanted part2-environ; then
    serve part2-environ "$B/webserver2 --port 0 --quiet environ"
    begin part2-environ
    run "PORT=$PORT"
    run "curl -s -H 'X-Lesson: 2' \"$URL/some/path?name=Ada&lang=en\""
    stop
fi

if wanted part2-greeter; then
    serve part2-greeter "$B/webserver2 --port 0 --quiet greeter"
    begin part2-greeter
    run "PORT=$PORT"
    run "curl -s $URL/"
    run "curl -si -d 'name=Ada <Lovelace>' -d greeting=Bonjour $URL/greet"
    run "curl -s \"$URL/hello/World?greeting=Hi\""
    run "curl -si $URL/greet"
    stop
fi

if wanted part2-unknown-app; then
    begin part2-unknown-app
    run "$B/webserver2 flaskapp:app"
    run "$B/webserver2 cgi:Cargo.toml"
fi

# ---- Part 2: the CGI bridge --------------------------------------------------

if wanted part2-cgi-demo; then
    serve part2-cgi-demo "$B/webserver2 --port 0 --quiet cgi:examples/cgi/wsgi_demo.py"
    begin part2-cgi-demo
    run "PORT=$PORT"
    run "curl -si \"$URL/some/path?a=1\""
    stop
fi

if wanted part2-cgi-form; then
    serve part2-cgi-form "$B/webserver2 --port 0 --quiet cgi:examples/cgi/wsgi_form.py"
    begin part2-cgi-form
    run "PORT=$PORT"
    run "curl -s $URL/"
    run "curl -s -d 'name=Grace Hopper' $URL/"
    stop
fi

if wanted part2-cgi-flask; then
    if python3 -c 'import flask' 2>/dev/null; then
        serve part2-cgi-flask "$B/webserver2 --port 0 --quiet cgi:examples/cgi/flask_app.py"
        begin part2-cgi-flask
        run "PORT=$PORT"
        run "python3 -c 'import importlib.metadata as m; print(\"Flask\", m.version(\"flask\"))'"
        run "curl -si \"$URL/hello/Ada?greeting=Hi\""
        run "curl -si $URL/nope | head -1"
        stop
    else
        echo "record-part2.sh: Flask is not installed (pip install flask); keeping the old part2-cgi-flask transcript" >&2
    fi
fi

if wanted part2-cgi-failures; then
    serve part2-cgi-failures "$B/webserver2 --port 0 --quiet --cgi-timeout 2 cgi:examples/cgi/misbehave.py"
    begin part2-cgi-failures
    run "PORT=$PORT"
    run "curl -si \"$URL/?do=crash\""
    run "curl -s \"$URL/?do=killed\""
    run "curl -s \"$URL/?do=garbage\""
    run "curl -s -w 'after %{time_total} s\n' \"$URL/?do=hang\""
    run "curl -s \"$URL/?do=ok\""
    run "ps -o pid,stat,cmd --ppid \$(pgrep -x webserver2) || echo 'no children'"
    stop
fi

if wanted part2-413; then
    serve part2-413 "$B/webserver2 --port 0 --max-body 1000 greeter"
    begin part2-413
    run "PORT=$PORT"
    run "python3 -c 'print(\"name=\" + \"a\" * 5000)' > /tmp/form.txt"
    run "curl -si --data-binary @/tmp/form.txt $URL/greet"
    stop
fi

if wanted part2-webserver3h; then
    for server in webserver2 webserver3h; do
        serve "part2-$server-slow" "$B/$server --port 0 --quiet cgi:examples/cgi/misbehave.py"
        begin "part2-$server-slow"
        run "PORT=$PORT"
        run "( for i in 1 2 3; do curl -s -w \"client \$i: %{time_total} s\\n\" \"$URL/?do=slow\" & done; sleep 0.5; ps -o pid,stat,cmd --ppid \$(pgrep -x $server); wait )"
        run "sleep 0.5; ps -o pid,stat,cmd --ppid \$(pgrep -x $server) || echo 'no children'"
        stop
    done
fi

# ---- The toolkit -------------------------------------------------------------

if wanted toolkit-echo; then
    serve toolkit-echo "$B/echo-server --port 0"
    begin toolkit-echo
    run "PORT=$PORT"
    run "$B/echo-client --port \$PORT hello"
    run "$B/echo-client --port \$PORT hello again"
    stop
fi

if wanted toolkit-echo-refused; then
    begin toolkit-echo-refused
    run "$B/echo-client --port 1 hello"
    run "$B/echo-client --udp --port 1 hello"
fi

if wanted toolkit-sigign; then
    serve toolkit-sigign "$B/echo-sigign --port 0 --quiet"
    begin toolkit-sigign
    run "PORT=$PORT"
    run "( for i in \$(seq 50); do $B/echo-client --port \$PORT client \$i > /dev/null & done; wait )"
    run "ps -o pid,stat,cmd --ppid \$(pgrep -x echo-sigign) || echo 'no children, no zombies'"
    run "grep -E '^Sig(Ign|Cgt)' /proc/\$(pgrep -x echo-sigign)/status"
    stop
fi

if wanted toolkit-sigign-exec; then
    SCRIPT="import subprocess, sys; sys.stdin.readline(); print('false exited with status', subprocess.run(['false']).returncode)"
    for flag in "" "--restore-sigchld "; do
        name=toolkit-sigign-exec${flag:+-restored}
        serve "$name" "$B/echo-sigign --port 0 ${flag}-- python3 -c \"$SCRIPT\""
        begin "$name"
        run "PORT=$PORT"
        run "$B/echo-client --port \$PORT go"
        stop
    done
fi

if wanted toolkit-composed; then
    for transport in tcp udp; do
        for concurrency in fork thread; do
            name=toolkit-composed-$transport-$concurrency
            serve "$name" "$B/echo-composed --port 0 --transport $transport --concurrency $concurrency"
            begin "$name"
            run "PORT=$PORT"
            udp=""; [ $transport = udp ] && udp="--udp "
            run "$B/echo-client ${udp}--port \$PORT one; $B/echo-client ${udp}--port \$PORT two"
            sleep 0.2
            stop
        done
    done
fi

if wanted toolkit-composed-delay; then
    for concurrency in thread inline; do
        name=toolkit-composed-delay-$concurrency
        serve "$name" "$B/echo-composed --port 0 --quiet --concurrency $concurrency --delay 2"
        begin "$name"
        run "PORT=$PORT"
        run "time ( $B/echo-client --port \$PORT first > /dev/null & $B/echo-client --port \$PORT second > /dev/null; wait )"
        stop
    done
fi

if wanted toolkit-httpserver2; then
    serve toolkit-httpserver2 "$B/httpserver2 --port 0"
    begin toolkit-httpserver2
    run "PORT=$PORT"
    run "curl -s \"$URL/api/square?n=12\" \"$URL/api/query?tag=a&tag=b&name=Ada+L\" $URL/api/stats"
    run "curl -s \"$URL/api/square?n=twelve\""
    run "curl -s -w '%{http_code} %{content_type} %{size_download} bytes\\n' -o /dev/null $URL/ -o /dev/null $URL/style.css -o /dev/null $URL/images/banner.png"
    run "( for i in 1 2 3; do sleep 2 > /dev/tcp/127.0.0.1/\$PORT & done; sleep 0.5; ls /proc/\$(pgrep -x httpserver2)/task | wc -l; wait )"
    run "curl -s $URL/api/stats"
    stop
fi

echo "done: transcripts in $OUT" >&2
