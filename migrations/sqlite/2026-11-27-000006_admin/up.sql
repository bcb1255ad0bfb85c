-- Admin console and API: user search and filters that stay fast at a
-- million users, and the listing of active sessions.

-- Lower-cased words of each user's name and email address, plus the whole
-- address. A search for "ada lov" is one prefix range scan of the primary
-- key per word. Maintained by core_auth::admin::search on every create and
-- update; filled for existing users when this migration is applied.
CREATE TABLE user_search_terms (
    term TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (term, user_id)
) WITHOUT ROWID;
-- Per-user upkeep, and "does this user match the word" probes while the
-- users page walks users in email order.
CREATE INDEX user_search_terms_user ON user_search_terms (user_id, term);

-- The disabled and unverified filters, in email order (few rows each).
CREATE INDEX users_disabled ON users (email_key) WHERE disabled = 1;
CREATE INDEX users_unverified ON users (email_key) WHERE email_verified = 0;

-- The newest accounts (dashboard).
CREATE INDEX users_created ON users (created_at);

-- Active sessions, newest first.
CREATE INDEX sessions_created ON sessions (created_at);
