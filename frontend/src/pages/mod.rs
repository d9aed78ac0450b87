//! One module per page of the app.

pub mod container;
pub mod containers;
pub mod home;
pub mod host;
pub mod login;
pub mod not_found;
pub mod setup;
pub mod tokens;
pub mod users;
