# Experiments of Part 4's event-loop and coroutine chapters (webserver4e,
# 4f, 4g and the comparison); book/record runs them. Needs curl, python3
# (book/part4-clients.py makes the crowds of clients), nc (OpenBSD netcat),
# strace, ps and setsid; and cargo for the c10k benchmark, which builds in
# release mode, takes a minute or two, and records only when asked for by
# name: `book/record c10k`.
#
# `serve` sets PID to the server program itself, not the strace that runs
# it.

needs curl python3 nc strace ps setsid
CLIENTS=book/part4-clients.py

# CPU ticks (utime + stime, 1/100 s each) the server has used so far.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# out_of_descriptors NAME PROGRAM ARGS...: start the server under
# `ulimit -n 64`, let a crowd of 100 clients in, and measure it meanwhile.
out_of_descriptors() {
    local name=$1
    shift
    serve "$name" "ulimit -n 64" -- "$*"
    begin "$name"
    run "PORT=$PORT PID=$PID"
    run "python3 $CLIENTS crowd \$PORT 100 &"
    local bg=$!
    wait_for_output "clients connected"
    sleep 1
    run "before=\$(cpu \$PID); sleep 2; echo \"CPU in 2 s: \$(( \$(cpu \$PID) - before )) ticks of 10 ms\""
    run "timeout -s INT 1 strace -f -c -S name -e trace=epoll_wait,accept4 -p \$PID 2>&1 | tail -5"
    wait "$bg"
    stop
}

# ---- webserver4e ------------------------------------------------------------

record_part4_4e_syscalls() {
    serve part4-4e-syscalls -- "strace -o /tmp/4e.strace -e trace=epoll_create1,epoll_ctl,epoll_wait,accept4,read,write,close -s 16 $B/webserver4e --port 0 --quiet"
    begin part4-4e-syscalls
    run "PORT=$PORT"
    run "curl -s -o /dev/null -o /dev/null -w '%{http_code} %{size_download} bytes, connections opened: %{num_connects}\n' http://127.0.0.1:\$PORT/hello.txt http://127.0.0.1:\$PORT/style.css"
    sleep 0.3
    stop
    run "sed -n '/^epoll_create1/,\$p' /tmp/4e.strace"
}

record_part4_4e_partial_write() {
    serve part4-4e-partial-write -- "strace -o /tmp/4e.strace -e trace=epoll_ctl,epoll_wait,read,write -s 0 $B/webserver4e --port 0 --quiet"
    begin part4-4e-partial-write
    run "PORT=$PORT"
    run "python3 $CLIENTS slow \$PORT 6"
    sleep 0.3
    stop
    run "sed -n '/^epoll_ctl/,\$p' /tmp/4e.strace"
    # The lesson is a send buffer that fills: again if no write was partial.
    grep -q 'EAGAIN' "$TRANSCRIPT" || AGAIN=1
}

record_part4_4e_one_thread() {
    serve part4-4e-one-thread -- "$B/webserver4e --port 0 --quiet"
    begin part4-4e-one-thread
    run "PORT=$PORT PID=$PID"
    run "python3 $CLIENTS hold \$PORT 1000 6 &"
    local bg=$!
    wait_for_output "connections open"
    run "ls /proc/\$PID/task | wc -l"
    run "ls /proc/\$PID/fd | wc -l"
    run "ls -l /proc/\$PID/fd/4"
    run "grep -c '^tfd:' /proc/\$PID/fdinfo/4"
    run "grep VmRSS /proc/\$PID/status"
    run "before=\$(cpu \$PID); sleep 2; echo \"CPU in 2 s: \$(( \$(cpu \$PID) - before )) ticks of 10 ms\""
    wait "$bg"
    stop
}

record_part4_4e_emfile() {
    out_of_descriptors part4-4e-emfile "$B/webserver4e --port 0 --quiet"
}

# ---- webserver4f ------------------------------------------------------------

record_part4_4f_threads() {
    serve part4-4f-threads -- "$B/webserver4f --port 0 --quiet --workers 2 --idle-timeout 60"
    begin part4-4f-threads
    run "PORT=$PORT PID=$PID"
    run "ls /proc/\$PID/task | wc -l"
    run "python3 $CLIENTS hold \$PORT 1000 4 &"
    local bg=$!
    wait_for_output "connections open"
    run "ls /proc/\$PID/task | wc -l"
    run "cat /proc/\$PID/task/*/comm | sort | uniq -c"
    run "grep VmRSS /proc/\$PID/status"
    run "before=\$(cpu \$PID); sleep 1; echo \"CPU in 1 s: \$(( \$(cpu \$PID) - before )) ticks of 10 ms\""
    wait "$bg"
    stop
}

record_part4_4f_emfile() {
    out_of_descriptors part4-4f-emfile "$B/webserver4f --port 0 --quiet --idle-timeout 60"
}

# ---- webserver4g ------------------------------------------------------------

record_part4_4g_idle_timeout() {
    serve part4-4g-idle-timeout -- "strace -o /tmp/4g.strace -e trace=epoll_wait,accept4,close -s 0 $B/webserver4g --port 0 --idle-timeout 2"
    begin part4-4g-idle-timeout
    run "PORT=$PORT"
    run "python3 $CLIENTS idle \$PORT"
    sleep 0.3
    stop
    run "sed -n '/^epoll_wait/,\$p' /tmp/4g.strace"
}

record_part4_4g_emfile() {
    out_of_descriptors part4-4g-emfile "$B/webserver4g --port 0 --quiet --idle-timeout 60"
}

record_part4_4g_pipeline() {
    serve part4-4g-pipeline -- "strace -o /tmp/4g.strace -e trace=epoll_wait,accept4,recvfrom,sendto -s 0 $B/webserver4g --port 0"
    begin part4-4g-pipeline
    run "PORT=$PORT"
    run "printf 'GET /hello.txt HTTP/1.1\r\n\r\n%.0s' 1 2 3 4 5 | nc -N 127.0.0.1 \$PORT | grep -o 'HTTP/1.1 200 OK' | wc -l"
    sleep 0.3
    stop
    run "sed -n '/^epoll_wait/,\$p' /tmp/4g.strace"
}

# ---- all three: the c10k benchmark -----------------------------------------

record_part4_c10k() {
    # A benchmark: minutes, in release mode, and numbers that are its whole
    # content. Recorded only when asked for by name (book/record c10k).
    if checking || ! asked_for c10k; then skipped part4-c10k part4-c10k-backlog; return; fi
    begin part4-c10k
    run "cargo bench --quiet --bench c10k 2>/dev/null"
    begin part4-c10k-backlog
    run "C10K_BACKLOG=1024 cargo bench --quiet --bench c10k -- webserver4e webserver4f 2>/dev/null"
}

# 4g under CPU-bound work: eight requests for /work?ms=250 at once, with one
# event loop and with two on one port (--loops 2, SO_REUSEPORT); then each
# thread's CPU time (/proc/PID/task/*/stat, utime + stime in ticks of 10 ms).
record_part4_4g_loops() {
    local loops
    for loops in 1 2; do
        serve part4-4g-loops-$loops -- "$B/webserver4g --port 0 --quiet --loops $loops"
        begin part4-4g-loops-$loops
        run "PORT=$PORT PID=$PID"
        run "time (seq 8 | xargs -P 8 -I{} curl -s \"http://127.0.0.1:\$PORT/work?ms=250\")"
        run "awk '{ printf \"%s %s %.2f s of CPU\\n\", \$1, \$2, (\$14 + \$15) / 100 }' /proc/\$PID/task/*/stat"
        stop
    done
}
