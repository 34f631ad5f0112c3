//! Applications, written against the gateway interface only
//! ([`crate::gateway::Environ`] and [`crate::gateway::StartResponse`]):
//! none of them knows which server runs it, or whether that server forks.
//!
//! * [`hello`] — the smallest application: one function.
//! * [`show_environ`] — prints the environment it was called with, like
//!   Python's `wsgiref.simple_server.demo_app`.
//! * [`framework`] — a micro web framework in the spirit of Flask and
//!   Pyramid (routes with parameters, forms, HTML escaping), itself just an
//!   application, and [`greeter`], an application written with it.

pub mod framework;
pub mod greeter;
pub mod hello;
pub mod show_environ;
