//! Print the environment the server built, the way Python's
//! `wsgiref.simple_server.demo_app` does: a look at what an application
//! receives.

use crate::gateway::{Environ, StartResponse};

pub fn app(environ: &Environ, start_response: &mut StartResponse) -> Vec<u8> {
    let mut text = String::from("Hello world!\n\n");
    for (name, value) in environ.vars() {
        text.push_str(&format!("{name} = {value:?}\n"));
    }
    text.push_str(&format!("wsgi.input = {} bytes\n", environ.input().len()));
    text.push_str(&format!("wsgi.multiprocess = {}\n", environ.multiprocess));
    text.push_str(&format!("wsgi.multithread = {}\n", environ.multithread));
    start_response.start("200 OK", [("Content-Type", "text/plain; charset=utf-8")]);
    text.into_bytes()
}
