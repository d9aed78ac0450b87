//! Registry credentials, encrypted at rest.
