#!/usr/bin/env bash
# Kept for habit: the experiments of Parts 1 and 3 are now in
# book/recording/part1-3.sh and part3-load.sh, and `book/record` runs every
# experiment of the book. `book/record-output.sh 3e 3f` still records only
# the Part 1/3 experiments whose names contain 3e or 3f.
exec "$(dirname "$0")/record" --group part1-3 --group part3-load "$@"
