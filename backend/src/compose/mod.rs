//! Compose, natively: parse a compose file, plan what `up` would change
//! against the engine, and apply it, labelling everything the way
//! `docker compose` does so the CLI and berth see the same stacks.

pub mod apply;
pub mod build;
pub mod config;
pub mod diff;
pub mod emit;
pub mod interpolate;
pub mod load;
pub mod model;
pub mod parse;
pub mod plan;
pub mod spec;
pub mod yaml;

pub use load::Source;
pub use model::ComposeFile;
pub use parse::{parse, parse_source};

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;
