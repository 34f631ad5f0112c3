# Experiments of Part 1's chapter on HTTP's bytes (book/record runs them):
# a request typed by hand, the parts of a URL as curl sends them, the bytes
# in hex, a garbage request answered all the same, and a response without
# the blank line after its headers, as curl and a browser see it.
#
# Needs curl and nc; headless Chromium for the browser's view (without it
# that experiment is skipped and keeps its old transcript).

needs curl nc

# The browser as a reader would start it from a root shell (the sandbox
# refuses to run as root); its own log lines go to /dev/null.
BROWSER="chromium --headless --no-sandbox --dump-dom"

# type_line TEXT: what a person types into nc: the terminal shows the line
# (its echo goes into the transcript), then nc gets it on its stdin.
type_line() {
    printf '%s\n' "$1" >>"$TRANSCRIPT"
    printf '%s\n' "$1" >&7
}

record_http_by_hand() {
    serve http-by-hand -- "$B/webserver1 --port 0"
    begin http-by-hand
    run "PORT=$PORT"
    # nc -C sends each line typed with \r\n, as HTTP wants.
    local fifo=$OUT/.http-by-hand.fifo
    rm -f "$fifo"
    mkfifo "$fifo"
    printf '$ nc -C 127.0.0.1 $PORT\n' >>"$TRANSCRIPT"
    nc -C 127.0.0.1 "$PORT" <"$fifo" >>"$TRANSCRIPT" 2>&1 &
    local nc_pid=$!
    exec 7>"$fifo"
    type_line "GET /hello HTTP/1.1"
    type_line "Host: 127.0.0.1"
    type_line ""
    wait_for_output "Hello, World!"
    # The server has closed; nc stays until its input ends (Ctrl-D).
    exec 7>&-
    wait "$nc_pid"
    rm -f "$fifo"
    stop
}

record_http_anatomy() {
    serve http-anatomy -- "$B/webserver1 --port 0"
    begin http-anatomy
    run "PORT=$PORT"
    run "curl -sv \"http://127.0.0.1:\$PORT/hello?name=Ada#greeting\""
    run "printf 'GET /hello HTTP/1.0\\r\\n\\r\\n' | xxd"
    run "printf 'GET /hello HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 \$PORT | xxd"
    stop
}

record_http_garbage() {
    serve http-garbage -- "$B/webserver1 --port 0"
    begin http-garbage
    run "PORT=$PORT"
    run "printf 'Hi there, server. Any news?\\n\\n' | nc 127.0.0.1 \$PORT"
    stop
}

record_http_no_blank_line() {
    serve http-no-blank-line -- "$B/webserver1 --no-blank-line --port 0 --quiet"
    begin http-no-blank-line
    run "PORT=$PORT"
    # cat -A shows each line's end: ^M$ is \r\n, a lone $ is \n.
    run "printf 'GET /hello HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 \$PORT | cat -A"
    run "curl -sv http://127.0.0.1:\$PORT/hello"
    stop
}

record_http_no_blank_line_browser() {
    if ! command -v chromium >/dev/null; then
        say "http-no-blank-line-browser needs chromium: skipped"
        skipped http-no-blank-line-browser
        return
    fi
    serve http-no-blank-line-browser -- "$B/webserver1 --port 0 --quiet"
    begin http-no-blank-line-browser
    run "PORT=$PORT"
    run "$BROWSER http://127.0.0.1:\$PORT/hello 2>/dev/null"
    stop
    serve http-no-blank-line-browser-broken -- "$B/webserver1 --no-blank-line --port 0 --quiet"
    run "PORT=$PORT"
    run "$BROWSER http://127.0.0.1:\$PORT/hello 2>/dev/null"
    stop
}
