# Experiments of Part 3's basics chapter (book/record runs them): a parent
# and its child in ps, the descriptors each holds, the child writing to
# descriptor 1 with write(2), the limits, and kill -9 on a zombie.
#
# Needs curl, ps, strace and pgrep.

needs curl ps strace pgrep

# child_of PID: wait until PID has a child, and print the child's pid.
child_of() {
    wait_until "pgrep -P $1 >/dev/null"
    pgrep -P "$1" | head -n 1
}

record_basics_pid_ppid() {
    serve basics-pid-ppid -- "$B/webserver3c --port 0 --sleep 30"
    begin basics-pid-ppid
    run "PORT=$PORT PID=$SERVER"
    run "curl -sS http://127.0.0.1:\$PORT/hello"
    CHILD=$(child_of "$SERVER")
    run "CHILD=\$(pgrep -P \$PID)"
    run "ps -o pid,ppid,stat,cmd -p \$PID,\$CHILD"
    # The table's pids are normalised in the drift check; this line is
    # what it checks of the relation.
    run "[ \"\$(ps -o ppid= -p \$CHILD)\" -eq \$PID ] && echo \"the child's parent is the server\""
    run "ls -l /proc/\$PID/fd | grep -o '[0-9]* -> .*'"
    run "ls -l /proc/\$CHILD/fd | grep -o '[0-9]* -> .*'"
    stop
}

# strace writes its lines to a file of its own (-o), so that they do not
# mix with what the server prints; -f follows the forked child, -s 60 shows
# 60 bytes of each string.
STRACE_LOG=/tmp/lsbaws-basics-write.log
record_basics_write_fd1() {
    rm -f "$STRACE_LOG"
    serve basics-write-fd1 -- "strace -f -q -s 60 -e trace=write -o $STRACE_LOG $B/webserver3c --port 0 --sleep 0"
    begin basics-write-fd1
    run "PORT=$PORT"
    run "curl -sS http://127.0.0.1:\$PORT/hello"
    wait_until "grep -q 'exited with 0' $STRACE_LOG"
    run "cat $STRACE_LOG"
    stop
    rm -f "$STRACE_LOG"
}

record_basics_zombie_kill() {
    serve basics-zombie-kill -- "$B/webserver3c --port 0 --quiet --sleep 0"
    begin basics-zombie-kill
    run "PORT=$PORT PID=$SERVER"
    run "curl -sS http://127.0.0.1:\$PORT/hello"
    CHILD=$(child_of "$SERVER")
    wait_until "[ \"\$(ps -o stat= -p $CHILD)\" = Z ]"
    run "CHILD=\$(pgrep -P \$PID)"
    run "ps -o stat,cmd -p \$CHILD"
    run "kill -9 \$CHILD"
    run "sleep 1; ps -o stat,cmd -p \$CHILD"
    stop
}

record_basics_ulimit() {
    serve basics-ulimit 'ulimit -u 400' 'ulimit -n 500' 'ulimit -a' -- "$B/webserver3c --port 0 --quiet"
    begin basics-ulimit
    run "PORT=$PORT PID=$SERVER"
    run "grep -E 'Limit|open files|processes' /proc/\$PID/limits"
    stop
}
