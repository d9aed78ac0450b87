-- Refusals repeated within a minute (same actor, action and address) share
-- one row; `count` is how many calls the row stands for. Rows older than
-- the retention setting are pruned by time, hence the index on `at`.
ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
CREATE INDEX audit_log_at ON audit_log(at);
