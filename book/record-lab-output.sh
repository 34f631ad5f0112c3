#!/usr/bin/env bash
# Re-run the exercise chapter's `cargo lab` sessions and rewrite the
# transcripts they print into book/src/output/lab-*.txt. The chapter includes
# those files, so every line of output it shows is what a real run printed.
#
#   book/record-lab-output.sh
#
# The working copies go to /tmp/lsbaws-lab/work (LAB_WORK_DIR), which it
# recreates, so a student's own lessons/work is never touched; that is why
# the paths in the transcripts start with /tmp/lsbaws-lab/work. A line in
# square brackets, such as `[exit status 1]`, is the shell's exit status of
# the command above it, not something the program printed.

set -euo pipefail
cd "$(dirname "$0")/.."
OUT=book/src/output
WORK=/tmp/lsbaws-lab
mkdir -p "$OUT"
rm -rf "$WORK"
mkdir -p "$WORK"
export LAB_WORK_DIR=$WORK/work
# One build folder for the copies, kept between recordings.
export LAB_TARGET_DIR=$PWD/target/lab-work-book

echo "building ..." >&2
cargo build --quiet --bin lab --bin webserver3d

# begin NAME: the transcript goes to $OUT/NAME.txt from now on.
begin() {
    TRANSCRIPT=$OUT/$1.txt
    : >"$TRANSCRIPT"
    echo "recording $1" >&2
}

# run 'COMMAND': print "$ COMMAND" and what it prints, as a terminal would.
run() {
    printf '$ %s\n' "$1" >>"$TRANSCRIPT"
    local status=0
    eval "$1" >"$WORK/output" 2>&1 || status=$?
    cat "$WORK/output" >>"$TRANSCRIPT"
    if [ "$status" -ne 0 ]; then printf '[exit status %d]\n' "$status" >>"$TRANSCRIPT"; fi
}

COPY=$LAB_WORK_DIR/3c

begin lab-list
run 'cargo lab list'

begin lab-start-3c
run 'cargo lab start 3c'

# Build the copy once, unrecorded, so that the transcript shows a student's
# usual rebuild rather than the first build of every dependency.
cargo build --quiet --manifest-path "$COPY/Cargo.toml" --target-dir "$LAB_TARGET_DIR"

begin lab-check-3c-starter
# A student's predictions: one right, one forgetting the listening socket.
run "sed -i -e 's/^fds_after_10: \$/fds_after_10: 13/' -e 's/^emfile_clients: \$/emfile_clients: 250/' $COPY/answers.txt"
run 'cargo lab check 3c'

begin lab-hint-3c
run 'cargo lab hint 3c'
run 'cargo lab hint 3c'

begin lab-check-3c-broken
run "sed -i 's/let _ = close(listen_socket);/let _ = close(listen_socket)/' $COPY/src/main.rs"
run 'cargo lab check 3c'

begin lab-check-3c-fixed
# The fix of the last hint: close the parent's copy, drop the list.
run "cp bins/webserver3d.rs $COPY/src/main.rs"
run "sed -i -e 's/^                clients.push(client_connection);/                let _ = close(client_connection);/' -e '/let mut clients = Vec::new();/d' -e '/if !args.server.quiet {\$/,/^                }\$/d' $COPY/src/main.rs"
run 'cargo lab diff 3c --starter'
run "sed -i 's/^fds_after_10: 13\$/fds_after_10: 14/' $COPY/answers.txt"
run 'cargo lab check 3c'
run 'cargo lab list'

begin lab-check-ftp-confine-starter
run 'cargo lab start ftp-confine'
cargo build --quiet --manifest-path "$LAB_WORK_DIR/ftp-confine/Cargo.toml" --target-dir "$LAB_TARGET_DIR"
run 'cargo lab check ftp-confine'

echo "done: $OUT/lab-*.txt" >&2
