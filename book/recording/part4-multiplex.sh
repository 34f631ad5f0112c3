# Experiments of Part 4's select(2) and poll(2) chapters (webserver4s,
# webserver4p); book/record runs them. Needs curl and strace.
#
# The crowd is client3 holding 1100 keep-alive connections, under
# `ulimit -n 4096` so that the server's descriptors run past 1023.

needs curl strace

# crowd NAME PROGRAM 'HELD': start PROGRAM under `ulimit -n 4096`, let
# client3 open 1100 connections and hold them, wait until the condition
# HELD says the server has dealt with all of them, and look at the
# server's descriptors while client3 still holds them.
crowd() {
    local name=$1 program=$2 held=$3
    serve "$name" "ulimit -n 4096" -- "$B/$program --port 0 --quiet"
    begin "$name"
    run "PORT=$PORT PID=$PID"
    run "$B/client3 --quiet --port \$PORT --max-conns 1100 --read-timeout 2 --hold 4 &"
    wait_until "$held" 60
    run "ls /proc/\$PID/fd | wc -l"
    run "ls /proc/\$PID/fd | sort -n | tail -n 3"
    run "wait \$!"
    stop
}

# syscalls NAME PROGRAM CALL: strace PROGRAM (the system call CALL, and
# accept, read, write and close) while curl fetches two files over one
# kept-alive connection.
syscalls() {
    local name=$1 program=$2 call=$3
    serve "$name" -- "strace -o /tmp/$name.strace -e trace=$call,accept,read,write,close -s 16 $B/$program --port 0 --quiet"
    begin "$name"
    run "PORT=$PORT"
    run "curl -s -o /dev/null -o /dev/null -w '%{http_code} %{size_download} bytes, connections opened: %{num_connects}\n' http://127.0.0.1:\$PORT/hello.txt http://127.0.0.1:\$PORT/style.css"
    sleep 0.3
    stop
    # From the banner on: before it, Rust's runtime polls 0, 1 and 2 once.
    run "sed -n '/^write(1, \"Serving/,\$p' /tmp/$name.strace"
}

# ---- webserver4s --------------------------------------------------------------

# glibc's select() is the pselect6 system call.
record_webserver4s_syscalls() {
    syscalls webserver4s-syscalls webserver4s pselect6
}

record_webserver4s_fd_setsize() {
    # Held: every descriptor below 1024 in use, and the server has said why
    # it closes the others.
    crowd webserver4s-fd-setsize webserver4s \
        '[ $(ls /proc/$PID/fd | wc -l) -ge 1024 ] && grep -q FD_SETSIZE "$SERVER_LOG"'
}

# ---- webserver4p --------------------------------------------------------------

record_webserver4p_syscalls() {
    syscalls webserver4p-syscalls webserver4p poll
}

record_webserver4p_past_fd_setsize() {
    # Held: 1100 connections, the listener, the site's directory, 0, 1, 2.
    crowd webserver4p-past-fd-setsize webserver4p '[ $(ls /proc/$PID/fd | wc -l) -ge 1105 ]'
}

# ---- webserver4u --------------------------------------------------------------

# counts NAME PROGRAM: count PROGRAM's system calls (strace -c, sorted by
# name) while curl fetches two files over one kept-alive connection, then
# three more on three connections of their own.
counts() {
    local name=$1 program=$2
    serve "$name" -- "strace -c -S name -o /tmp/$name.strace -e trace=io_uring_setup,io_uring_enter,epoll_wait,epoll_ctl,accept,accept4,read,write $B/$program --port 0 --quiet"
    begin "$name"
    run "PORT=$PORT"
    run "curl -s -o /dev/null -o /dev/null -w '%{http_code} %{size_download} bytes\n' http://127.0.0.1:\$PORT/hello.txt http://127.0.0.1:\$PORT/style.css"
    run "for i in 1 2 3; do curl -s -o /dev/null -w '%{http_code} ' http://127.0.0.1:\$PORT/hello.txt; done; echo"
    sleep 0.3
    stop
    run "cat /tmp/$name.strace"
}

