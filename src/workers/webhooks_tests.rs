//! The webhook worker's pure parts: signatures, Retry-After, and when a try is followed.

use super::*;

#[test]
fn retry_after_is_read_in_seconds_or_as_a_date() {
    assert_eq!(retry_after_seconds(" 120 "), Some(120));
    let later = (chrono::Utc::now() + chrono::Duration::seconds(600)).to_rfc2822();
    let later = later.replace("+0000", "GMT");
    let got = retry_after_seconds(&later).unwrap();
    assert!((590..=600).contains(&got), "{later}: {got}");
    assert_eq!(retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT"), Some(0));
    assert_eq!(retry_after_seconds("soon"), None);
}

#[test]
fn signatures_follow_standard_webhooks() {
    // The example of the Standard Webhooks specification.
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let body = r#"{"test": 2432232314}"#;
    let sig = signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
    assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    let two = signature(&[secret, secret], "m", 1, "{}");
    assert_eq!(two.split(' ').count(), 2);
}

/// The pause before the next try runs from the try's end: a try that waited out the
/// timeout gets the whole pause (probe 62d D1: 0.25 s later, so a slow record hook ran twice).
#[test]
fn the_next_try_waits_from_the_last_ones_end() {
    let at = crate::model::now();
    let delivery = Delivery {
        id: crate::ids::WebhookDeliveryId::generate(),
        webhook_id: crate::ids::WebhookId::generate(),
        event_id: 1,
        status: "pending".into(),
        attempts: 0,
        next_attempt_at: None,
        last_attempt_at: None,
        last_status_code: None,
        last_duration_ms: None,
        last_response: None,
        last_error: None,
        claimed_by: None,
        claimed_at: None,
        created_at: at,
    };
    let timed_out = Attempt {
        at,
        duration_ms: Some(15_000),
        error: Some("timed out".into()),
        ..Default::default()
    };
    let Next::RetryAt(next) = next_step(&delivery, &timed_out, None) else {
        panic!("a timed-out try is tried again");
    };
    let pause = (next - at).num_milliseconds();
    assert!(
        (15_000 + 4_500..=15_000 + 5_500).contains(&pause),
        "{pause} ms after the try began"
    );
}
