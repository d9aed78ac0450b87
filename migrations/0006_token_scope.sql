-- API tokens get an expiry and a scope. Tokens made before keep acting as
-- they did: no expiry, the owner's full rights.
-- expires_at: '%Y-%m-%dT%H:%M:%SZ' in UTC, NULL for never.
-- endpoints: a JSON array of endpoint ids, NULL for every endpoint.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN read_only  INTEGER NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1));
ALTER TABLE api_tokens ADD COLUMN endpoints  TEXT;
