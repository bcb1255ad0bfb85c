-- Sign-in through upstream identity providers.

-- A person's account at an upstream provider, linked to one local user. One
-- link per provider per user; an upstream account links to one user only.
CREATE TABLE federated_identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- the address the provider gave at the last sign-in (shown to the user)
    email TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE UNIQUE INDEX federated_identities_user_provider ON federated_identities (user_id, provider);

-- Providers managed at run time (admin console), next to those of the
-- configuration file. settings: the [[upstream]] keys as JSON, without the
-- secret; client_secret: encrypted with the key-encryption key.
CREATE TABLE upstream_providers (
    id TEXT PRIMARY KEY NOT NULL,
    settings TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
