//! An application written with the micro [`framework`](super::framework):
//! a page with a form, the POST that answers it, and a route with a
//! parameter. It uses nothing of the server's.
//!
//! * `GET /` — a form asking for a name and a greeting.
//! * `POST /greet` — the form's answer: `Hello, Ada!` as a page.
//! * `GET /hello/<name>` — `Hello, <name>!` as text; `?greeting=Hi` changes
//!   the greeting.

use super::framework::{escape_html, Reply, Req, Router};
use crate::urlencoded::value;

// ANCHOR: routes
/// The application: three routes.
pub fn app() -> Router {
    Router::new()
        .route("GET", "/", form)
        .route("POST", "/greet", greet)
        .route("GET", "/hello/<name>", hello)
}
// ANCHOR_END: routes

const GREETINGS: &[&str] = &["Hello", "Bonjour", "Hola", "Ciao", "Hallo"];

fn form(_req: &Req) -> Reply {
    let options: String = GREETINGS
        .iter()
        .map(|g| format!("<option>{g}</option>"))
        .collect();
    Reply::html(format!(
        "<!doctype html>\n<title>Greeter</title>\n<h1>Greeter</h1>\n\
         <form method=\"post\" action=\"/greet\">\n\
         <label>Name <input name=\"name\" required></label>\n\
         <select name=\"greeting\">{options}</select>\n\
         <button>Greet me</button>\n</form>\n\
         <p>Or try <a href=\"/hello/World\">/hello/World</a>.</p>\n"
    ))
}

// ANCHOR: greet
/// The form's answer. The name is the user's text: escape it.
fn greet(req: &Req) -> Reply {
    let form = match req.form() {
        Ok(form) => form,
        Err(reply) => return reply,
    };
    let name = value(&form, "name").unwrap_or("").trim();
    if name.is_empty() {
        return Reply::html("<p>Please enter a name. <a href=\"/\">Back</a></p>\n")
            .with_status("400 Bad Request");
    }
    let greeting = value(&form, "greeting").unwrap_or("Hello");
    Reply::html(format!(
        "<!doctype html>\n<title>Greeter</title>\n<h1>{}, {}!</h1>\n<p><a href=\"/\">Again</a></p>\n",
        escape_html(greeting),
        escape_html(name)
    ))
}
// ANCHOR_END: greet

fn hello(req: &Req) -> Reply {
    let query = match req.query() {
        Ok(query) => query,
        Err(reply) => return reply,
    };
    let greeting = value(&query, "greeting").unwrap_or("Hello");
    Reply::text(format!("{greeting}, {}!\n", req.param("name")))
}
