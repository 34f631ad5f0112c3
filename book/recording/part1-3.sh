# Experiments of Part 1 and of Part 3 up to the EINTR of 3e (book/record runs
# them; book/recording/part3-load.sh has the rest of Part 3).
#
# Needs curl, nc (OpenBSD netcat), strace, procps (ps, pgrep) and
# util-linux (setsid).
#
# Transcripts name the server by its pid (PID=...), not with pgrep: other
# programs of the same name may be running on this machine.

needs curl nc strace ps pgrep setsid

record_webserver3g_help() {
    begin webserver3g-help
    run "$B/webserver3g --help"
}

record_busy_port() {
    serve busy-port -- "$B/webserver3g --port 0"
    begin busy-port
    run "PORT=$PORT"
    run "$B/webserver3g --port \$PORT"
    stop
}

record_webserver1_curl() {
    serve webserver1-curl -- "$B/webserver1 --port 0"
    begin webserver1-curl
    run "PORT=$PORT"
    run "curl -sv http://127.0.0.1:\$PORT/hello"
    stop
}

record_webserver3a_silent_client() {
    serve webserver3a-silent-client -- "$B/webserver3a --port 0"
    begin webserver3a-silent-client
    run "PORT=$PORT"
    run "{ sleep 3; $REQUEST; } | nc 127.0.0.1 \$PORT > /dev/null &"
    local bg=$!
    sleep 0.3
    run "curl -sS -w 'curl finished after %{time_total} s\n' http://127.0.0.1:\$PORT/hello"
    wait "$bg"
    stop
}

record_webserver3b_two_clients() {
    serve webserver3b-two-clients -- "$B/webserver3b --port 0 --sleep 5 --quiet"
    begin webserver3b-two-clients
    run "PORT=$PORT"
    run "time ($REQUEST | nc -N 127.0.0.1 \$PORT)"
    run "curl -sS -w 'first finished after %{time_total} s\n' http://127.0.0.1:\$PORT/hello &"
    local bg=$!
    sleep 0.3
    run "curl -sS -w 'second finished after %{time_total} s\n' http://127.0.0.1:\$PORT/hello"
    wait "$bg"
    stop
}

record_webserver3c_zombies() {
    serve webserver3c-zombies -- "$B/webserver3c --port 0 --sleep 5"
    begin webserver3c-zombies
    run "PORT=$PORT PID=$SERVER"
    run "curl -sS -w 'first finished after %{time_total} s\n' http://127.0.0.1:\$PORT/hello &"
    local bg=$!
    sleep 0.3
    run "curl -sS -w 'second finished after %{time_total} s\n' http://127.0.0.1:\$PORT/hello"
    wait "$bg"
    run "ps -o pid,stat,cmd --ppid \$PID"
    run "sleep 6"
    run "ps -o pid,stat,cmd --ppid \$PID"
    stop
}

record_webserver3e_eintr() {
    serve webserver3e-eintr -- "$B/webserver3e --port 0"
    begin webserver3e-eintr
    run "PORT=$PORT"
    run "curl -sS http://127.0.0.1:\$PORT/hello"
    run "sleep 4"
    run "curl -sS http://127.0.0.1:\$PORT/hello"
    exited
    stop
}

record_webserver3e_strace() {
    serve webserver3e-strace -- \
        "strace -e trace=accept,wait4 -e signal=SIGCHLD $B/webserver3e --port 0 --quiet"
    begin webserver3e-strace
    run "PORT=$PORT"
    run "curl -sS http://127.0.0.1:\$PORT/hello"
    exited
    stop
}

