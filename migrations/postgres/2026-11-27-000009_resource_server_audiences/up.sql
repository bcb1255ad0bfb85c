-- The audiences a client serves as a resource server (JSON list of
-- strings): introspection (RFC 7662 §4) answers active for a token only to
-- the client it was issued to and to clients serving one of its audiences.
ALTER TABLE clients ADD COLUMN resource_server_audiences TEXT NOT NULL DEFAULT '[]';
