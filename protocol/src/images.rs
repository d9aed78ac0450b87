//! Images and registries: the API types.
