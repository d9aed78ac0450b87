//! Who is calling: passwords (argon2id), secrets for sessions and tokens,
//! the principal behind a request, the one policy every route goes through,
//! and the throttle on failed logins.

pub mod password;
pub mod policy;
pub mod principal;
pub mod secret;
pub mod throttle;

pub use policy::{Access, Principal};
