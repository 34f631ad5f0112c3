# Experiments of the Part 4 chapters on webserver4a, 4b, 4h, 4c and 4d
# (book/record runs them). Needs curl, nc (OpenBSD netcat), strace, procps
# (ps, pgrep, top) and util-linux (setsid).
#
# Transcripts name the server by its pid (PID=...), not with pgrep: other
# programs of the same name may be running on this machine.

needs curl nc strace ps pgrep top setsid

# An idle keep-alive client: one request, then it stays connected, silent,
# until the server closes the connection.
IDLE_CLIENT='printf "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n" | nc 127.0.0.1 $PORT > /dev/null &'

record_webserver4a_processes() {
    serve webserver4a-processes -- "$B/webserver4a --port 0 --idle-timeout 3"
    begin webserver4a-processes
    run "PORT=$PORT PID=$SERVER"
    run "for i in 1 2 3; do $IDLE_CLIENT done"
    wait_until '[ "$(pgrep -c -P $PID)" -ge 3 ]'
    run "ps -o pid,ppid,stat,rss,cmd --ppid \$PID"
    run "sleep 4; ps -o pid,ppid,stat,rss,cmd --ppid \$PID || echo 'no child processes'"
    stop
}

record_webserver4b_threads() {
    serve webserver4b-threads -- "$B/webserver4b --port 0 --idle-timeout 3"
    begin webserver4b-threads
    run "PORT=$PORT PID=$SERVER"
    run "for i in 1 2 3; do $IDLE_CLIENT done"
    wait_until '[ "$(ls /proc/$PID/task | wc -l)" -ge 4 ]'
    run "ps -T -o pid,spid,stat,comm -p \$PID"
    run "grep Threads /proc/\$PID/status"
    run "ps -o pid,stat,cmd --ppid \$PID || echo 'no child processes'"
    run "sleep 4; grep Threads /proc/\$PID/status"
    stop
}

record_webserver4h_idle_workers() {
    serve webserver4h-idle-workers -- "$B/webserver4h --port 0 --threads 2 --idle-timeout 5"
    begin webserver4h-idle-workers
    run "PORT=$PORT PID=$SERVER"
    run "ps -T -o pid,spid,stat,comm -p \$PID"
    local fds
    fds=$(ls "/proc/$PID/fd" | wc -l)
    run "for i in 1 2; do $IDLE_CLIENT done"
    # Both workers hold an idle client: two more descriptors in the server.
    wait_until '[ "$(ls /proc/$PID/fd | wc -l)" -ge $((fds + 2)) ]'
    sleep 0.2
    run "curl -sS -o /dev/null -w 'curl finished after %{time_total} s\n' http://127.0.0.1:\$PORT/hello.txt"
    run "for i in \$(seq 50); do $IDLE_CLIENT done"
    sleep 0.5
    run "grep Threads /proc/\$PID/status"
    stop
}

record_webserver4c_busy_loop() {
    serve webserver4c-busy-loop -- "$B/webserver4c --port 0"
    begin webserver4c-busy-loop
    run "PORT=$PORT PID=$SERVER"
    run "sleep 3; ps -o pid,%cpu,time,cmd -p \$PID"
    run "top -b -n 1 -p \$PID | tail -n 2"
    run "timeout -s INT 1 strace -c -p \$PID"
    run "timeout -s INT 0.5 strace -e trace=accept -p \$PID 2>&1 | head -n 4"
    run "curl -sv -w '\\n' http://127.0.0.1:\$PORT/hello.txt"
    stop
}

record_webserver4d() {
    serve webserver4d-keep-alive -- "$B/webserver4d --port 0"
    begin webserver4d-keep-alive
    run "PORT=$PORT"
    run "curl -sv -o /dev/null -o /dev/null http://127.0.0.1:\$PORT/hello.txt http://127.0.0.1:\$PORT/style.css"
    stop

    serve webserver4d-no-content-length -- "$B/webserver4d --port 0 --no-content-length"
    begin webserver4d-no-content-length
    run "PORT=$PORT"
    run "curl -sv -w '\\n' --max-time 3 http://127.0.0.1:\$PORT/hello.txt"
    stop
}
