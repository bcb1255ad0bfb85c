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

diesel::allow_tables_to_appear_in_same_query!(users, roles, user_roles, sessions, server_secrets);
