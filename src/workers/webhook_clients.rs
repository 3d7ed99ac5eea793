//! HTTP clients for webhook and Submit deliveries, and the addresses a URL may reach.

use super::webhook_address;
use super::webhooks::{CONNECT_TIMEOUT, MAX_CLIENTS, TIMEOUT};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// HTTP clients by destination (host name and the addresses checked for it): building one
/// costs more than a delivery, and a kept one keeps its connections open. A client reaches
/// only the addresses of its key, so the check at each delivery still decides.
#[derive(Default)]
pub(super) struct Clients(Mutex<HashMap<Destination, reqwest::Client>>);

/// A URL's host name (none for an address) and the addresses allowed for it.
type Destination = (Option<String>, Vec<SocketAddr>);

impl Clients {
    pub(super) fn get(&self, url: &reqwest::Url, addrs: &[SocketAddr]) -> reqwest::Result<reqwest::Client> {
        let name = match url.host() {
            Some(url::Host::Domain(name)) => Some(name.to_string()),
            _ => None,
        };
        let key = (name, addrs.to_vec());
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = kept.get(&key) {
            return Ok(c.clone());
        }
        let mut client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            // A connection not made is told apart from a request not answered: only the
            // latter may have reached a handler (probe 53a 7).
            .connect_timeout(CONNECT_TIMEOUT)
            // Node closes an idle connection after 5 s: one kept longer may be closed as it
            // is reused, a try lost (probe 62d D5).
            .pool_idle_timeout(Duration::from_secs(4))
            .no_proxy();
        if let Some(name) = &key.0 {
            // Connect only to the addresses just checked: a second lookup could answer others.
            client = client.resolve_to_addrs(name, addrs);
        }
        let client = client.build()?;
        if kept.len() >= MAX_CLIENTS {
            kept.clear();
        }
        kept.insert(key, client.clone());
        Ok(client)
    }
}

/// The addresses to connect to: the URL's host resolved, keeping those the rules allow; an
/// error naming the host and why when none is.
pub(crate) async fn checked_addresses(
    url: &reqwest::Url,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, String> {
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(ip.into(), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(ip.into(), port)],
        Some(url::Host::Domain(name)) => tokio::net::lookup_host((name, port))
            .await
            .map_err(|e| format!("`{name}` could not be resolved: {e}"))?
            .collect(),
        None => return Err("the URL has no host".into()),
    };
    let mut why = None;
    let mut allowed = Vec::new();
    for a in addrs {
        match webhook_address::refusal(a.ip(), allow_private) {
            None => allowed.push(a),
            Some(reason) => why = why.or(Some((a.ip(), reason))),
        }
    }
    if !allowed.is_empty() {
        return Ok(allowed);
    }
    let host = url.host_str().unwrap_or_default();
    Err(match why {
        Some((ip, reason)) => {
            let hint = if reason == "loopback or private" {
                " (WHARF_WEBHOOK_PRIVATE=allow lets a server's operator allow those)"
            } else {
                ""
            };
            format!("refused: `{host}` is {ip}, a {reason} address{hint}")
        }
        None => format!("`{host}` resolves to no address"),
    })
}
