ALTER TABLE user_search_terms DROP COLUMN email_key;
