# Experiments of Part 1's chapter on HTTP's bytes (book/record runs them):
# a response without the blank line after its headers, as curl and a
# browser see it.
#
# Needs curl and nc; headless Chromium for the browser's view (without it
# that experiment is skipped and keeps its old transcript).

needs curl nc

# The browser as a reader would start it from a root shell (the sandbox
# refuses to run as root); its own log lines go to /dev/null.
BROWSER="chromium --headless --no-sandbox --dump-dom"

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
