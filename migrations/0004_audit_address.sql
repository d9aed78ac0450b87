-- The client's address on each audit row: the TCP peer, or the client a
-- trusted proxy forwarded for. NULL on rows written before it was recorded.
ALTER TABLE audit_log ADD COLUMN address TEXT;
CREATE INDEX audit_log_address ON audit_log(address);
