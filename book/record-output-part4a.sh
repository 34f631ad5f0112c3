#!/usr/bin/env bash
# Kept for habit: the experiments of webserver4a, 4b, 4h, 4c and 4d are now
# in book/recording/part4-blocking.sh, and `book/record` runs every
# experiment of the book. `book/record-output-part4a.sh 4c` still works.
exec "$(dirname "$0")/record" --group part4-blocking "$@"
