#!/usr/bin/env bash
# Re-run the book's experiments and rewrite the transcripts they print into
# book/src/output/. The chapters include those files, so every line of
# output in the book is what a real run printed.
#
#   book/record-output.sh              # every experiment
#   book/record-output.sh 3e 3f        # only those whose name contains 3e or 3f
#
# Needs Linux, curl, nc (OpenBSD netcat), strace, procps (ps, pgrep),
# iproute2 (nstat) and util-linux (setsid, setpriv). The fork-EAGAIN
# experiment must start the server as an ordinary user, because the kernel
# does not enforce RLIMIT_NPROC for root: run as root, the script drops to
# user `nobody` for it with setpriv; run as anyone else, it uses your user.
#
# Each server runs in its own process group on a port the kernel picks
# (--port 0) on 127.0.0.1, and is killed with its whole group (children and
# all) when its experiment ends, or when the script exits in any way.
# Transcripts name the server by its pid (PID=...), not with pgrep: other
# programs of the same name may be running on this machine.
#
# File naming: NAME.txt is the terminal where the clients run, and
# NAME.server.txt the terminal where the server runs. A line in square
# brackets, such as `[exit status 1]`, is the shell's exit status of the
# command above it, not something the program printed.

set -euo pipefail
cd "$(dirname "$0")/.."
OUT=book/src/output
B=target/debug          # transcripts show the programs as target/debug/NAME
mkdir -p "$OUT"

for tool in curl nc strace ps pgrep nstat setsid setpriv; do
    command -v "$tool" >/dev/null || { echo "record-output.sh: needs $tool" >&2; exit 1; }
done
echo "building ..." >&2
cargo build --quiet --bins

# Does client3 exist yet (a real program with --max-clients)?
if "$B/client3" --help 2>/dev/null | grep -q -- '--max-clients'; then
    HAVE_CLIENT3=1
else
    HAVE_CLIENT3=0
    echo "record-output.sh: client3 has no --max-clients yet; skipping its experiments" >&2
fi

# wanted, begin, run, serve, exited, stop (and the cleanup on exit).
source book/record-lib.sh "$@"

REQUEST="printf 'GET / HTTP/1.0\\r\\n\\r\\n'"

# ---- the experiments -------------------------------------------------------

C="$B/client3"

if wanted help; then
    begin webserver3g-help
    run "$B/webserver3g --help"
fi

if wanted busy-port; then
    serve busy-port -- "$B/webserver3g --port 0"
    begin busy-port
    run "PORT=$PORT"
    run "$B/webserver3g --port \$PORT"
    stop
fi

if wanted webserver1; then
    serve webserver1-curl -- "$B/webserver1 --port 0"
    begin webserver1-curl
    run "PORT=$PORT"
    run "curl -sv http://127.0.0.1:\$PORT/hello"
    stop
fi

if wanted webserver3a; then
    serve webserver3a-silent-client -- "$B/webserver3a --port 0"
    begin webserver3a-silent-client
    run "PORT=$PORT"
    run "{ sleep 3; $REQUEST; } | nc 127.0.0.1 \$PORT > /dev/null &"
    BG=$!
    sleep 0.3
    run "curl -sS -w 'curl finished after %{time_total} s\n' http://127.0.0.1:\$PORT/hello"
    wait "$BG"
    stop
fi

if wanted webserver3b; then
    serve webserver3b-two-clients -- "$B/webserver3b --port 0 --sleep 5 --quiet"
    begin webserver3b-two-clients
    run "PORT=$PORT"
    run "SECONDS=0; $REQUEST | nc -N 127.0.0.1 \$PORT; echo \"nc saw EOF after \$SECONDS s\""
    run "curl -sS -w 'first finished after %{time_total} s\n' http://127.0.0.1:\$PORT/hello &"
    BG=$!
    sleep 0.3
    run "curl -sS -w 'second finished after %{time_total} s\n' http://127.0.0.1:\$PORT/hello"
    wait "$BG"
    stop
fi

if wanted webserver3c; then
    serve webserver3c-zombies -- "$B/webserver3c --port 0 --sleep 5"
    begin webserver3c-zombies
    run "PORT=$PORT PID=$SERVER"
    run "curl -sS -w 'first finished after %{time_total} s\n' http://127.0.0.1:\$PORT/hello &"
    BG=$!
    sleep 0.3
    run "curl -sS -w 'second finished after %{time_total} s\n' http://127.0.0.1:\$PORT/hello"
    wait "$BG"
    run "ps -o pid,stat,cmd --ppid \$PID"
    run "sleep 6"
    run "ps -o pid,stat,cmd --ppid \$PID"
    stop
fi

if wanted webserver3d-no-eof; then
    serve webserver3d-no-eof -- "$B/webserver3d --port 0"
    begin webserver3d-no-eof
    run "PORT=$PORT PID=$SERVER"
    run "ls /proc/\$PID/fd"
    run "curl -sS -w 'curl finished after %{time_total} s\n' http://127.0.0.1:\$PORT/hello"
    run "$REQUEST | timeout 5 nc -N 127.0.0.1 \$PORT"
    run "ls /proc/\$PID/fd"
    run "ps -o pid,stat,cmd --ppid \$PID"
    stop
