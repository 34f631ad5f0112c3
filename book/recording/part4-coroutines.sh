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
