# Experiments of Part 4's select(2) and poll(2) chapters (webserver4s,
# webserver4p); book/record runs them. Needs curl and strace.
#
# The crowd is client3 holding 1100 keep-alive connections, under
# `ulimit -n 4096` so that the server's descriptors run past 1023.

needs curl strace

# crowd NAME PROGRAM: start PROGRAM under `ulimit -n 4096`, let client3 open
# 1100 connections and hold them, and look at the server's descriptors
# while they are held.
crowd() {
    local name=$1 program=$2
    serve "$name" "ulimit -n 4096" -- "$B/$program --port 0 --quiet"
    begin "$name"
    run "PORT=$PORT PID=$PID"
    run "$B/client3 --quiet --port \$PORT --max-conns 1100 --read-timeout 2 --hold 4 &"
    # Held: client3 has read what it will (two seconds) and holds them all.
    wait_until "[ \$(ls /proc/$PID/fd | wc -l) -ge 1024 ]" 60
    sleep 3
    run "ls /proc/\$PID/fd | wc -l"
    run "ls /proc/\$PID/fd | sort -n | tail -n 3"
    run "wait"
    stop
}

# ---- webserver4s --------------------------------------------------------------

record_webserver4s_syscalls() {
    serve webserver4s-syscalls -- "strace -o /tmp/4s.strace -e trace=select,accept,read,write -s 0 $B/webserver4s --port 0 --quiet"
    begin webserver4s-syscalls
    run "PORT=$PORT"
    run "curl -s -o /dev/null -o /dev/null -w '%{http_code} %{size_download} bytes, connections opened: %{num_connects}\n' http://127.0.0.1:\$PORT/hello.txt http://127.0.0.1:\$PORT/style.css"
    sleep 0.3
    stop
    run "sed -n '/^select/,\$p' /tmp/4s.strace"
}

record_webserver4s_fd_setsize() {
    crowd webserver4s-fd-setsize webserver4s
}

# ---- webserver4p --------------------------------------------------------------

record_webserver4p_past_fd_setsize() {
    crowd webserver4p-past-fd-setsize webserver4p
}
