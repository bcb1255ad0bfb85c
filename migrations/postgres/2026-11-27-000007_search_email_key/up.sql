-- Each search term carries its user's email_key, so the matches of a word
-- come out of the primary key ready to sort in email order, without
-- reading the users table (core_auth::admin::search). Kept in step by
-- index_user on every create and update.
ALTER TABLE user_search_terms ADD COLUMN email_key TEXT;
UPDATE user_search_terms t SET email_key = u.email_key FROM users u WHERE u.id = t.user_id;
ALTER TABLE user_search_terms ALTER COLUMN email_key SET NOT NULL;
-- An index-only scan of a word's range yields the key too.
ALTER TABLE user_search_terms
    DROP CONSTRAINT user_search_terms_pkey,
    ADD PRIMARY KEY (term, user_id) INCLUDE (email_key);
