#!/usr/bin/env bash
# Kept for habit: the file server's sessions are now in
# book/recording/ftp.sh, and `book/record` runs every experiment of the
# book. `book/record-ftp-output.sh curl idle` still works.
exec "$(dirname "$0")/record" --group ftp "$@"
