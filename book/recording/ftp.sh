# Sessions of the file server chapter (book/record runs them). Needs curl,
# python3, nc, ps, pgrep and setsid. Works in /tmp/lsbaws-ftp (the library
# and the clients' files), which each session recreates, so the paths in the
# transcripts are the same from one run to the next.

needs curl python3 nc ps pgrep setsid
WORK=/tmp/lsbaws-ftp

# A fresh library with a small text file, and a folder for the client, where
# the clients run (`run` runs its commands in $RUN_DIR).
fresh_library() {
    rm -rf "$WORK"
    mkdir -p "$WORK/library" "$WORK/client"
    printf 'Hello from the library!\n' >"$WORK/library/hello.txt"
    printf 'Notes to upload.\n' >"$WORK/client/notes.txt"
    # Let the clients find target/debug/ftp-client from there.
    mkdir -p "$WORK/client/target"
    ln -s "$ROOT/$B" "$WORK/client/$B"
    RUN_DIR=$WORK/client
}

# serve_ftp NAME ARGS...: start ftp-server with ARGS on the fresh library.
serve_ftp() {
    local name=$1
    shift
    serve "$name" -- "$B/ftp-server --port 0 --root $WORK/library $*"
}

record_ftp_curl() {
    fresh_library
    serve_ftp ftp-curl
    begin ftp-curl
    run "PORT=$PORT"
    # -s: no progress meter, whose lines land among curl's own at moments
    # that vary; -v: the commands and replies.
    run "curl -sv ftp://127.0.0.1:\$PORT/hello.txt"
    sleep 0.2
    stop
}

record_ftp_curl_upload() {
    fresh_library
    serve_ftp ftp-curl-upload --quiet
    begin ftp-curl-upload
    run "PORT=$PORT"
    run "curl -sS -T notes.txt ftp://127.0.0.1:\$PORT/"
    run "curl -sS ftp://127.0.0.1:\$PORT/"
    run "curl -sS ftp://127.0.0.1:\$PORT/notes.txt"
    stop
}

record_ftp_client() {
    fresh_library
    serve_ftp ftp-client --quiet
    begin ftp-client
    run "PORT=$PORT"
    run "printf 'list\\nput notes.txt\\nlist\\nget hello.txt\\nget missing.txt\\nquit\\n' | $B/ftp-client --port \$PORT"
    run "$B/ftp-client --port \$PORT --verbose <<< 'get notes.txt copy.txt'"
    run "cat copy.txt"
    stop
}

record_ftp_fork() {
    fresh_library
    serve_ftp ftp-fork --quiet
    begin ftp-fork
    run "PORT=$PORT PID=$SERVER"
    run "{ sleep 2; echo quit; } | $B/ftp-client --port \$PORT > /dev/null &"
    local first=$!
    run "{ sleep 2; echo quit; } | $B/ftp-client --port \$PORT > /dev/null &"
    local second=$!
    wait_until '[ "$(pgrep -c -P $PID)" -ge 2 ]'
    run "ps -o pid,ppid,stat,cmd --ppid \$PID"
    wait "$first" "$second"   # both clients quit
    sleep 0.5
    run "ps -o pid,ppid,stat,cmd --ppid \$PID || echo 'no children: both were reaped'"
    stop
}

record_ftp_traversal() {
    fresh_library
    mkdir -p "$WORK/outside"
    printf 'top secret\n' >"$WORK/outside/secret.txt"
    ln -s ../outside/secret.txt "$WORK/library/escape"
    serve_ftp ftp-traversal
    begin ftp-traversal
    run "PORT=$PORT"
    run "ls -l $WORK/library"
    run "printf 'get ../outside/secret.txt\\nget /etc/passwd\\nget escape\\ncd ..\\nlist\\n' | $B/ftp-client --port \$PORT"
    sleep 0.2
    stop
}

record_ftp_killed() {
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
    serve_ftp ftp-killed
    begin ftp-killed
    run "PORT=$PORT"
    run "ls -la $WORK/library"
    run "python3 kill-halfway.py \$PORT"
    sleep 0.5
    run "ls -la $WORK/library"
    run "head -c 16 $WORK/library/precious.bin; echo"
    stop
}

record_ftp_idle() {
    fresh_library
    serve_ftp ftp-idle --quiet --idle-timeout 3
    begin ftp-idle
    run "PORT=$PORT"
    run "SECONDS=0; nc 127.0.0.1 \$PORT; echo \"nc saw EOF after \$SECONDS s\""
    stop
}

record_ftp_raw() {
    fresh_library
    serve_ftp ftp-raw --quiet
    begin ftp-raw
    run "PORT=$PORT"
    run "printf 'PASS secret\\r\\nUSER anonymous\\r\\nPASS guest\\r\\nHELLO\\r\\nRETR missing.txt\\r\\nLIST\\r\\nPORT 127,0,0,1,4,1\\r\\nQUIT\\r\\n' | nc 127.0.0.1 \$PORT"
    stop
}
