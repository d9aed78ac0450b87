-- Teams, per-endpoint grants, disabled users, and who created each stack.
-- A non-admin reaches an endpoint only through a grant (to them or to one
-- of their teams); admins reach every endpoint.

ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

CREATE TABLE endpoint_grants (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id TEXT    NOT NULL,
    user_id     INTEGER REFERENCES users(id) ON DELETE CASCADE,
    team_id     INTEGER REFERENCES teams(id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (role IN ('operator', 'viewer')),
    CHECK ((user_id IS NULL) <> (team_id IS NULL)),
    UNIQUE (endpoint_id, user_id, team_id)
);
CREATE INDEX endpoint_grants_endpoint ON endpoint_grants(endpoint_id);

-- Who created a stack (a user id; NULL for stacks adopted or made before).
ALTER TABLE stacks ADD COLUMN created_by INTEGER;

-- What existing non-admins could do before grants existed stays: each
-- gets their role on every endpoint known now.
INSERT INTO endpoint_grants (endpoint_id, user_id, role)
SELECT e.id, u.id, u.role FROM users u CROSS JOIN endpoints e WHERE u.role <> 'admin';
