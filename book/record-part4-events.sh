#!/usr/bin/env bash
# Re-run the experiments of Part 4's event-loop and coroutine chapters
# (webserver4e, 4f, 4g and the comparison) and rewrite the transcripts they
# print into book/src/output/part4-*.txt. The chapters include those files,
# so every line of output they show is what a real run printed.
#
#   book/record-part4-events.sh            # every experiment
#   book/record-part4-events.sh 4g c10k    # only those whose name contains 4g or c10k
#
# Needs Linux, curl, python3, strace, ps, setsid, and cargo for the c10k
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

for tool in curl python3 strace ps setsid; do
    command -v "$tool" >/dev/null || { echo "record-part4-events.sh: needs $tool" >&2; exit 1; }
done
echo "building ..." >&2
cargo build --quiet --bin webserver4e --bin webserver4f --bin webserver4g

WANT=("$@")
wanted() {  # is experiment $1 selected on the command line?
    [ ${#WANT[@]} -eq 0 ] && return 0
    local w
    for w in "${WANT[@]}"; do [[ $1 == *"$w"* ]] && return 0; done
    return 1
}

# begin NAME: the client-side transcript goes to $OUT/NAME.txt from now on.
begin() {
    TRANSCRIPT=$OUT/$1.txt
    : >"$TRANSCRIPT"
    echo "recording $1" >&2
}

# run 'COMMAND': print "$ COMMAND" and what it prints, as a terminal would.
run() {
    printf '$ %s\n' "$1" >>"$TRANSCRIPT"
    local status=0
    eval "$1" >>"$TRANSCRIPT" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then printf '[exit status %d]\n' "$status" >>"$TRANSCRIPT"; fi
}

SERVERS=()
# serve NAME [PRELUDE...] -- PROGRAM ARGS...: start PROGRAM in a new session
# (after prelude commands such as `ulimit -n 64`), its terminal going to
# $OUT/NAME.server.txt; wait for the banner; set PORT, and PID to the
# server's own pid (under strace, the traced program's).
serve() {
    local name=$1 script="" cmd
    shift
    SERVER_LOG=$OUT/$name.server.txt
    : >"$SERVER_LOG"
    while [ "$1" != "--" ]; do
        script+="printf '\$ %s\\n' '$1'; $1; "
        shift
    done
    shift
    cmd="$*"
    script+="printf '\$ %s\\n' '$cmd'; exec $cmd"
    # Only descriptors 0, 1 and 2, as a terminal's shell would hand over.
    script="for fd in /proc/\$\$/fd/*; do fd=\${fd##*/}; [ \$fd -gt 2 ] && eval \"exec \$fd>&-\"; done; $script"
    setsid bash -c "$script" >>"$SERVER_LOG" 2>&1 </dev/null &
    SERVER=$!
    SERVERS+=("$SERVER")
    local i
    for i in $(seq 200); do
        PORT=$(sed -n 's/^Serving HTTP on port \([0-9]*\) \.\.\.$/\1/p' "$SERVER_LOG")
        [ -n "$PORT" ] && break
        kill -0 "$SERVER" 2>/dev/null || { cat "$SERVER_LOG" >&2; exit 1; }
        sleep 0.05
    done
    [ -n "$PORT" ] || { echo "no banner from: $cmd" >&2; cat "$SERVER_LOG" >&2; exit 1; }
    # The server itself: the session leader, or the program strace runs.
    PID=$(pgrep -s "$SERVER" -f "^$B/webserver4" | head -1)
}

stop() {
    kill -KILL -- "-$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
}

cleanup() {
    local s
    for s in "${SERVERS[@]}"; do kill -KILL -- "-$s" 2>/dev/null || true; done
}
trap cleanup EXIT

# CPU ticks (utime + stime, 1/100 s each) the server has used so far.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

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
    serve part4-4e-emfile "ulimit -n 64" -- "$B/webserver4e --port 0 --quiet"
    begin part4-4e-emfile
    run "PORT=$PORT PID=$PID"
    run "python3 $CLIENTS crowd \$PORT 100 &"
    BG=$!
    sleep 2
    run "before=\$(cpu \$PID); sleep 2; echo \"CPU in 2 s: \$(( \$(cpu \$PID) - before )) ticks of 10 ms\""
    run "timeout -s INT 1 strace -c -e trace=epoll_wait,accept4 -p \$PID 2>&1 | tail -5"
    wait "$BG"
    stop
fi

# ---- webserver4f ------------------------------------------------------------

if wanted 4f-threads; then
    serve part4-4f-threads -- "$B/webserver4f --port 0 --quiet --workers 2"
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
    serve part4-4f-emfile "ulimit -n 64" -- "$B/webserver4f --port 0 --quiet"
    begin part4-4f-emfile
    run "PORT=$PORT PID=$PID"
    run "python3 $CLIENTS crowd \$PORT 100 &"
    BG=$!
    sleep 2
    run "before=\$(cpu \$PID); sleep 2; echo \"CPU in 2 s: \$(( \$(cpu \$PID) - before )) ticks of 10 ms\""
    wait "$BG"
    stop
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
    serve part4-4g-emfile "ulimit -n 64" -- "$B/webserver4g --port 0 --quiet"
    begin part4-4g-emfile
    run "PORT=$PORT PID=$PID"
    run "python3 $CLIENTS crowd \$PORT 100 &"
    BG=$!
    sleep 2
    run "before=\$(cpu \$PID); sleep 2; echo \"CPU in 2 s: \$(( \$(cpu \$PID) - before )) ticks of 10 ms\""
    run "timeout -s INT 1 strace -c -e trace=epoll_wait,accept4 -p \$PID 2>&1 | tail -5"
    wait "$BG"
    stop
fi

if wanted 4g-pipeline; then
    serve part4-4g-pipeline -- "strace -o /tmp/4g.strace -e trace=epoll_wait,accept4,recvfrom,sendto -s 0 $B/webserver4g --port 0"
    begin part4-4g-pipeline
    run "PORT=$PORT"
    run "printf 'GET /hello.txt HTTP/1.1\r\n\r\n%.0s' 1 2 3 4 5 | curl -s --max-time 1 telnet://127.0.0.1:\$PORT | grep -c '^HTTP/1.1 200 OK'"
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
