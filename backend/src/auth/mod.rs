//! Who is calling: passwords (argon2id), secrets for sessions and tokens,
//! the principal behind a request, and the one policy every route goes through.

pub mod password;
pub mod policy;
pub mod principal;
pub mod secret;

pub use policy::{Access, Principal};
