#!/usr/bin/env bash
# Kept for habit: the exercise chapter's `cargo lab` sessions are now in
# book/recording/lab.sh, and `book/record` runs every experiment of the book.
exec "$(dirname "$0")/record" --group lab "$@"
