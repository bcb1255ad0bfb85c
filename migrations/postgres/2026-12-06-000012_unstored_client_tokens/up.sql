-- client_credentials access tokens are no longer recorded one row each
-- (docs/performance.md, "Writes"): they are checked by signature, and
-- revocation stays exact through the two tables below.

-- Tokens issued to a client before this time are no longer active
-- (rotate-secret sets it). NULL: the client's created_at.
ALTER TABLE clients ADD COLUMN tokens_not_before BIGINT;

-- Revoked client_credentials access tokens, until they expire.
CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    revoked_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

-- The audit of client_credentials issuance: per client, minute and scope,
-- how many tokens were issued.
CREATE TABLE token_issuance (
    client_id TEXT NOT NULL,
    minute BIGINT NOT NULL,
    scope TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (client_id, minute, scope)
);
CREATE INDEX token_issuance_minute ON token_issuance (minute);
