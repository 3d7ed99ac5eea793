//! How much of the request bodies being read (and then handled) one process holds at once,
//! in all and per caller: each body may be up to 64 MiB, and forty guests sending such
//! bodies at once held 2.6 GB; eighty took a 4 GB server down (probe 67a D3). Past either
//! budget a body is refused with 503 and `Retry-After`: record writes come in batches of
//! a few megabytes, so only a crowd of the biggest bodies meets it. A body that alone passes
//! a caller's budget is refused with 413, as no retry would fit it.

use super::error::AppError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most bytes of bodies held at once by the process, counting what a JSON body is parsed
/// into (see [`parsed_cost`]).
pub const MOST_HELD: usize = 2 * 1024 * 1024 * 1024;
/// Most bytes of bodies one caller (a key, a token, a session) holds at once: the biggest
/// batch of records (50,000 of 20 fields, about 4,000,000 values), parsed, with room (probe
/// 67h D4: at 256 MiB it was refused, alone).
pub const MOST_HELD_EACH: usize = 640 * 1024 * 1024;

/// What one JSON value (an object, an array, a string, a number, a literal, a key) costs
/// once parsed, beside its text: `[{},{},...]` of 63 MiB parsed into 2.5 GB (probe 67e
/// D5); an object of one key took about 150 bytes a value (probe 67h D5).
const PER_VALUE: usize = 112;

/// The memory a JSON body takes once parsed, beyond its bytes, from a count of its values
/// (outside strings), in one pass.
pub fn parsed_cost(body: &[u8]) -> usize {
    let (mut values, mut in_string, mut escaped) = (1usize, false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            // Each separator starts a value (a key and its value count two).
            b',' | b':' | b'[' | b'{' => values += 1,
            _ => {}
        }
    }
    values.saturating_mul(PER_VALUE)
}

#[derive(Default)]
pub struct BodyBudget {
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    all: usize,
    by_caller: HashMap<u64, usize>,
}

/// Bytes of one request's body held, given back when dropped (with the request).
pub struct BodyHold {
    budget: Arc<BodyBudget>,
    caller: u64,
    bytes: usize,
}

impl BodyBudget {
    /// An empty hold for the caller of `req`, by the one credential it is let in with: an
    /// API call's bearer token, else the session's or the guest's cookie. Other headers do
    /// not count: a junk cookie beside a key made each request a caller of its own (probe
    /// 67e D4). A credential that lets nobody in is refused before any body is read.
    pub fn hold_for(self: &Arc<Self>, req: &actix_web::HttpRequest) -> BodyHold {
        use std::hash::{Hash, Hasher};
        let api = req.path().starts_with("/v1/");
        let credential = crate::auth::bearer::bearer(req)
            .filter(|_| api)
            .or_else(|| {
                req.cookie(crate::auth::SESSION_COOKIE)
                    .map(|c| c.value().to_string())
            })
            .or_else(|| {
                req.cookie(crate::auth::GUEST_COOKIE)
                    .map(|c| c.value().to_string())
            });
        let mut h = std::collections::hash_map::DefaultHasher::new();
        credential.hash(&mut h);
        BodyHold {
            budget: self.clone(),
            caller: h.finish(),
            bytes: 0,
        }
    }
}

impl BodyHold {
    /// Holds `n` more bytes, unless that passes the process's or the caller's budget.
    pub fn grow(&mut self, n: usize) -> Result<(), AppError> {
        // A body that alone passes the caller's budget never fits: no retry helps (probe
        // 68a D3: 63 MB of short records were answered 503, which clients retry for good).
        if self.bytes + n > MOST_HELD_EACH {
            return Err(AppError::PayloadTooLarge(format!(
                "this request's body takes more than {} MiB once read; send it in smaller parts (records in smaller batches: 10,000 records a request is plenty)",
                MOST_HELD_EACH >> 20
            )));
        }
        let mut held = self.budget.held.lock().unwrap_or_else(|p| p.into_inner());
        let mine = held.by_caller.get(&self.caller).copied().unwrap_or(0);
        if mine + n > MOST_HELD_EACH {
            return Err(AppError::Crowded(format!(
                "you are sending more than {} MiB of request bodies to this server at once; send fewer at a time, or smaller batches",
                MOST_HELD_EACH >> 20
            )));
        }
        if held.all + n > MOST_HELD {
            return Err(AppError::Crowded(
                "the server is reading many large request bodies at once; try again in a moment".into(),
            ));
        }
        held.all += n;
        *held.by_caller.entry(self.caller).or_insert(0) += n;
        self.bytes += n;
        Ok(())
    }
}

