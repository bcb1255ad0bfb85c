//! The schema, shared by both backends. Keep to types both understand:
//! ids as text, times as BIGINT Unix seconds, JSON as text.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        email_key -> Text,
        email_verified -> Bool,
        name -> Text,
        password_hash -> Nullable<Text>,
        disabled -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        profile -> Text,
    }
}

diesel::table! {
    roles (name) {
        name -> Text,
        description -> Text,
        builtin -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    user_roles (user_id, role) {
        user_id -> Text,
        role -> Text,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        sid -> Text,
        user_id -> Nullable<Text>,
        state -> Text,
        ip -> Text,
        user_agent -> Text,
        auth_time -> Nullable<BigInt>,
        created_at -> BigInt,
        last_seen_at -> BigInt,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        value -> Text,
        created_at -> BigInt,
    }
}

diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(user_roles -> roles (role));
diesel::joinable!(sessions -> users (user_id));

diesel::table! {
    clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        auth_method -> Text,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        scopes -> Text,
        skip_consent -> Bool,
        always_issue_refresh -> Bool,
        jwks_uri -> Nullable<Text>,
        jwks -> Nullable<Text>,
        access_token_lifetime_secs -> Nullable<BigInt>,
        refresh_token_idle_secs -> Nullable<BigInt>,
        refresh_token_absolute_secs -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        resource_server_audiences -> Text,
        id_token_signed_response_alg -> Text,
        tokens_not_before -> Nullable<BigInt>,
        require_pushed_authorization_requests -> Bool,
        require_signed_request_object -> Bool,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        state -> Text,
        public_jwk -> Text,
        private_key -> Text,
        created_at -> BigInt,
        activated_at -> Nullable<BigInt>,
        retired_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scopes -> Text,
        granted_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        user_id -> Text,
        redirect_uri -> Text,
        redirect_uri_given -> Bool,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        claims -> Nullable<Text>,
        auth_time -> BigInt,
        amr -> Text,
        acr -> Text,
        sid -> Text,
        family_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    refresh_tokens (jti_hash) {
        jti_hash -> Text,
        family_id -> Text,
        client_id -> Text,
        user_id -> Text,
        scope -> Text,
        claims -> Nullable<Text>,
        sid -> Nullable<Text>,
        offline -> Bool,
        auth_time -> BigInt,
        amr -> Text,
        acr -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        family_expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    access_tokens (jti) {
        jti -> Text,
        client_id -> Text,
        user_id -> Nullable<Text>,
        grant_id -> Nullable<Text>,
        sid -> Nullable<Text>,
        scope -> Text,
        claims -> Nullable<Text>,
        acr -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    client_assertions (jti_hash) {
        jti_hash -> Text,
        client_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::joinable!(consents -> users (user_id));
diesel::joinable!(consents -> clients (client_id));
diesel::joinable!(access_tokens -> users (user_id));
diesel::joinable!(refresh_tokens -> users (user_id));

diesel::table! {
    groups (id) {
        id -> Text,
        name -> Text,
        description -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    group_roles (group_id, role) {
        group_id -> Text,
        role -> Text,
    }
}

diesel::table! {
    user_groups (user_id, group_id) {
        user_id -> Text,
        group_id -> Text,
    }
}

diesel::table! {
    throttles (kind, key_hash) {
        kind -> Text,
        key_hash -> Text,
        label -> Text,
        count -> Integer,
        window_start -> BigInt,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> BigInt,
        event -> Text,
        outcome -> Text,
        actor_user_id -> Nullable<Text>,
        subject_user_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        ip -> Text,
        user_agent -> Text,
        session_id -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::joinable!(group_roles -> groups (group_id));
diesel::joinable!(user_groups -> groups (group_id));
diesel::joinable!(user_groups -> users (user_id));

diesel::table! {
    mfa_totp (user_id) {
        user_id -> Text,
        secret_enc -> Text,
        confirmed_at -> Nullable<BigInt>,
        last_step -> BigInt,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        credential_id -> Text,
        credential -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> Text,
        code_hash -> Text,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    webauthn_ceremonies (id_hash) {
        id_hash -> Text,
        user_id -> Nullable<Text>,
        purpose -> Text,
        state -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    mfa_enrolment_required (user_id) {
        user_id -> Text,
        set_at -> BigInt,
    }
}

diesel::joinable!(passkeys -> users (user_id));
diesel::joinable!(mfa_totp -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    mfa_totp,
    passkeys,
    recovery_codes,
    webauthn_ceremonies,
    mfa_enrolment_required,
    federated_identities,
    upstream_providers,
    roles,
    user_roles,
    sessions,
    server_secrets,
    clients,
    consents,
    access_tokens,
    refresh_tokens,
    authorization_codes,
    signing_keys,
    client_assertions,
    outbox,
    email_tokens,
    groups,
    group_roles,
    user_groups,
    throttles,
    audit_log,
    pushed_requests,
    revoked_tokens,
    token_issuance,
    user_search_terms
);

diesel::table! {
    outbox (id) {
        id -> BigInt,
        kind -> Text,
        recipient -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        sent_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    email_tokens (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        purpose -> Text,
        email -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(email_tokens -> users (user_id));

diesel::table! {
    federated_identities (provider, subject) {
        provider -> Text,
        subject -> Text,
        user_id -> Text,
        email -> Text,
        created_at -> BigInt,
        last_used_at -> BigInt,
    }
}

diesel::table! {
    upstream_providers (id) {
        id -> Text,
        settings -> Text,
        client_secret -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::joinable!(federated_identities -> users (user_id));

diesel::table! {
    pushed_requests (uri_hash) {
        uri_hash -> Text,
        client_id -> Text,
        params -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        signed -> Bool,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        client_id -> Text,
        revoked_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    token_issuance (client_id, minute, scope) {
        client_id -> Text,
        minute -> BigInt,
        scope -> Text,
        count -> BigInt,
    }
}

diesel::table! {
    user_search_terms (term, user_id) {
        term -> Text,
        user_id -> Text,
        email_key -> Text,
    }
}

diesel::joinable!(user_search_terms -> users (user_id));
