//! Images through berth: build, pull and push with a real registry, tag, remove, prune, export and import.
