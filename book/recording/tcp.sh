# Experiments of Part 1's chapter on TCP's life cycle (book/record runs
# them): one request captured on the loopback, TIME_WAIT on whichever side
# closes first, how many TIME_WAIT sockets short connections leave against
# one keep-alive connection, and why a server sets SO_REUSEADDR.
#
# Needs curl, nc, ss (iproute2), and tcpdump run as root for the capture
# (without them the capture is skipped and keeps its old transcript). Works
# in /tmp/lsbaws-tcp, recreated by each run, so that the file names in the
# transcripts are the same from one run to the next.

needs curl nc ss setsid
WORK=/tmp/lsbaws-tcp

# The capture runs in $WORK (`run` runs its commands in $RUN_DIR), the
# other experiments in the repository.
fresh_work() {
    rm -rf "$WORK"
    mkdir -p "$WORK"
    RUN_DIR=$WORK
}

# The TIME_WAIT sockets of the server's port, either end (ss prints a
# header line first); on the server's side (local port the server's) and on
# the client's (peer port the server's), listed apart because the
# normalised transcript shows every port as <PORT>.
TIME_WAIT="ss -tano state time-wait \"( sport = :\$PORT or dport = :\$PORT )\""
TIME_WAIT_SERVER="ss -tano state time-wait \"( sport = :\$PORT )\""
TIME_WAIT_CLIENT="ss -tano state time-wait \"( dport = :\$PORT )\""
# nc, unlike curl, stays until the server closes: curl closes as soon as it
# has the Content-Length's 14 bytes, racing the server's close, and either
# side may end in TIME_WAIT.
NC_HELLO="printf 'GET /hello HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 \$PORT"
# A free port below the kernel's ephemeral range
# (/proc/sys/net/ipv4/ip_local_port_range). The kernel hands out ports of
# that range to every client's connect() and to every bind() on port 0, so a
# server on port 0 can get a number that another program's client socket
# holds, in TIME_WAIT or not, and that socket would show up in the counts
# below (CI records the other chapters meanwhile). No socket gets a port
# below the range unless a program asks for it by number.
port_below_ephemeral() {
    local low _high port
    read -r low _high </proc/sys/net/ipv4/ip_local_port_range
    [ "$low" -gt 11000 ] || { echo 0; return; }
    for _ in $(seq 100); do
        port=$((10000 + RANDOM % (low - 10000)))
        if [ -z "$(ss -Htan "( sport = :$port or dport = :$port )")" ]; then
            echo "$port"
            return
        fi
    done
    echo 0
}

time_wait_count() {
    ss -tan state time-wait "( sport = :$PORT or dport = :$PORT )" | tail -n +2 | wc -l
}

record_tcp_capture() {
    if ! command -v tcpdump >/dev/null || [ "$(id -u)" -ne 0 ]; then
        say "tcp-capture needs tcpdump, run as root: skipped"
        skipped tcp-capture
        return
    fi
    fresh_work
    serve tcp-capture -- "$B/webserver1 --port $(port_below_ephemeral) --quiet"
    begin tcp-capture
    run "PORT=$PORT"
    run "tcpdump -i lo -U -w one-request.pcap \"tcp port \$PORT\" 2>tcpdump.log &"
    wait_until "grep -q 'listening on' $WORK/tcpdump.log"
    run "printf 'GET /hello HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 \$PORT"
    # The last packet is the server's ACK of the client's FIN; once it is
    # in the file, the exchange is over.
    wait_until "tcpdump -nn -r $WORK/one-request.pcap 2>/dev/null | tail -n 1 | grep -q '127.0.0.1.$PORT > .*Flags \[\.\]'"
    run "kill -INT \$!; wait \$!"
    run "tcpdump -nn -t -r one-request.pcap"
    RUN_DIR=$ROOT
    stop
}

record_tcp_time_wait() {
    # webserver1 closes each connection as soon as it has answered: it
    # sends the first FIN.
    serve tcp-time-wait -- "$B/webserver1 --port $(port_below_ephemeral) --quiet"
    begin tcp-time-wait
    run "PORT=$PORT"
    run "$NC_HELLO"
    wait_until '[ "$(time_wait_count)" -eq 1 ]'
    run "$TIME_WAIT_SERVER"
    run "$TIME_WAIT_CLIENT"
    stop
    # webserver4b keeps the connection open for more requests; curl, done
    # with its one URL, closes first.
    serve tcp-time-wait-keep-alive -- "$B/webserver4b --port $(port_below_ephemeral) --quiet"
    run "PORT=$PORT"
    run "curl -s -o /dev/null -w '%{http_code}\n' http://127.0.0.1:\$PORT/"
    wait_until '[ "$(time_wait_count)" -eq 1 ]'
    run "$TIME_WAIT_SERVER"
    run "$TIME_WAIT_CLIENT"
    stop
}

record_tcp_time_wait_count() {
    serve tcp-time-wait-count -- "$B/webserver3g --port $(port_below_ephemeral) --quiet"
    begin tcp-time-wait-count
    run "PORT=$PORT"
    run "$B/client3 --max-clients 10 --max-conns 10 --port \$PORT --quiet"
    wait_until '[ "$(time_wait_count)" -eq 100 ]'
    run "$TIME_WAIT | tail -n +2 | wc -l"
    stop
    serve tcp-time-wait-count-keep-alive -- "$B/webserver4b --port $(port_below_ephemeral) --quiet"
    run "PORT=$PORT"
    # One curl, a hundred URLs: it sends them one after another on one
    # connection, which the server keeps open.
    run "curl -s -o /dev/null -w '%{num_connects}\\n' \"http://127.0.0.1:\$PORT/?[1-100]\" | sort | uniq -c"
    wait_until '[ "$(time_wait_count)" -eq 1 ]'
    run "$TIME_WAIT | tail -n +2 | wc -l"
    stop
}

record_tcp_reuseaddr() {
    serve tcp-reuseaddr -- "$B/webserver1 --port $(port_below_ephemeral) --quiet"
    begin tcp-reuseaddr
    run "PORT=$PORT"
    run "$NC_HELLO"
    wait_until '[ "$(time_wait_count)" -eq 1 ]'
    # The server stops (Ctrl-C in its terminal); its TIME_WAIT stays.
    stop
    echo "^C" >>"$SERVER_LOG"
    run "$TIME_WAIT_SERVER"
    run "$B/webserver1 --no-reuseaddr --port \$PORT"
    serve tcp-reuseaddr-again -- "$B/webserver1 --port $PORT --quiet"
    run "curl -s http://127.0.0.1:\$PORT/hello"
    stop
}
