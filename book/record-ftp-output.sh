#!/usr/bin/env bash
# Re-run the file server chapter's sessions and rewrite the transcripts they
# print into book/src/output/ftp-*.txt. The chapter includes those files, so
# every line of output it shows is what a real run printed.
#
#   book/record-ftp-output.sh              # every session
#   book/record-ftp-output.sh curl idle    # only those whose name contains curl or idle
#
# Needs Linux, curl, python3, nc, ps and pgrep, setsid. Works in
# /tmp/lsbaws-ftp (the library and the clients' files), which it recreates.
#
# File naming, as in book/record-output.sh: NAME.txt is the terminal where
# the clients run, NAME.server.txt the terminal where the server runs. A
# line in square brackets, such as `[exit status 1]`, is the shell's exit
# status of the command above it, not something the program printed.

set -euo pipefail
cd "$(dirname "$0")/.."
OUT=book/src/output
B=target/debug          # transcripts show the programs as target/debug/NAME
WORK=/tmp/lsbaws-ftp
mkdir -p "$OUT"

for tool in curl python3 nc ps pgrep setsid; do
    command -v "$tool" >/dev/null || { echo "record-ftp-output.sh: needs $tool" >&2; exit 1; }
done
if pgrep -x ftp-server >/dev/null; then
    echo "record-ftp-output.sh: stop the running ftp-server first (pgrep -a -x ftp-server)" >&2
    exit 1
fi

echo "building ..." >&2
cargo build --quiet --bin ftp-server --bin ftp-client

# wanted, begin, stop (and the cleanup on exit) from the shared helpers;
# this script runs its clients in $WORK/client and its servers its own way.
source book/record-lib.sh "$@"

# A fresh library with a small text file, and a folder for the client.
fresh_library() {
    rm -rf "$WORK"
    mkdir -p "$WORK/library" "$WORK/client"
    printf 'Hello from the library!\n' >"$WORK/library/hello.txt"
    printf 'Notes to upload.\n' >"$WORK/client/notes.txt"
    # The clients run in $WORK/client; let them find target/debug/ftp-client.
    mkdir -p "$WORK/client/target"
    ln -s "$PWD/$B" "$WORK/client/$B"
}

# run 'COMMAND': print "$ COMMAND" and what it prints, as a terminal would.
# It runs in $WORK/client, in this shell (so it sees $PORT).
run() {
    printf '$ %s\n' "$1" >>"$TRANSCRIPT"
    local status=0
    (cd "$WORK/client" && eval "$1") >"$WORK/output" 2>&1 || status=$?
    # bash reports a command killed by a signal as "SCRIPT: line N: PID
    # Killed ..."; a terminal shows just "Killed".
    sed -E 's/^.*: line [0-9]+: +[0-9]+ (Killed|Terminated).*/\1/' "$WORK/output" >>"$TRANSCRIPT"
    if [ "$status" -ne 0 ]; then printf '[exit status %d]\n' "$status" >>"$TRANSCRIPT"; fi
}

# serve NAME ARGS...: start ftp-server with ARGS in a new session (its own
# process group), its terminal going to $OUT/NAME.server.txt; wait for the
# banner; set PORT and SERVER.
serve() {
    local name=$1
    shift
    SERVER_LOG=$OUT/$name.server.txt
    local cmd="$B/ftp-server --port 0 --root $WORK/library $*"
    printf '$ %s\n' "$cmd" >"$SERVER_LOG"
    setsid $cmd >>"$SERVER_LOG" 2>&1 </dev/null &
    SERVER=$!
    SERVERS+=("$SERVER")
    local i
    PORT=
    for i in $(seq 200); do
        PORT=$(sed -n 's/^Serving FTP on port \([0-9]*\) \.\.\.$/\1/p' "$SERVER_LOG")
        [ -n "$PORT" ] && break
        kill -0 "$SERVER" 2>/dev/null || { cat "$SERVER_LOG" >&2; exit 1; }
        sleep 0.05
    done
    [ -n "$PORT" ] || { echo "no banner from: $cmd" >&2; exit 1; }
}

# ---- the sessions ----------------------------------------------------------

