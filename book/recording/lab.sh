# The exercise chapter's `cargo lab` sessions (book/record runs them).
#
# The working copies go to /tmp/lsbaws-lab/work (LAB_WORK_DIR), which is
# recreated, so a student's own lessons/work is never touched; that is why
# the paths in the transcripts start with /tmp/lsbaws-lab/work. The copies'
# binaries go to target/lab-work-book, their dependencies to target/ (cargo's
# build-dir), as `lab` builds them.

needs cargo sed

record_lab() {
    local WORK=/tmp/lsbaws-lab
    rm -rf "$WORK"
    mkdir -p "$WORK"
    export LAB_WORK_DIR=$WORK/work
    # lab speaks Chinese when the locale is Chinese; the English book
    # shows it in English whoever records.
    export LANG=C.UTF-8
    unset LC_ALL LC_MESSAGES
    export LAB_TARGET_DIR=$ROOT/target/lab-work-book
    export CARGO_BUILD_BUILD_DIR=$ROOT/target
    cargo build --quiet --bin lab --bin webserver3d --bin webserver4d --bin webserver4b
    local COPY
    COPY=$LAB_WORK_DIR/3c

    begin lab-list
    run 'cargo lab list'

    begin lab-start-3c
    run 'cargo lab start 3c'

    # Build the copy once, unrecorded, so that the transcript shows a student's
    # usual rebuild rather than the first build of every dependency.
    cargo build --quiet --manifest-path "$COPY/Cargo.toml" --target-dir "$LAB_TARGET_DIR"

    begin lab-check-3c-starter
    # A student's predictions: two right, one forgetting the listening socket.
    run "sed -i -e 's/^fds_after_10: \$/fds_after_10: 13/' -e 's/^emfile_clients: \$/emfile_clients: 250/' -e 's/^eof_after_response: \$/eof_after_response: no/' $COPY/answers.txt"
    run 'cargo lab check 3c'

    begin lab-hint-3c
    run 'cargo lab hint 3c'
    run 'cargo lab hint 3c'

    begin lab-check-3c-broken
    run "sed -i 's/let _ = close(listen_socket);/let _ = close(listen_socket)/' $COPY/src/main.rs"
    run 'cargo lab check 3c'

    begin lab-check-3c-fixed
    # The fix of the last hint: close the parent's copy, drop the list.
    run "cp bins/part3/webserver3d.rs $COPY/src/main.rs"
    run "sed -i -e 's/^                clients.push(client_connection);/                let _ = close(client_connection);/' -e '/let mut clients = Vec::new();/d' -e '/if !args.server.quiet {\$/,/^                }\$/d' $COPY/src/main.rs"
    run 'cargo lab diff 3c --starter'
    run "sed -i 's/^fds_after_10: 13\$/fds_after_10: 14/' $COPY/answers.txt"
    run 'cargo lab check 3c'
    run 'cargo lab list'

    begin lab-check-ftp-confine-starter
    run 'cargo lab start ftp-confine'
    cargo build --quiet --manifest-path "$LAB_WORK_DIR/ftp-confine/Cargo.toml" --target-dir "$LAB_TARGET_DIR"
    run 'cargo lab check ftp-confine'

    # Part 4's exercises: the untouched copy, with the prediction a student
    # who has read the starter's chapter makes.
    local step
    for step in 4e 4f 4f-blocking; do
        begin lab-check-$step-starter
        run "cargo lab start $step"
        cargo build --quiet --manifest-path "$LAB_WORK_DIR/$step/Cargo.toml" --target-dir "$LAB_TARGET_DIR"
        case $step in
        4e) run "sed -i 's/^idle_cpu: \$/idle_cpu: spins/' $LAB_WORK_DIR/4e/answers.txt" ;;
        4f) run "sed -i 's/^threads_for_200: \$/threads_for_200: 201/' $LAB_WORK_DIR/4f/answers.txt" ;;
        4f-blocking) run "sed -i 's/^second_client: \$/second_client: after/' $LAB_WORK_DIR/4f-blocking/answers.txt" ;;
        esac
        run "cargo lab check $step"
    done
}
