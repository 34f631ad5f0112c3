#!/usr/bin/env bash
# Kept for habit: the experiments of Part 2 and the toolkit are now in
# book/recording/part2.sh, and `book/record` runs every experiment of the
# book. `book/record-part2.sh cgi sigign` still works.
exec "$(dirname "$0")/record" --group part2 "$@"