if wanted curl; then
    fresh_library
    serve ftp-curl
    begin ftp-curl
    run "PORT=$PORT"
    run "curl -v ftp://127.0.0.1:\$PORT/hello.txt"
    sleep 0.2
    stop
fi

if wanted curl-upload; then
    fresh_library
    serve ftp-curl-upload --quiet
    begin ftp-curl-upload
    run "PORT=$PORT"
    run "curl -sS -T notes.txt ftp://127.0.0.1:\$PORT/"
    run "curl -sS ftp://127.0.0.1:\$PORT/"
    run "curl -sS ftp://127.0.0.1:\$PORT/notes.txt"
    stop
fi

if wanted client; then
    fresh_library
    serve ftp-client --quiet
    begin ftp-client
    run "PORT=$PORT"
    run "printf 'list\\nput notes.txt\\nlist\\nget hello.txt\\nget missing.txt\\nquit\\n' | $B/ftp-client --port \$PORT"
    run "$B/ftp-client --port \$PORT --verbose <<< 'get notes.txt copy.txt'"
    run "cat copy.txt"
    stop
fi

if wanted fork; then
    fresh_library
    serve ftp-fork --quiet
    begin ftp-fork
    run "PORT=$PORT"
    run "{ sleep 2; echo quit; } | $B/ftp-client --port \$PORT > /dev/null &"
    run "{ sleep 2; echo quit; } | $B/ftp-client --port \$PORT > /dev/null &"
    sleep 0.5
    run "ps -o pid,ppid,stat,cmd --ppid \$(pgrep -o -x ftp-server)"
    while pgrep -x ftp-client >/dev/null; do sleep 0.1; done  # both quit
    sleep 0.5
    run "ps -o pid,ppid,stat,cmd --ppid \$(pgrep -o -x ftp-server) || echo 'no children: both were reaped'"
    stop
fi

if wanted traversal; then
    fresh_library
    mkdir -p "$WORK/outside"
    printf 'top secret\n' >"$WORK/outside/secret.txt"
    ln -s ../outside/secret.txt "$WORK/library/escape"
    serve ftp-traversal
    begin ftp-traversal
    run "PORT=$PORT"
    run "ls -l $WORK/library"
    run "printf 'get ../outside/secret.txt\\nget /etc/passwd\\nget escape\\ncd ..\\nlist\\n' | $B/ftp-client --port \$PORT"
    sleep 0.2
    stop
fi

if wanted killed; then
    fresh_library
    head -c 1048576 /dev/zero | tr '\0' 'A' >"$WORK/library/precious.bin"
    cat >"$WORK/client/kill-halfway.py" <<'PY'
import ftplib, os, signal, sys
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", int(sys.argv[1]))
ftp.login()
ftp.voidcmd("TYPE I")
data = ftp.transfercmd("STOR precious.bin")   # PASV, then STOR: 150
data.sendall(b"B" * 524288)                   # half of a 1 MiB file
print("sent half; killing myself", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
PY
    serve ftp-killed
    begin ftp-killed
    run "PORT=$PORT"
    run "ls -la $WORK/library"
    run "python3 kill-halfway.py \$PORT"
    sleep 0.5
    run "ls -la $WORK/library"
    run "head -c 16 $WORK/library/precious.bin; echo"
    stop
fi

if wanted idle; then
    fresh_library
    serve ftp-idle --quiet --idle-timeout 3
    begin ftp-idle
    run "PORT=$PORT"
    run "SECONDS=0; nc 127.0.0.1 \$PORT; echo \"nc saw EOF after \$SECONDS s\""
    stop
fi

if wanted raw; then
    fresh_library
    serve ftp-raw --quiet
    begin ftp-raw
    run "PORT=$PORT"
    run "printf 'PASS secret\\r\\nUSER anonymous\\r\\nPASS guest\\r\\nHELLO\\r\\nRETR missing.txt\\r\\nLIST\\r\\nPORT 127,0,0,1,4,1\\r\\nQUIT\\r\\n' | nc 127.0.0.1 \$PORT"
    stop
fi
echo "done: $OUT/ftp-*.txt" >&2
