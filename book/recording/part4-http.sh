# Experiments of the webserver4g chapter's section on what a real static
# server answers: validators, 304, ranges, a resumed download (book/record
# runs them). The HTTP core answers the same for every Part 4 model; 4g is
# the one shown. Needs curl, cmp and util-linux (setsid).

needs curl cmp setsid

record_part4_http() {
    serve part4-http -- "$B/webserver4g --port 0"
    begin part4-http
    run "PORT=$PORT"
    run "curl -sI http://127.0.0.1:\$PORT/hello.txt"
    run "curl -s -o /dev/null --etag-save /tmp/hello.etag -w '%{http_code} %{size_download} bytes\n' http://127.0.0.1:\$PORT/hello.txt"
    run "curl -si --etag-compare /tmp/hello.etag http://127.0.0.1:\$PORT/hello.txt"
    run "curl -si -r 0-4 http://127.0.0.1:\$PORT/hello.txt; echo"
    run "curl -si -r 100- http://127.0.0.1:\$PORT/hello.txt"
    run "head -c 300000 site/files/one-mebibyte.bin > /tmp/download.bin"
    run "curl -s -C - -o /tmp/download.bin -w '%{http_code} %{size_download} bytes\n' http://127.0.0.1:\$PORT/files/one-mebibyte.bin"
    run "cmp /tmp/download.bin site/files/one-mebibyte.bin && echo identical"
    run "rm /tmp/hello.etag /tmp/download.bin"
    stop
}
