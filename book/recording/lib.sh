# The helpers every experiment file in book/recording/ uses. Sourced by
# book/record, one group (one file) per shell; never run on its own.
#
# An experiment is a shell function named `record_NAME` in a group file;
# book/record runs the ones whose NAME (with `_` read as `-`) contains one of
# the patterns given on its command line, or all of them.
#
# Conventions, the same for every transcript:
# * NAME.txt is the terminal where the clients run, NAME.server.txt the
#   terminal where the server runs.
# * A line `$ COMMAND` is a command as typed, followed by what it printed.
# * A line in square brackets, such as `[exit status 1]`, is the shell's exit
#   status of the command above it, not something the program printed.
# * Each server runs in its own session (process group) on a port the kernel
#   picks (--port 0) on 127.0.0.1, and is killed with its whole group when
#   its experiment ends, or when the group's shell exits in any way.
#
# Set by book/record: ROOT (the repository), OUT (where transcripts go),
# B (target/debug: transcripts show the programs as target/debug/NAME).

set -euo pipefail
cd "$ROOT"
mkdir -p "$OUT"
GROUP=${GROUP:-$(basename "${BASH_SOURCE[1]:-group}" .sh)}

say() { echo "[$GROUP $(date +%T)] $*" >&2; }

# needs TOOL...: stop with a clear message if a tool is missing.
needs() {
    local tool missing=()
    for tool in "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
    if [ ${#missing[@]} -gt 0 ]; then
        say "needs ${missing[*]} (Debian: apt-get install curl netcat-openbsd strace procps iproute2 util-linux python3)"
        exit 1
    fi
}

# skipped NAME...: this run did not record these transcripts (an optional
# tool is missing, or see `checking`) and keeps the old ones; the drift
# check then leaves them be.
skipped() { local name; for name in "$@"; do echo "$name" >>"${SKIPPED:-/dev/null}"; done; }

# checking: is this run the drift check (book/record --check)? An
# experiment too slow for it, or whose numbers are its whole content (a
# benchmark), records only when asked for by name:
#     if checking; then skipped part4-c10k; return; fi
checking() { [ "${BOOK_RECORD_CHECK:-0}" = 1 ]; }

# asked_for WORD: was a pattern given on the command line that WORD
# contains (`book/record c10k`)? For experiments that run only on request.
asked_for() {
    local pattern
    for pattern in "${PATTERNS_GIVEN[@]}"; do [[ $1 == *"$pattern"* ]] && return 0; done
    return 1
}

# ---- transcripts -----------------------------------------------------------

RUN_DIR=$ROOT   # where `run` runs its commands (a group may change it)

# begin NAME: the client-side transcript goes to $OUT/NAME.txt from now on.
begin() {
    TRANSCRIPT=$OUT/$1.txt
    : >"$TRANSCRIPT"
    say "recording $1"
}

# run 'COMMAND': print "$ COMMAND" and what it prints, as a terminal would.
# The command runs in this shell (so it sees $PORT, and `&` makes a job of
# this shell, whose pid is then in $!), in $RUN_DIR.
run() {
    printf '$ %s\n' "$1" >>"$TRANSCRIPT"
    local status=0
    cd "$RUN_DIR"
    eval "$1" >>"$TRANSCRIPT" 2>&1 || status=$?
    cd "$ROOT"
    # bash reports a command killed by a signal as "FILE: line N: PID
    # Killed ..."; a terminal shows just "Killed".
    if grep -qE '^.*: line [0-9]+: +[0-9]+ (Killed|Terminated)' "$TRANSCRIPT"; then
        sed -i -E 's/^.*: line [0-9]+: +[0-9]+ (Killed|Terminated).*/\1/' "$TRANSCRIPT"
    fi
    if [ "$status" -ne 0 ]; then printf '[exit status %d]\n' "$status" >>"$TRANSCRIPT"; fi
}

# wait_for_output TEXT [SECONDS]: wait (60 s at most) until a command
# running in the background has printed TEXT into the transcript, so that
# the next command's output comes after it, however slow the machine.
wait_for_output() {
    local i
    for i in $(seq $((${2:-60} * 20))); do
        grep -qF -- "$1" "$TRANSCRIPT" && return 0
        sleep 0.05
    done
    say "no '$1' in $TRANSCRIPT after ${2:-60} s"
    exit 1
}

# wait_until 'CONDITION' [SECONDS]: wait (30 s at most), unrecorded, until
# a shell condition holds: the server has forked its children, spawned its
# threads. Then a transcript shows the state the experiment is about, not
# how far a slow machine has got.
wait_until() {
    local i
    for i in $(seq $((${2:-30} * 20))); do
        eval "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    say "still not true after ${2:-30} s: $1"
    exit 1
}

# ---- servers ---------------------------------------------------------------

SERVERS=()
# serve NAME [PRELUDE-COMMAND...] -- PROGRAM ARGS...
# Start PROGRAM (a command line, shown as typed) in a new session, after the
# prelude commands (`ulimit -n 256`, ...) in the same shell, with the whole
# terminal going to $OUT/NAME.server.txt; wait for its banner (`Serving HTTP
# on port N ...`, or FTP, or UDP); set PORT, SERVER (the pid of the
# session's first process, which is also the process group id) and PID (the
# server program's own pid: SERVER, or its child when it runs under strace).
# With AS_USER=someone, the shell runs as that user.
serve() {
    local name=$1 preludes=() cmd
    shift
    while [ "$1" != "--" ]; do preludes+=("$1"); shift; done
    shift
    cmd="$*"
    SERVER_LOG=$OUT/$name.server.txt
    : >"$SERVER_LOG"
    # The server's shell gets the commands as arguments (no quoting to get
    # wrong), shows each as typed, runs the preludes and execs the server.
    # A terminal's shell hands a server descriptors 0, 1 and 2 only: it
    # first closes whatever else it inherited, so that counts of open
    # descriptors in the transcripts are the ones a student sees.
    local script='for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
while [ $# -gt 1 ]; do printf "\$ %s\n" "$1"; eval "$1"; shift; done
printf "\$ %s\n" "$1"
eval "exec $1"'
    if [ -n "${AS_USER:-}" ]; then
        setsid setpriv --reuid="$AS_USER" --regid="$(id -gn "$AS_USER")" --clear-groups \
            bash -c "$script" server "${preludes[@]}" "$cmd" >>"$SERVER_LOG" 2>&1 </dev/null &
    else
        setsid bash -c "$script" server "${preludes[@]}" "$cmd" >>"$SERVER_LOG" 2>&1 </dev/null &
    fi
    SERVER=$!
    SERVERS+=("$SERVER")
    local i
    PORT=
    for i in $(seq 400); do
        PORT=$(sed -n -E 's/^Serving .* on port ([0-9]+) \.\.\.$/\1/p' "$SERVER_LOG" | head -n 1)
        [ -n "$PORT" ] && break
        kill -0 "$SERVER" 2>/dev/null || { say "the server died:"; cat "$SERVER_LOG" >&2; exit 1; }
        sleep 0.05
    done
    [ -n "$PORT" ] || { say "no banner from: $cmd"; cat "$SERVER_LOG" >&2; exit 1; }
    # PID: the server program itself, which is SERVER unless it runs under
    # another program (strace): the oldest process of the session that runs
    # one of our binaries.
    PID=$(pgrep -o -s "$SERVER" -f "^$B/" || echo "$SERVER")
}

# exited: the server is expected to stop on its own; note its exit status.
exited() {
    local status=0 i
    for i in $(seq 600); do
        case $(ps -o stat= -p "$SERVER" 2>/dev/null) in Z*|"") break ;; esac
        [ "$i" -eq 600 ] && { say "the server did not exit"; exit 1; }
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
    say "process group $SERVER still has members:"
    ps -o pid,stat,cmd -g "$SERVER" >&2 || true
}

cleanup() {
    local s
    for s in "${SERVERS[@]}"; do kill -KILL -- "-$s" 2>/dev/null || true; done
}
trap cleanup EXIT

# An experiment whose lesson is a race (a burst that should leave zombies)
# sets AGAIN=1 when this run did not show it; run_group then runs it again,
# up to 8 times. Each transcript is one whole real run.
AGAIN=0

# run_group PATTERN...: run this group's experiments (functions record_*)
# whose names contain one of the patterns, or all of them.
PATTERNS_GIVEN=()
run_group() {
    local fn name pattern wanted attempt count=0
    PATTERNS_GIVEN=("$@")
    for fn in $(declare -F | awk '$3 ~ /^record_/ { print $3 }'); do
        name=${fn#record_}
        name=${name//_/-}
        wanted=$(( $# == 0 ))
        for pattern in "$@"; do [[ $name == *"$pattern"* ]] && wanted=1; done
        [ "$wanted" -eq 1 ] || continue
        for attempt in 1 2 3 4 5 6 7 8; do
            AGAIN=0
            "$fn"
            [ "$AGAIN" = 1 ] || break
            say "$name: the race did not show this time; again"
        done
        [ "$AGAIN" = 0 ] || { say "$name: the race never showed in 8 runs"; exit 1; }
        count=$((count + 1))
    done
    say "$count experiments"
}

REQUEST="printf 'GET / HTTP/1.0\\r\\n\\r\\n'"
