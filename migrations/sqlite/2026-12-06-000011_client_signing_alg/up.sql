-- The algorithm a client's tokens are signed with (its ID tokens, access
-- tokens and refresh tokens): RS256, PS256, ES256 or EdDSA, one of the
-- server's keys.algorithms. Existing clients keep RS256.
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256';
