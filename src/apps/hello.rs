//! The smallest application: a plain function with the interface's
//! signature. Python's version is
//! `def app(environ, start_response): start_response('200 OK', [...]); return [b'Hello, World!\n']`.

use crate::gateway::{Environ, StartResponse};

// ANCHOR: app
pub fn app(_environ: &Environ, start_response: &mut StartResponse) -> Vec<u8> {
    start_response.start("200 OK", [("Content-Type", "text/plain; charset=utf-8")]);
    b"Hello, World!\n".to_vec()
}
// ANCHOR_END: app
