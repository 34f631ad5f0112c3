# Helpers the book's recording scripts share (sourced, not run): choose
# experiments by name, write transcripts as a terminal shows them, and
# start, watch and stop servers. See book/record-output.sh for the
# conventions (NAME.txt, NAME.server.txt, `[exit status N]`).
#
# The sourcing script sets OUT (where transcripts go) and passes its own
# arguments on: `source book/record-lib.sh "$@"`.

WANT=("$@")
wanted() {  # is experiment $1 selected on the command line?
    [ ${#WANT[@]} -eq 0 ] && return 0
    local w
    for w in "${WANT[@]}"; do [[ $1 == *"$w"* ]] && return 0; done
    return 1
}

# ---- transcripts -----------------------------------------------------------

# begin NAME: the client-side transcript goes to $OUT/NAME.txt from now on.
begin() {
    TRANSCRIPT=$OUT/$1.txt
    : >"$TRANSCRIPT"
    echo "recording $1" >&2
}

# run 'COMMAND': print "$ COMMAND" and what it prints, as a terminal would.
# The command runs in this shell, so it sees $PORT, and `&` backgrounds it.
run() {
    printf '$ %s\n' "$1" >>"$TRANSCRIPT"
    local status=0
    eval "$1" >>"$TRANSCRIPT" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then printf '[exit status %d]\n' "$status" >>"$TRANSCRIPT"; fi
}

# ---- servers ---------------------------------------------------------------

SERVERS=()
# serve NAME [PRELUDE-COMMAND...] -- PROGRAM ARGS...
# Start PROGRAM (a command line, shown as typed) in a new session, after the
# prelude commands (`ulimit -n 256`, ...) in the same shell, with the whole
# terminal going to $OUT/NAME.server.txt; wait for the banner; set PORT and
# SERVER (the pid, which is also the process group id).
# With AS_USER=someone, the shell runs as that user (setpriv).
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
    # A terminal's shell hands a server descriptors 0, 1 and 2 only: close
    # whatever else this script inherited, so that counts of open
    # descriptors in the transcripts are the ones a student sees.
    script="for fd in /proc/\$\$/fd/*; do fd=\${fd##*/}; [ \$fd -gt 2 ] && eval \"exec \$fd>&-\"; done; $script"
    if [ -n "${AS_USER:-}" ]; then
        setsid setpriv --reuid="$AS_USER" --regid="$(id -gn "$AS_USER")" --clear-groups \
            bash -c "$script" >>"$SERVER_LOG" 2>&1 </dev/null &
    else
        setsid bash -c "$script" >>"$SERVER_LOG" 2>&1 </dev/null &
    fi
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
}

# exited: the server is expected to stop on its own; note its exit status.
exited() {
    local status=0 i
    for i in $(seq 600); do
        case $(ps -o stat= -p "$SERVER" 2>/dev/null) in Z*|"") break ;; esac
        [ "$i" -eq 600 ] && { echo "$(basename "$0"): the server did not exit" >&2; exit 1; }
        sleep 0.1
    done
    wait "$SERVER" || status=$?
    printf '[exit status %d]\n' "$status" >>"$SERVER_LOG"
}

# stop: kill the server's process group (it and every child it forked), and
# wait until none of them is left, zombies included.
stop() {
    kill -TERM -- "-$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    local i
    for i in $(seq 300); do
        pgrep -g "$SERVER" >/dev/null || return 0
        kill -KILL -- "-$SERVER" 2>/dev/null || true
        sleep 0.1
    done
    echo "$(basename "$0"): process group $SERVER still has members:" >&2
    ps -o pid,stat,cmd -g "$SERVER" >&2 || true
}

cleanup() {
    local s
    for s in "${SERVERS[@]}"; do kill -KILL -- "-$s" 2>/dev/null || true; done
}
trap cleanup EXIT
