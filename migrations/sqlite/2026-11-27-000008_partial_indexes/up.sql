-- Indexes only over the rows that have the value: a token issued to a
-- client (client_credentials) has no user, session or grant, and an audit
-- row often has no subject, actor or client. Every NULL entry was one more
-- index page written per commit on the hot token path; the lookups are all
-- by equality, which these partial indexes serve.
DROP INDEX audit_log_subject;
CREATE INDEX audit_log_subject ON audit_log (subject_user_id, at) WHERE subject_user_id IS NOT NULL;
DROP INDEX audit_log_actor;
CREATE INDEX audit_log_actor ON audit_log (actor_user_id, at) WHERE actor_user_id IS NOT NULL;
DROP INDEX audit_log_client;
CREATE INDEX audit_log_client ON audit_log (client_id, at) WHERE client_id IS NOT NULL;
DROP INDEX access_tokens_grant;
CREATE INDEX access_tokens_grant ON access_tokens (grant_id) WHERE grant_id IS NOT NULL;
DROP INDEX access_tokens_user;
CREATE INDEX access_tokens_user ON access_tokens (user_id) WHERE user_id IS NOT NULL;
DROP INDEX access_tokens_sid;
CREATE INDEX access_tokens_sid ON access_tokens (sid) WHERE sid IS NOT NULL;
