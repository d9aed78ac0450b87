//! Compose, natively: parse a compose file, plan what `up` would change
//! against the engine, and apply it, labelling everything the way
//! `docker compose` does so the CLI and berth see the same stacks.

pub mod interpolate;
pub mod model;
pub mod parse;

pub use model::ComposeFile;
pub use parse::parse;

#[cfg(test)]
mod tests;
