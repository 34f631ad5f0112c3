#!/usr/bin/env bash
# Kept for habit: the experiments of webserver4e, 4f, 4g and the c10k
# comparison are now in book/recording/part4-events.sh, and `book/record`
# runs every experiment of the book. `book/record-part4-events.sh 4g c10k`
# still works (c10k, a benchmark, runs only when named).
exec "$(dirname "$0")/record" --group part4-events "$@"
