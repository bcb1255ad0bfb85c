DROP TABLE client_assertions;
DROP TABLE access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE authorization_codes;
DROP TABLE consents;
DROP TABLE signing_keys;
DROP TABLE clients;
ALTER TABLE users DROP COLUMN profile;
