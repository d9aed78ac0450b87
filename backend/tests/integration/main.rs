//! berth's integration tests: the real server on 127.0.0.1:0, a real SQLite
//! file, and the real Docker engine.

mod common;

mod attack;
mod auth;
mod compose_hooks;
mod compose_spec;
mod containers;
mod crash;
mod engine_restart;
mod hardening;
mod images;
mod limits;
mod live;
mod matrix;
mod paths;
mod policy;
mod run;
mod run_options;
mod secrets;
mod stacks;
mod teams;
mod tokens;
