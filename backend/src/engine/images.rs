//! Images: list, inspect with layers, build, pull, push, tag, remove, prune, export, import.
