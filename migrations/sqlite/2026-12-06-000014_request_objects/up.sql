-- The client's authorization requests must be signed request objects
-- (RFC 9101), sent as `request` or inside a pushed request.
ALTER TABLE clients ADD COLUMN require_signed_request_object BOOLEAN NOT NULL DEFAULT FALSE;
-- Whether a pushed request came as a signed request object.
ALTER TABLE pushed_requests ADD COLUMN signed BOOLEAN NOT NULL DEFAULT FALSE;