impl Drop for BodyHold {
    fn drop(&mut self) {
        if self.bytes == 0 {
            return;
        }
        let mut held = self.budget.held.lock().unwrap_or_else(|p| p.into_inner());
        held.all -= self.bytes;
        if let Some(mine) = held.by_caller.get_mut(&self.caller) {
            *mine -= self.bytes;
            if *mine == 0 {
                held.by_caller.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bodys_parsed_cost_counts_its_values_not_its_strings() {
        assert_eq!(parsed_cost(b"[]"), 2 * PER_VALUE);
        // 1,001 values, counted at most twice over (a separator and an opening alike).
        let many = format!("[{}{{}}]", "{},".repeat(999));
        let cost = parsed_cost(many.as_bytes());
        assert!((1_001 * PER_VALUE..=2_002 * PER_VALUE).contains(&cost), "{cost}");
        let text = br#"[{"a": "x,y:[z{\"q,"}]"#;
        assert_eq!(parsed_cost(text), 4 * PER_VALUE);
    }

    #[test]
    fn the_biggest_batch_of_records_fits_one_callers_budget() {
        // 50,000 records (a batch's most) of 20 fields, as the official client sends them
        // (probe 67h D4: refused, alone).
        let fields: Vec<String> = (0..20)
            .map(|i| format!("\"field{i}\": {{\"value\": \"v{i}\"}}"))
            .collect();
        let record = format!("{{{}}}", fields.join(", "));
        let body = format!("[{}]", vec![record; 50_000].join(", "));
        assert!(body.len() + parsed_cost(body.as_bytes()) < MOST_HELD_EACH);
    }

    #[test]
    fn bodies_are_held_within_both_budgets_and_given_back() {
        let budget = Arc::new(BodyBudget::default());
        let req = |key: &str| {
            actix_web::test::TestRequest::default()
                .uri("/v1/sheets/x/records")
                .insert_header(("authorization", format!("Bearer {key}")))
                .insert_header(("cookie", format!("junk={}", key.len() * 7)))
                .to_http_request()
        };
        let mut one = budget.hold_for(&req("a"));
        one.grow(MOST_HELD_EACH).unwrap();
        // Other headers beside the same key make no other caller (probe 67e D4).
        let mut again = budget.hold_for(&req("a"));
        assert!(again.grow(1).is_err(), "the caller's budget is spent");
        let junk = actix_web::test::TestRequest::default()
            .uri("/v1/sheets/x/records")
            .insert_header(("authorization", "BEARER  a"))
            .insert_header(("cookie", "other=1"))
            .to_http_request();
        assert!(
            budget.hold_for(&junk).grow(1).is_err(),
            "the same key, however written"
        );
        let mut others: Vec<BodyHold> = Vec::new();
        // Other callers fill the rest of the process's budget.
        let mut left = MOST_HELD - MOST_HELD_EACH;
        for i in 0.. {
            let n = left.min(MOST_HELD_EACH);
            if n == 0 {
                break;
            }
            let mut h = budget.hold_for(&req(&format!("k{i}")));
            h.grow(n).unwrap();
            others.push(h);
            left -= n;
        }
        let mut late = budget.hold_for(&req("late"));
        assert!(late.grow(1).is_err(), "the process's budget is spent");
        drop(one);
        again.grow(MOST_HELD_EACH).unwrap();
        drop(again);
        drop(others);
        assert_eq!(budget.held.lock().unwrap().all, 0);
        assert!(budget.held.lock().unwrap().by_caller.is_empty());
    }

    /// One body past a caller's whole budget never fits: 413, where one that would fit
    /// alone waits for the caller's others: 503 (probe 68a D3).
    #[test]
    fn a_body_that_never_fits_is_too_large_not_crowded() {
        let budget = Arc::new(BodyBudget::default());
        let req = actix_web::test::TestRequest::default()
            .uri("/v1/sheets/x/records")
            .insert_header(("authorization", "Bearer a"))
            .to_http_request();
        let mut big = budget.hold_for(&req);
        big.grow(MOST_HELD_EACH / 2).unwrap();
        assert!(matches!(
            big.grow(MOST_HELD_EACH / 2 + 1),
            Err(AppError::PayloadTooLarge(_))
        ));
        let mut other = budget.hold_for(&req);
        assert!(matches!(
            other.grow(MOST_HELD_EACH / 2 + 1),
            Err(AppError::Crowded(_))
        ));
    }
}
