DROP TABLE mfa_enrolment_required;
DROP TABLE webauthn_ceremonies;
DROP TABLE recovery_codes;
DROP TABLE passkeys;
DROP TABLE mfa_totp;
