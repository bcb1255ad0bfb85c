-- Each search term carries its user's email_key, so the matches of a word
-- come out of the primary key ready to sort in email order, without
-- reading the users table (core_auth::admin::search). Kept in step by
-- index_user on every create and update.
ALTER TABLE user_search_terms ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
UPDATE user_search_terms
   SET email_key = (SELECT u.email_key FROM users u WHERE u.id = user_search_terms.user_id);
