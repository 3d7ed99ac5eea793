//! How the delivery worker shares its places in flight. A receiver that stalls holds a
//! place for the whole timeout, so places go by what each webhook has shown: one that
//! answered quickly last gets [`PER_HOOK`]; one not heard from yet in this process gets
//! [`UNPROVEN`] (a burst of new webhooks to stalled receivers held every place: probe 66a
//! D2); a slow one gets one, and slow ones together at most [`SLOW_ROOM`]. An environment's
//! webhooks together hold at most [`ENV_ROOM`], and the last [`RESERVED`] places are kept
//! for environments with next to nothing in flight, so no environment's receivers keep
//! another's deliveries waiting, whatever they do.

use crate::ids::{EnvironmentId, WebhookId};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Deliveries in flight at once, side by side.
pub(super) const IN_FLIGHT: usize = 128;
/// Of those, at most this many to one webhook that answers quickly.
const PER_HOOK: usize = 8;
/// To a webhook whose first answer in this process has not come yet.
const UNPROVEN: usize = 2;
/// A webhook whose last try took this long is slow: one delivery at a time until it
/// answers quickly again.
const SLOW: Duration = Duration::from_secs(5);
/// Places slow webhooks may hold together (probe 63d D3: a hundred stalled receivers of
/// one environment held every place).
const SLOW_ROOM: usize = IN_FLIGHT / 2;
/// Places one environment's webhooks may hold together.
pub(super) const ENV_ROOM: usize = IN_FLIGHT / 2;
/// The last places are kept for environments with fewer than [`LIGHT`] deliveries in
/// flight: several environments' stalled receivers filling every other place (two at half
/// each: probe 66g D5) still leave a place at once for another environment's delivery.
pub(super) const RESERVED: usize = 16;
/// See [`RESERVED`].
pub(super) const LIGHT: usize = 2;

/// What is in flight, and what each webhook has shown.
#[derive(Default)]
pub(super) struct Places {
    per_hook: HashMap<WebhookId, usize>,
    per_env: HashMap<EnvironmentId, usize>,
    env_of: HashMap<WebhookId, EnvironmentId>,
    slow: HashSet<WebhookId>,
    fast: HashSet<WebhookId>,
}

impl Places {
    pub fn claimed(&mut self, hook: &WebhookId, env: &EnvironmentId) {
        *self.per_hook.entry(hook.clone()).or_default() += 1;
        *self.per_env.entry(env.clone()).or_default() += 1;
        self.env_of.insert(hook.clone(), env.clone());
    }

    /// A try of `hook` ended after `took`.
    pub fn finished(&mut self, hook: &WebhookId, took: Duration) {
        if took >= SLOW {
            self.slow.insert(hook.clone());
            self.fast.remove(hook);
        } else {
            self.slow.remove(hook);
            self.fast.insert(hook.clone());
        }
        if let Some(n) = self.per_hook.get_mut(hook) {
            *n -= 1;
            if *n == 0 {
                self.per_hook.remove(hook);
            }
        }
        if let Some(env) = self.env_of.get(hook) {
            if let Some(n) = self.per_env.get_mut(env) {
                *n -= 1;
                if *n == 0 {
                    self.per_env.remove(env);
                }
            }
            if !self.per_hook.contains_key(hook) {
                self.env_of.remove(hook);
            }
        }
    }

    /// What a claim may take now (owned: the claim runs on another thread).
    pub fn snapshot(&self) -> Snapshot {
        let slow_flying: usize = self
            .per_hook
            .iter()
            .filter(|(hook, _)| self.slow.contains(*hook))
            .map(|(_, n)| n)
            .sum();
        Snapshot {
            flying: self.per_hook.clone(),
            env_flying: self.per_env.clone(),
            slow: self.slow.clone(),
            fast: self.fast.clone(),
            slow_cap: usize::from(slow_flying < SLOW_ROOM),
        }
    }
}

pub(super) struct Snapshot {
    pub flying: HashMap<WebhookId, usize>,
    pub env_flying: HashMap<EnvironmentId, usize>,
    slow: HashSet<WebhookId>,
    fast: HashSet<WebhookId>,
    /// One while slow webhooks hold less than their room together, else none.
    slow_cap: usize,
}

impl Snapshot {
    /// How many of `hook`'s deliveries may be in flight.
    pub fn cap(&self, hook: &WebhookId) -> usize {
        if self.slow.contains(hook) {
            self.slow_cap
        } else if self.fast.contains(hook) {
            PER_HOOK
        } else {
            UNPROVEN
        }
    }

    /// Webhooks at their cap, to leave out of the read (their backlog would hide the
    /// others' deliveries); slow ones too once their room is full.
    pub fn full(&self) -> HashMap<WebhookId, usize> {
        let mut flying = self.flying.clone();
        if self.slow_cap == 0 {
            for hook in &self.slow {
                flying.entry(hook.clone()).or_insert(0);
            }
        }
        flying
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_earns_its_places_and_loses_them_when_slow() {
        let (hook, env) = (WebhookId::generate(), EnvironmentId::generate());
        let mut places = Places::default();
        assert_eq!(places.snapshot().cap(&hook), UNPROVEN);
        places.claimed(&hook, &env);
        assert_eq!(places.snapshot().env_flying[&env], 1);
        places.finished(&hook, Duration::from_millis(20));
        assert_eq!(places.snapshot().cap(&hook), PER_HOOK);
        assert!(places.snapshot().env_flying.is_empty());
        places.claimed(&hook, &env);
        places.finished(&hook, SLOW);
        assert_eq!(places.snapshot().cap(&hook), 1);
        assert!(places.snapshot().flying.is_empty());
    }
}
