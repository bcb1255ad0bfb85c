ALTER TABLE user_search_terms
    DROP CONSTRAINT user_search_terms_pkey,
    ADD PRIMARY KEY (term, user_id);
ALTER TABLE user_search_terms DROP COLUMN email_key;
