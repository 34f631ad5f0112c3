# Experiments of the chapter on coroutines (the `coroutines` program, before
# webserver4f), and of 4f's slow path. book/record runs them.

needs curl setsid

record_coroutines_switch() {
    begin coroutines-switch
    run "$B/coroutines switch"
}

record_coroutines_spawn() {
    begin coroutines-spawn
    run "$B/coroutines spawn"
    begin coroutines-spawn-blocking
    run "$B/coroutines spawn --blocking"
}

record_coroutines_stack() {
    begin coroutines-stack
    run "$B/coroutines stack"
}

record_coroutines_switch_cost() {
    # A timing, in release mode: its numbers are its whole content.
    # Recorded only when asked for by name (book/record switch-cost).
    if checking || ! asked_for switch-cost; then skipped coroutines-switch-cost; return; fi
    cargo build --quiet --release --bin coroutines
    begin coroutines-switch-cost
    run "target/release/coroutines switch --turns 2 --timed 100000"
}

# 4f's slow path on one worker: a client sleeping on /slow, and a second
# client asking for a page meanwhile. With --slow-wait thread it waits out the
# sleep; with --slow-wait coroutine it does not.
record_part4_4f_slow() {
    local way
    for way in thread coroutine; do
        serve part4-4f-slow-$way -- "$B/webserver4f --port 0 --workers 1 --slow-wait $way"
        begin part4-4f-slow-$way
        run "PORT=$PORT"
        # The slow answer goes to a file, shown once it is in: two curls
        # writing to one terminal would interleave as they are scheduled.
        run 'SLOW=$(mktemp)'
        run "curl -s \"http://127.0.0.1:\$PORT/slow?ms=3000\" > \$SLOW &"
        wait_until 'grep -q sleeping "$SERVER_LOG"'
        run "time curl -s http://127.0.0.1:\$PORT/hello.txt"
        run 'wait $!; cat $SLOW; rm $SLOW'
        stop
    done
}

# 4f under CPU-bound work: four requests for /work?ms=500 at once, with one
# worker and with two; then each thread's CPU time (/proc/PID/task/*/stat,
# utime + stime in ticks of 10 ms).
record_part4_4f_cores() {
    local workers
    for workers in 1 2; do
        serve part4-4f-cores-$workers -- "$B/webserver4f --port 0 --quiet --workers $workers"
        begin part4-4f-cores-$workers
        run "PORT=$PORT PID=$PID"
        run "time (seq 4 | xargs -P 4 -I{} curl -s \"http://127.0.0.1:\$PORT/work?ms=500\")"
        run "awk '{ printf \"%s %s %.2f s of CPU\\n\", \$1, \$2, (\$14 + \$15) / 100 }' /proc/\$PID/task/*/stat"
        stop
    done
}
