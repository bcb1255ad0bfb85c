-- Pushed authorization requests (RFC 9126): the request's parameters, held
-- for every node until used once or expired. The request_uri is stored as
-- its SHA-256.
CREATE TABLE pushed_requests (
    uri_hash TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    params TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);

-- The client accepts authorization requests only through PAR.
ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT FALSE;
