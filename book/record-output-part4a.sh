#!/usr/bin/env bash
# Re-run the experiments of the Part 4 chapters on webserver4a, 4b, 4h, 4c
# and 4d, and rewrite their transcripts in book/src/output/. The chapters
# include those files, so every line of output they show is what a real
# run printed.
#
#   book/record-output-part4a.sh            # every experiment
#   book/record-output-part4a.sh 4c 4d      # only those whose name contains 4c or 4d
#
# Needs Linux, curl, nc (OpenBSD netcat), strace, procps (ps, pgrep, top)
# and util-linux (setsid).
#
# Same conventions as book/record-output.sh: NAME.txt is the terminal where
# the clients run, NAME.server.txt the terminal where the server runs; a
# line `[exit status N]` is the shell's exit status of the command above it.
# Each server runs in its own process group on a port the kernel picks
# (--port 0) and is killed with its whole group when its experiment ends.

set -euo pipefail
cd "$(dirname "$0")/.."
OUT=book/src/output
B=target/debug          # transcripts show the programs as target/debug/NAME
mkdir -p "$OUT"

for tool in curl nc strace ps pgrep top setsid; do
    command -v "$tool" >/dev/null || { echo "record-output-part4a.sh: needs $tool" >&2; exit 1; }
done
# `pgrep -x webserver4c` in a transcript must find our server only; a
# `cargo test` run may have some running for a while: wait for them.
for i in $(seq 120); do
    pgrep -x 'webserver4.' >/dev/null || break
    [ "$i" -eq 1 ] && echo "record-output-part4a.sh: waiting for other webserver4 processes to end ..." >&2
    [ "$i" -eq 120 ] && { pgrep -a -x 'webserver4.' >&2; exit 1; }
    sleep 1
done

echo "building ..." >&2
cargo build --quiet --bins

# wanted, begin, run, stop (and the cleanup on exit) from the shared
# helpers; this script starts its servers with a simpler `serve`.
source book/record-lib.sh "$@"

# serve NAME PROGRAM ARGS...: start the server in a new session with its
# terminal going to $OUT/NAME.server.txt, wait for the banner, set PORT and
# SERVER (its pid, also its process group id).
serve() {
    local name=$1
    shift
    SERVER_LOG=$OUT/$name.server.txt
    printf '$ %s\n' "$*" >"$SERVER_LOG"
    setsid bash -c "exec $*" >>"$SERVER_LOG" 2>&1 </dev/null &
    SERVER=$!
    SERVERS+=("$SERVER")
    local i
    for i in $(seq 200); do
        PORT=$(sed -n 's/^Serving HTTP on port \([0-9]*\) \.\.\.$/\1/p' "$SERVER_LOG")
        [ -n "$PORT" ] && return 0
        kill -0 "$SERVER" 2>/dev/null || { cat "$SERVER_LOG" >&2; exit 1; }
        sleep 0.05
    done
    echo "no banner from: $*" >&2
    exit 1
}


# An idle keep-alive client: one request, then it stays connected, silent,
# until the server closes the connection.
IDLE_CLIENT='printf "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n" | nc 127.0.0.1 $PORT > /dev/null &'

# ---- the experiments -------------------------------------------------------

if wanted webserver4a; then
    serve webserver4a-processes "$B/webserver4a --port 0 --idle-timeout 3"
    begin webserver4a-processes
    run "PORT=$PORT"
    run "for i in 1 2 3; do $IDLE_CLIENT done"
    sleep 0.5
    run "ps -o pid,ppid,stat,rss,cmd --ppid \$(pgrep -x webserver4a)"
    run "sleep 4; ps -o pid,ppid,stat,rss,cmd --ppid \$(pgrep -x webserver4a) || echo 'no child processes'"
    stop
fi

if wanted webserver4b; then
    serve webserver4b-threads "$B/webserver4b --port 0 --idle-timeout 3"
    begin webserver4b-threads
    run "PORT=$PORT"
    run "for i in 1 2 3; do $IDLE_CLIENT done"
    sleep 0.5
    run "ps -T -o pid,spid,stat,comm -p \$(pgrep -x webserver4b)"
    run "grep Threads /proc/\$(pgrep -x webserver4b)/status"
    run "ps -o pid,stat,cmd --ppid \$(pgrep -x webserver4b) || echo 'no child processes'"
    run "sleep 4; grep Threads /proc/\$(pgrep -x webserver4b)/status"
    stop
fi

if wanted webserver4h; then
    serve webserver4h-idle-workers "$B/webserver4h --port 0 --threads 2 --idle-timeout 5"
    begin webserver4h-idle-workers
    run "PORT=$PORT"
    run "ps -T -o pid,spid,stat,comm -p \$(pgrep -x webserver4h)"
    run "for i in 1 2; do $IDLE_CLIENT done"
    sleep 0.5
    run "curl -sS -o /dev/null -w 'curl finished after %{time_total} s\n' http://127.0.0.1:\$PORT/hello.txt"
    run "for i in \$(seq 50); do $IDLE_CLIENT done"
    sleep 0.5
    run "grep Threads /proc/\$(pgrep -x webserver4h)/status"
    stop
fi

if wanted webserver4c; then
    serve webserver4c-busy-loop "$B/webserver4c --port 0"
    begin webserver4c-busy-loop
    run "PORT=$PORT"
    run "sleep 3; ps -o pid,%cpu,time,cmd -p \$(pgrep -x webserver4c)"
    run "top -b -n 1 -p \$(pgrep -x webserver4c) | tail -n 2"
    run "timeout -s INT 1 strace -c -p \$(pgrep -x webserver4c)"
    run "timeout -s INT 0.5 strace -e trace=accept -p \$(pgrep -x webserver4c) 2>&1 | head -n 4"
    run "curl -sv -w '\\n' http://127.0.0.1:\$PORT/hello.txt"
    stop
fi

if wanted webserver4d; then
    serve webserver4d-keep-alive "$B/webserver4d --port 0"
    begin webserver4d-keep-alive
    run "PORT=$PORT"
    run "curl -sv -o /dev/null -o /dev/null http://127.0.0.1:\$PORT/hello.txt http://127.0.0.1:\$PORT/style.css"
    stop

    serve webserver4d-no-content-length "$B/webserver4d --port 0 --no-content-length"
    begin webserver4d-no-content-length
    run "PORT=$PORT"
    run "curl -sv -w '\\n' --max-time 3 http://127.0.0.1:\$PORT/hello.txt"
    stop
fi
