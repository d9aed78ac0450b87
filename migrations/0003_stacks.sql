-- Stacks: compose files berth manages, one row per endpoint and project
-- name, with every saved version of the file and its .env.

CREATE TABLE stacks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint   TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (endpoint, name)
);

CREATE TABLE stack_revisions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    stack_id   INTEGER NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
    number     INTEGER NOT NULL,
    compose    TEXT    NOT NULL,
    env        TEXT    NOT NULL,
    author     TEXT    NOT NULL,
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (stack_id, number)
);
