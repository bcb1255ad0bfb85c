-- Second factors: one-time-code apps (TOTP), passkeys and security keys
-- (WebAuthn), recovery codes; the WebAuthn ceremonies in progress (any node
-- finishes one); the administrator's "must enrol" flag.

CREATE TABLE mfa_totp (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- AES-256-GCM under the key-encryption key, bound to the user id.
    secret_enc TEXT NOT NULL,
    -- NULL until the first code confirmed the enrolment.
    confirmed_at BIGINT,
    -- The last 30-second step accepted: a code of this step or an earlier
    -- one is refused (RFC 6238 §5.2).
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE passkeys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- base64url of the credential id; one account per credential.
    credential_id TEXT NOT NULL UNIQUE,
    -- The public key, counter and flags (webauthn-rs's Passkey, as JSON).
    credential TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);

CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the normalized code.
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE webauthn_ceremonies (
    -- SHA-256 of the handle the browser holds.
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);

CREATE TABLE mfa_enrolment_required (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    set_at BIGINT NOT NULL
);
