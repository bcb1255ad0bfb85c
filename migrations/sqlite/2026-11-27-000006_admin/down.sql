DROP INDEX sessions_created;
DROP INDEX users_created;
DROP INDEX users_unverified;
DROP INDEX users_disabled;
DROP TABLE user_search_terms;