fi

if wanted webserver3d-client3 && [ "$HAVE_CLIENT3" = 1 ]; then
    serve webserver3d-client3 -- "$B/webserver3d --port 0 --quiet"
    begin webserver3d-client3
    run "PORT=$PORT PID=$SERVER"
    run "$C --max-clients 10 --read-timeout 2 --port \$PORT"
    run "ls /proc/\$PID/fd | wc -l"
    stop
fi

if wanted webserver3d-emfile && [ "$HAVE_CLIENT3" = 1 ]; then
    serve webserver3d-emfile 'ulimit -n 256' -- "$B/webserver3d --port 0 --quiet --backlog 1024"
    begin webserver3d-emfile
    run "PORT=$PORT"
    run "$C --max-clients 300 --port \$PORT"
    exited
    stop
fi

if wanted webserver3d-eagain && [ "$HAVE_CLIENT3" = 1 ]; then
    # RLIMIT_NPROC is not enforced for root: drop to nobody when we are root.
    if [ "$(id -u)" -eq 0 ]; then ordinary_user=nobody; else ordinary_user=; fi
    AS_USER=$ordinary_user serve webserver3d-eagain 'id -un' 'ulimit -u 400' -- \
        "$B/webserver3d --port 0 --quiet --backlog 1024"
    begin webserver3d-eagain
    run "PORT=$PORT"
    run "$C --max-clients 500 --read-timeout 30 --port \$PORT"
    exited
    stop
fi

if wanted webserver3e-eintr; then
    serve webserver3e-eintr -- "$B/webserver3e --port 0"
    begin webserver3e-eintr
    run "PORT=$PORT"
    run "curl -sS http://127.0.0.1:\$PORT/hello"
    run "sleep 4"
    run "curl -sS http://127.0.0.1:\$PORT/hello"
    exited
    stop
fi

if wanted webserver3e-strace; then
    serve webserver3e-strace -- \
        "strace -e trace=accept,wait4 -e signal=SIGCHLD $B/webserver3e --port 0 --quiet"
    begin webserver3e-strace
    run "PORT=$PORT"
    run "curl -sS http://127.0.0.1:\$PORT/hello"
    exited
    stop
fi

if wanted webserver3f-strace; then
    serve webserver3f-strace -- \
        "strace -e trace=accept,wait4 -e signal=SIGCHLD,SIGTERM $B/webserver3f --port 0 --quiet"
    begin webserver3f-strace
    run "PORT=$PORT"
    # The request comes a second late, so the parent is surely blocked in
    # accept() again when the child exits.
    run "{ sleep 1; $REQUEST; } | nc -N 127.0.0.1 \$PORT"
    run "sleep 1"
    run "{ sleep 1; $REQUEST; } | nc -N 127.0.0.1 \$PORT"
    sleep 0.5
    pkill -TERM -P "$SERVER"    # the traced server (by parent pid), so strace reports its end
    sleep 0.5
    stop
fi

if wanted webserver3f-burst && [ "$HAVE_CLIENT3" = 1 ]; then
    serve webserver3f-burst -- "$B/webserver3f --port 0 --quiet"
    begin webserver3f-burst
    run "PORT=$PORT PID=$SERVER"
    run "$C --max-clients 128 --port \$PORT"
    run "sleep 1"
    run "ps -o pid,stat,cmd --ppid \$PID | head -n 5"
    run "ps -o pid,stat,cmd --ppid \$PID | grep -c Z"
    stop
fi

if wanted webserver3f-backlog && [ "$HAVE_CLIENT3" = 1 ]; then
    for backlog in 5 1024; do
        serve "webserver3f-backlog$backlog" -- "$B/webserver3f --port 0 --quiet --backlog $backlog"
        begin "webserver3f-backlog$backlog"
        run "PORT=$PORT"
        run "nstat -az TcpExtListenOverflows"
        run "time $C --max-clients 128 --quiet --port \$PORT"
        run "nstat -az TcpExtListenOverflows"
        stop
    done
fi

if wanted webserver3g && [ "$HAVE_CLIENT3" = 1 ]; then
    serve webserver3g-bursts -- "$B/webserver3g --port 0 --quiet"
    begin webserver3g-bursts
    run "PORT=$PORT PID=$SERVER"
    run "$C --max-clients 128 --port \$PORT"
    run "$C --max-clients 128 --port \$PORT"
    run "sleep 1"
    run "ps -o pid,stat,cmd --ppid \$PID"
    run "ps -o pid,stat,cmd --ppid \$PID | grep -c Z"
    stop
fi

if wanted client3 && [ "$HAVE_CLIENT3" = 1 ]; then
    begin client3-help
    run "$C --help"

    serve client3-run -- "$B/webserver3g --port 0 --quiet"
    begin client3-run
    run "PORT=$PORT"
    run "$C --max-clients 4 --max-conns 3 --port \$PORT"
    stop
    # The same port, now that nothing listens on it.
    begin client3-no-server
    run "$C --max-clients 3 --port \$PORT"
fi

echo "done: $(ls "$OUT" | wc -l) files in $OUT" >&2
