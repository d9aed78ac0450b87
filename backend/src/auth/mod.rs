//! Who is calling and which endpoints they reach: passwords (argon2id), secrets for sessions and tokens,
//! the principal behind a request, the client's address and scheme (through
//! trusted proxies), the one policy every route goes through, the
//! revocations that end open sockets, and the throttle on failed logins.

pub mod access;
pub mod client;
pub mod password;
pub mod policy;
pub mod principal;
pub mod revocation;
pub mod secret;
pub mod throttle;

pub use policy::{Access, Principal};
