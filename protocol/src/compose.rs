//! Stacks (compose projects): the API types.
