-- What non-admins may ask of each endpoint's host (protocol's
-- EndpointPolicy, as JSON). An endpoint without a row denies all of it.

CREATE TABLE endpoint_policies (
    endpoint_id TEXT PRIMARY KEY NOT NULL,
    policy      TEXT NOT NULL,
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
