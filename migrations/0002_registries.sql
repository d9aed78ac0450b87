-- Registry logins, one per registry host, used for pulls, pushes and builds
-- of images on that host. The password is sealed with XChaCha20-Poly1305
-- under berth's secret key (BERTH_SECRET_KEY, or <data-dir>/secret.key);
-- `sealed` holds the 24-byte nonce followed by the ciphertext and its tag.

CREATE TABLE registries (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    host       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    url        TEXT    NOT NULL,
    username   TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
