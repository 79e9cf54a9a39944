//! Diesel table definitions, the same for SQLite and PostgreSQL (see `migrations/`).

diesel::table! {
    api_keys (id) {
        id -> Text,
        role -> Text,
        label -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    persons (id_number) {
        id_number -> Text,
        name -> Text,
        sex -> Text,
        birth_date -> Date,
        hukou -> Text,
        ethnicity -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    certificates (id) {
        id -> Text,
        id_number -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    certificate_versions (jti) {
        jti -> Text,
        certificate_id -> Text,
        version -> Integer,
        supersedes -> Nullable<Text>,
        issued_at -> Timestamp,
        valid_until -> Date,
        token -> Text,
        qr -> Text,
        employer_token -> Text,
        employer_qr -> Text,
        issued_by -> Text,
    }
}

diesel::table! {
    certificate_events (id) {
        id -> BigInt,
        jti -> Text,
        status -> Text,
        reason -> Nullable<Text>,
        at -> Timestamp,
        actor -> Text,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        request_id -> Text,
        actor -> Text,
        role -> Text,
        action -> Text,
        subject -> Nullable<Text>,
        object -> Nullable<Text>,
        purpose -> Text,
        outcome -> Text,
        prev_hash -> Text,
        hash -> Text,
        chain_format -> SmallInt,
    }
}

diesel::table! {
    audit_subjects (subject, seq) {
        subject -> Text,
        seq -> BigInt,
    }
}

diesel::table! {
    audit_index (id) {
        id -> SmallInt,
        indexed_to -> BigInt,
    }
}

diesel::table! {
    assessment_reports (jti) {
        jti -> Text,
        month -> Text,
        ver -> Integer,
        supersedes -> Nullable<Text>,
        token -> Text,
        made_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    women_cards (id_number) {
        id_number -> Text,
        subject -> Text,
        name -> Text,
        birth_date -> Date,
        marital -> Text,
        method -> Nullable<Text>,
        side -> Text,
        counterpart -> Nullable<Text>,
        since -> Date,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(certificates -> persons (id_number));
diesel::joinable!(certificate_versions -> certificates (certificate_id));
diesel::joinable!(certificate_events -> certificate_versions (jti));

diesel::table! {
    accounts (name) {
        name -> Text,
        actor_id -> Text,
        password_hash -> Text,
        failures -> Integer,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        account -> Text,
        csrf -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    holder_codes (id_number) {
        id_number -> Text,
        code_hash -> Text,
        failures -> Integer,
        locked_until -> Nullable<Timestamp>,
        issued_at -> Timestamp,
    }
}

diesel::table! {
    corrections (id) {
        id -> Text,
        id_number -> Text,
        subject -> Text,
        request -> Text,
        filed_at -> Timestamp,
        due_on -> Date,
        answer -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
        answered_by -> Nullable<Text>,
    }
}

diesel::joinable!(holder_codes -> persons (id_number));
diesel::joinable!(corrections -> persons (id_number));
diesel::joinable!(accounts -> api_keys (actor_id));
diesel::joinable!(sessions -> accounts (account));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    sessions,
    api_keys,
    persons,
    certificates,
    certificate_versions,
    certificate_events,
    audit_log,
    audit_subjects,
    audit_index,
    issuance_log,
    women_cards,
    ledger_entries,
    holder_codes,
    corrections,
);

diesel::table! {
    messages (id) {
        id -> Text,
        direction -> Text,
        peer -> Text,
        seq -> BigInt,
        kind -> Text,
        subject -> Nullable<Text>,
        in_reply_to -> Nullable<Text>,
        due_on -> Nullable<Date>,
        token -> Text,
        created_at -> Timestamp,
        receipt -> Nullable<Text>,
        receipted_at -> Nullable<Timestamp>,
        answered_at -> Nullable<Timestamp>,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    peer_sequences (peer, direction) {
        peer -> Text,
        direction -> Text,
        last_seq -> BigInt,
    }
}

diesel::table! {
    restore_state (id) {
        id -> SmallInt,
        restored_at -> Timestamp,
    }
}

diesel::table! {
    rejoined_peers (peer) {
        peer -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    received_statuses (id) {
        id -> BigInt,
        jti -> Text,
        issuer -> Text,
        status -> Text,
        at -> Timestamp,
        message_id -> Text,
    }
}

diesel::table! {
    issuance_log (idx) {
        idx -> BigInt,
        jti -> Text,
        leaf_hash -> Text,
        logged_at -> Timestamp,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> BigInt,
        source -> Text,
        peer -> Text,
        book -> Text,
        kind -> Text,
        side -> Text,
        subject -> Nullable<Text>,
        id_number -> Text,
        name -> Text,
        on_date -> Date,
        method -> Nullable<Text>,
        certificate -> Nullable<Text>,
        corrects -> Nullable<Text>,
        recorded_at -> Timestamp,
    }
}
