//! One schema for both backends: only types that map the same way on SQLite and PostgreSQL.

diesel::table! {
    environments (id) {
        id -> Text,
        name -> Text,
        is_prod -> Bool,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by_key -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        is_admin -> Bool,
        created_at -> Timestamp,
        password_set_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        environment_id -> Text,
        secret_hash -> Text,
        hint -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    space_configs (id) {
        id -> Text,
        environment_id -> Text,
        slug -> Text,
        name -> Text,
        blueprint -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    spaces (id) {
        id -> Text,
        environment_id -> Text,
        space_config_id -> Nullable<Text>,
        name -> Text,
        metadata -> Text,
        created_by -> Nullable<Text>,
        archived_at -> Nullable<Timestamp>,
        last_activity_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        namespace -> Nullable<Text>,
        auto_configure -> Bool,
        primary_workbook_id -> Nullable<Text>,
        extras -> Text,
    }
}

diesel::table! {
    workbooks (id) {
        id -> Text,
        space_id -> Text,
        environment_id -> Text,
        name -> Text,
        labels -> Text,
        metadata -> Text,
        actions -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        namespace -> Nullable<Text>,
        settings -> Nullable<Text>,
    }
}

diesel::table! {
    sheets (id) {
        id -> Text,
        seq -> BigInt,
        workbook_id -> Text,
        name -> Text,
        slug -> Text,
        config -> Text,
        position -> Integer,
        total_count -> BigInt,
        error_count -> BigInt,
        errors_by_field -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        locked_at -> Nullable<Timestamp>,
        locked_by -> Nullable<Text>,
        sort_keys -> Integer,
    }
}

diesel::table! {
    records (id) {
        id -> BigInt,
        sheet_seq -> BigInt,
        vals -> Text,
        raw -> Nullable<Text>,
        messages -> Nullable<Text>,
        valid -> Bool,
        error_fields -> Nullable<Text>,
        metadata -> Nullable<Text>,
        version -> BigInt,
        custom -> Nullable<Text>,
        config -> Nullable<Text>,
    }
}

diesel::table! {
    cron_ticks (topic) {
        topic -> Text,
        last_slot -> Timestamp,
    }
}

diesel::table! {
    documents (id) {
        id -> Text,
        space_id -> Text,
        environment_id -> Text,
        title -> Text,
        body -> Text,
        treatments -> Text,
        actions -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    secrets (id) {
        id -> Text,
        environment_id -> Text,
        space_id -> Nullable<Text>,
        scope -> Text,
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    commits (id) {
        id -> Text,
        environment_id -> Text,
        sheet_id -> Text,
        record_ids -> Text,
        track_changes -> Bool,
        created_by -> Text,
        created_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
        completed_by -> Nullable<Text>,
    }
}

diesel::table! {
    cell_keys (sheet_id, field_index, norm, record_id) {
        sheet_id -> Text,
        field_index -> Integer,
        norm -> Text,
        record_id -> BigInt,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        environment_id -> Text,
        space_id -> Nullable<Text>,
        workbook_id -> Nullable<Text>,
        sheet_id -> Nullable<Text>,
        topic -> Text,
        actor -> Text,
        payload -> Text,
        created_at -> Timestamp,
        domain -> Text,
        context -> Text,
        data_url -> Nullable<Text>,
        namespaces -> Nullable<Text>,
        acknowledged_at -> Nullable<Timestamp>,
        acknowledged_by -> Nullable<Text>,
        envelope -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        csrf_token -> Text,
        environment_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    setup_tokens (token_hash) {
        token_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sign_in_attempts (id) {
        id -> BigInt,
        key -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    files (id) {
        id -> Text,
        environment_id -> Text,
        space_id -> Text,
        workbook_id -> Nullable<Text>,
        name -> Text,
        ext -> Text,
        mimetype -> Text,
        encoding -> Text,
        status -> Text,
        mode -> Text,
        size -> BigInt,
        bytes_received -> BigInt,
        sha256 -> Text,
        storage_key -> Text,
        actions -> Text,
        origin -> Nullable<Text>,
        message -> Nullable<Text>,
        reject_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        extracting_job -> Nullable<Text>,
        held_by -> Nullable<Text>,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        environment_id -> Text,
        space_id -> Nullable<Text>,
        job_type -> Text,
        operation -> Text,
        source -> Text,
        destination -> Nullable<Text>,
        file_id -> Nullable<Text>,
        config -> Text,
        status -> Text,
        progress -> Integer,
        info -> Nullable<Text>,
        outcome -> Nullable<Text>,
        plan -> Nullable<Text>,
        job_trigger -> Text,
        mode -> Text,
        managed -> Bool,
        input -> Nullable<Text>,
        metadata -> Text,
        checkpoint -> Nullable<Text>,
        created_by -> Text,
        claimed_by -> Nullable<Text>,
        heartbeat_at -> Nullable<Timestamp>,
        attempts -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        outcome_acknowledged_at -> Nullable<Timestamp>,
        crashes -> Integer,
        subject -> Nullable<Text>,
        estimated_completion_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    remembered_mappings (sheet_id, fingerprint) {
        sheet_id -> Text,
        fingerprint -> Text,
        mapping -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    guests (id) {
        id -> Text,
        environment_id -> Text,
        email -> Text,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    guest_spaces (guest_id, space_id) {
        guest_id -> Text,
        space_id -> Text,
        last_accessed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    guest_links (token_hash) {
        token_hash -> Text,
        guest_id -> Text,
        space_id -> Text,
        reusable -> Bool,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    guest_sessions (token_hash) {
        token_hash -> Text,
        guest_id -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        link_hash -> Nullable<Text>,
    }
}

diesel::table! {
    user_invites (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        invited_by -> Nullable<Text>,
    }
}

diesel::table! {
    record_changes (id) {
        id -> BigInt,
        sheet_id -> Text,
        record_id -> BigInt,
        version -> BigInt,
        field -> Text,
        old_value -> Text,
        new_value -> Text,
        actor -> Text,
        created_at -> Timestamp,
        bulk_id -> Nullable<Text>,
        old_raw -> Nullable<Text>,
        old_messages -> Nullable<Text>,
        undoes -> Nullable<BigInt>,
    }
}

diesel::table! {
    bulk_changes (id) {
        id -> Text,
        sheet_id -> Text,
        actor -> Text,
        summary -> Text,
        changed -> BigInt,
        job_id -> Nullable<Text>,
        created_at -> Timestamp,
        undone_at -> Nullable<Timestamp>,
        undone_by -> Nullable<Text>,
        undo_pending -> Bool,
        undo_job -> Nullable<Text>,
    }
}

diesel::table! {
    mail_retries (id) {
        id -> BigInt,
        target -> Text,
        from_name -> Nullable<Text>,
        message -> Nullable<Text>,
        invited_by -> Text,
        tries -> Integer,
        last_error -> Text,
        next_try_at -> Timestamp,
        give_up_at -> Timestamp,
        created_at -> Timestamp,
        permanent -> Bool,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_keys -> environments (environment_id));
diesel::joinable!(space_configs -> environments (environment_id));
diesel::joinable!(spaces -> environments (environment_id));
diesel::joinable!(workbooks -> spaces (space_id));
diesel::joinable!(sheets -> workbooks (workbook_id));
diesel::joinable!(files -> spaces (space_id));
diesel::joinable!(jobs -> spaces (space_id));
diesel::joinable!(guest_spaces -> guests (guest_id));
diesel::joinable!(guest_spaces -> spaces (space_id));
diesel::joinable!(guest_sessions -> guests (guest_id));

diesel::table! {
    search_pending (sheet_seq, record_id) {
        sheet_seq -> BigInt,
        record_id -> BigInt,
    }
}

diesel::table! {
    search_backfills (sheet_seq) {
        sheet_seq -> BigInt,
        done_upto -> BigInt,
        until_id -> BigInt,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        environment_id -> Text,
        url -> Text,
        topics -> Text,
        description -> Text,
        enabled -> Bool,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        disabled_reason -> Nullable<Text>,
        failing_since -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        slug -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_id -> BigInt,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        last_attempt_at -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_duration_ms -> Nullable<Integer>,
        last_response -> Nullable<Text>,
        last_error -> Nullable<Text>,
        claimed_by -> Nullable<Text>,
        claimed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> Text,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        duration_ms -> Nullable<Integer>,
        response -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    submissions (id) {
        id -> Text,
        environment_id -> Text,
        space_id -> Text,
        workbook_id -> Text,
        job_id -> Text,
        webhook_id -> Text,
        slug -> Text,
        sheets -> Text,
        record_count -> BigInt,
        status -> Text,
        attempts -> Integer,
        tries -> Text,
        next_attempt_at -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
        claimed_at -> Nullable<Timestamp>,
        rejected -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        held_by -> Nullable<Text>,
    }
}

diesel::table! {
    stored_deletes (holder, storage_key) {
        holder -> Text,
        storage_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    server_keys (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));

diesel::allow_tables_to_appear_in_same_query!(
    cron_ticks,
    documents,
    environments,
    users,
    api_keys,
    space_configs,
    spaces,
    workbooks,
    sheets,
    records,
    commits,
    secrets,
    cell_keys,
    events,
    sessions,
    setup_tokens,
    sign_in_attempts,
    files,
    jobs,
    remembered_mappings,
    guests,
    guest_spaces,
    guest_links,
    guest_sessions,
    user_invites,
    record_changes,
    bulk_changes,
    mail_retries,
    search_backfills,
    search_pending,
    webhooks,
    webhook_deliveries,
    webhook_attempts,
    submissions,
    stored_deletes,
    server_keys,
);