record_webserver4u_syscalls() {
    counts webserver4u-syscalls webserver4u
}

record_webserver4u_epoll_syscalls() {
    counts webserver4u-epoll-syscalls webserver4e
}

# ---- webserver4v ----------------------------------------------------------------

# per_request NAME PROGRAM: the same load against PROGRAM, 220 requests
# (100 over one kept-alive connection, 20 on connections of their own, 100
# over 10 connections in parallel), while `strace -c -f` counts its system
# calls and the submission ring's tail (/proc/PID/fdinfo of the ring, which
# is descriptor 3) counts the entries it submitted.
per_request() {
    local name=$1 program=$2
    serve "$name" -- "$B/$program --port 0 --quiet"
    begin "$name"
    run "PORT=$PORT PID=$PID"
    run "readlink /proc/\$PID/fd/3"
    run "strace -c -f -S name -e trace=io_uring_enter,accept4,read,write -o /tmp/$name.strace -p \$PID 2>/dev/null &"
    sleep 0.5
    run "grep -E '^(Sq|Cq)Tail' /proc/\$PID/fdinfo/3"
    run "curl -s -o /dev/null \"http://127.0.0.1:\$PORT/hello.txt?n=[1-100]\""
    run "for i in \$(seq 20); do curl -s -o /dev/null http://127.0.0.1:\$PORT/hello.txt; done"
    run "curl -s --no-progress-meter -o /dev/null --parallel --parallel-max 10 \"http://127.0.0.1:\$PORT/hello.txt?p=[1-100]\""
    run "grep -E '^(Sq|Cq)Tail' /proc/\$PID/fdinfo/3"
    run "kill -INT \$!; wait \$!; cat /tmp/$name.strace"
    stop
}

record_webserver4v_syscalls() {
    per_request webserver4v-syscalls webserver4v
}

record_webserver4v_uring_syscalls() {
    per_request webserver4v-uring-syscalls webserver4u
}

# ---- what a wake-up costs: poll against epoll, with idle connections ---------

# cost NAME PROGRAM CALL: client3 holds 5000 idle keep-alive connections;
# then curl sends 1000 requests on one more, while perf stat reads the
# server's CPU time and strace -c counts its CALL (the wait). Numbers are
# the whole content: recorded only when asked for (book/record cost).
cost() {
    local name=$1 program=$2 call=$3 client3
    serve "$name" "ulimit -n 8192" -- "$B/$program --port 0 --quiet"
    begin "$name"
    run "PORT=$PORT PID=$PID"
    run "$B/client3 --quiet --port \$PORT --max-conns 5000 --read-timeout 1 --hold 60 >/dev/null &"
    client3=$!
    # Held: the 5000, the listener, the site's directory, 0, 1 and 2.
    wait_until "[ \$(ls /proc/$PID/fd | wc -l) -ge 5005 ]" 60
    run "ls /proc/\$PID/fd | wc -l"
    run "perf stat -e task-clock -p \$PID -- sh -c \"curl -s -o /dev/null -w '%{http_code}\\\\n' 'http://127.0.0.1:\$PORT/hello.txt?n=[1-1000]' | sort | uniq -c\" 2>&1 | grep -E '^ +[0-9]+ 200|task-clock|seconds time'"
    run "strace -c -e trace=$call -o /tmp/$name.strace -p \$PID &"
    sleep 0.5
    run "curl -s -o /dev/null \"http://127.0.0.1:\$PORT/hello.txt?n=[1-1000]\""
    run "kill -INT \$!; wait \$!; cat /tmp/$name.strace"
    kill "$client3" 2>/dev/null || true
    wait "$client3" 2>/dev/null || true
    stop
}

record_webserver4p_cost() {
    if checking || ! asked_for cost; then skipped webserver4p-cost webserver4p-cost-epoll; return; fi
    cost webserver4p-cost webserver4p poll
    cost webserver4p-cost-epoll webserver4e epoll_wait
}
