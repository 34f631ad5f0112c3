#!/usr/bin/env bash
# Re-run the experiments of Part 4's event-loop and coroutine chapters
# (webserver4e, 4f, 4g and the comparison) and rewrite the transcripts they
# print into book/src/output/part4-*.txt. The chapters include those files,
# so every line of output they show is what a real run printed.
#
#   book/record-part4-events.sh            # every experiment
#   book/record-part4-events.sh 4g c10k    # only those whose name contains 4g or c10k
#
# Needs Linux, curl, python3, nc (OpenBSD netcat), strace, ps, setsid, and cargo for the c10k
# benchmark (which builds in release mode and takes a minute or two).
#
# File naming, as in book/record-output.sh: NAME.txt is the terminal where
# the clients run, NAME.server.txt the terminal where the server runs. A
# line in square brackets, such as `[exit status 1]`, is the shell's exit
# status of the command above it, not something the program printed.

set -euo pipefail
cd "$(dirname "$0")/.."
OUT=book/src/output
B=target/debug          # transcripts show the programs as target/debug/NAME
CLIENTS=book/part4-clients.py
mkdir -p "$OUT"

for tool in curl python3 nc strace ps setsid; do
    command -v "$tool" >/dev/null || { echo "record-part4-events.sh: needs $tool" >&2; exit 1; }
done
echo "building ..." >&2
cargo build --quiet --bin webserver4e --bin webserver4f --bin webserver4g

# wanted, begin, run, serve, stop (and the cleanup on exit).
source book/record-lib.sh "$@"

# The server's own pid: the program itself, not the shell or strace that
# started it (they share its session).
server_pid() { pgrep -s "$SERVER" -f "^$B/webserver4" | head -1; }

# CPU ticks (utime + stime, 1/100 s each) the server has used so far.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# out_of_descriptors NAME PROGRAM ARGS...: start the server under
# `ulimit -n 64`, let a crowd of 100 clients in, and measure it meanwhile.
out_of_descriptors() {
    local name=$1
    shift
    serve "$name" "ulimit -n 64" -- "$*"
    PID=$(server_pid)
    begin "$name"
    run "PORT=$PORT PID=$PID"
    run "python3 $CLIENTS crowd \$PORT 100 &"
    BG=$!
    sleep 3
    run "before=\$(cpu \$PID); sleep 2; echo \"CPU in 2 s: \$(( \$(cpu \$PID) - before )) ticks of 10 ms\""
    run "timeout -s INT 1 strace -f -c -e trace=epoll_wait,accept4 -p \$PID 2>&1 | tail -5"
    wait "$BG"
    stop
}

# ---- webserver4e ------------------------------------------------------------

if wanted 4e-syscalls; then
    serve part4-4e-syscalls -- "strace -o /tmp/4e.strace -e trace=epoll_create1,epoll_ctl,epoll_wait,accept4,read,write,close -s 16 $B/webserver4e --port 0 --quiet"
    begin part4-4e-syscalls
    run "PORT=$PORT"
    run "curl -s -o /dev/null -o /dev/null -w '%{http_code} %{size_download} bytes, connections opened: %{num_connects}\n' http://127.0.0.1:\$PORT/hello.txt http://127.0.0.1:\$PORT/style.css"
    sleep 0.3
    stop
    run "sed -n '/^epoll_create1/,\$p' /tmp/4e.strace"
fi

if wanted 4e-partial-write; then
    serve part4-4e-partial-write -- "strace -o /tmp/4e.strace -e trace=epoll_ctl,epoll_wait,read,write -s 0 $B/webserver4e --port 0 --quiet"
    begin part4-4e-partial-write
    run "PORT=$PORT"
    run "python3 $CLIENTS slow \$PORT 6"
    sleep 0.3
    stop
    run "sed -n '/^epoll_ctl/,\$p' /tmp/4e.strace"
fi

if wanted 4e-one-thread; then
    serve part4-4e-one-thread -- "$B/webserver4e --port 0 --quiet"
    PID=$(server_pid)
    begin part4-4e-one-thread
    run "PORT=$PORT PID=$PID"
    run "python3 $CLIENTS hold \$PORT 1000 6 &"
    BG=$!
    sleep 3
    run "ls /proc/\$PID/task | wc -l"
    run "ls /proc/\$PID/fd | wc -l"
    run "ls -l /proc/\$PID/fd/4"
    run "grep -c '^tfd:' /proc/\$PID/fdinfo/4"
    run "grep VmRSS /proc/\$PID/status"
    run "before=\$(cpu \$PID); sleep 2; echo \"CPU in 2 s: \$(( \$(cpu \$PID) - before )) ticks of 10 ms\""
    wait "$BG"
    stop
fi

if wanted 4e-emfile; then
    out_of_descriptors part4-4e-emfile "$B/webserver4e --port 0 --quiet"
fi

# ---- webserver4f ------------------------------------------------------------

if wanted 4f-threads; then
    serve part4-4f-threads -- "$B/webserver4f --port 0 --quiet --workers 2"
    PID=$(server_pid)
    begin part4-4f-threads
    run "PORT=$PORT PID=$PID"
    run "ls /proc/\$PID/task | wc -l"
    run "python3 $CLIENTS hold \$PORT 1000 4 &"
    BG=$!
    sleep 2.5
    run "ls /proc/\$PID/task | wc -l"
    run "cat /proc/\$PID/task/*/comm | sort | uniq -c"
    run "grep VmRSS /proc/\$PID/status"
    run "before=\$(cpu \$PID); sleep 1; echo \"CPU in 1 s: \$(( \$(cpu \$PID) - before )) ticks of 10 ms\""
    wait "$BG"
    stop
fi

if wanted 4f-emfile; then
    out_of_descriptors part4-4f-emfile "$B/webserver4f --port 0 --quiet"
fi

# ---- webserver4g ------------------------------------------------------------

if wanted 4g-idle-timeout; then
    serve part4-4g-idle-timeout -- "strace -o /tmp/4g.strace -e trace=epoll_wait,accept4,close -s 0 $B/webserver4g --port 0 --idle-timeout 2"
    begin part4-4g-idle-timeout
    run "PORT=$PORT"
    run "python3 $CLIENTS idle \$PORT"
    sleep 0.3
    stop
    run "sed -n '/^epoll_wait/,\$p' /tmp/4g.strace"
fi

if wanted 4g-emfile; then
    out_of_descriptors part4-4g-emfile "$B/webserver4g --port 0 --quiet --idle-timeout 60"
fi

if wanted 4g-pipeline; then
    serve part4-4g-pipeline -- "strace -o /tmp/4g.strace -e trace=epoll_wait,accept4,recvfrom,sendto -s 0 $B/webserver4g --port 0"
    begin part4-4g-pipeline
    run "PORT=$PORT"
    run "printf 'GET /hello.txt HTTP/1.1\r\n\r\n%.0s' 1 2 3 4 5 | nc -N 127.0.0.1 \$PORT | grep -o 'HTTP/1.1 200 OK' | wc -l"
    sleep 0.3
    stop
    run "sed -n '/^epoll_wait/,\$p' /tmp/4g.strace"
fi

# ---- all three: the c10k benchmark -----------------------------------------

if wanted c10k; then
    begin part4-c10k
    run "cargo bench --quiet --bench c10k 2>/dev/null"
    begin part4-c10k-backlog
    run "C10K_BACKLOG=1024 cargo bench --quiet --bench c10k -- webserver4e webserver4f 2>/dev/null"
fi
