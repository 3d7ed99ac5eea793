//! Who is asking, behind a reverse proxy: with `WHARF_TRUSTED_PROXIES` set, a request from
//! one of those addresses is taken to come from the address its `X-Forwarded-For` names,
//! read from the right past the trusted proxies (each proxy appends the address it got the
//! request from; what is left of them a client may have written itself). Without it every
//! request comes from its connection's address: behind a proxy, one address for everyone,
//! whose sign-in limits a stranger could fill for all (probe 63b N1).

use ipnet::IpNet;
use std::net::IpAddr;

/// `10.0.0.5, 192.168.0.0/16, ::1` as networks (an address alone is a network of one).
pub fn parse_trusted(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .map(|t| {
            t.parse::<IpNet>()
                .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{t}` is not an IP address or network such as 10.0.0.5 or 10.0.0.0/8"))
        })
        .collect()
}

/// The address a request comes from: its connection's `peer`, or, when that is a trusted
/// proxy, the last address of `forwarded_for` that is not one (the first when all are).
/// A header that does not read as addresses says nothing: the proxy is the address then.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(chain) = forwarded_for else { return peer };
    let hops: Option<Vec<IpAddr>> = chain.split(',').map(|h| h.trim().parse().ok()).collect();
    let Some(hops) = hops.filter(|h| !h.is_empty()) else {
        return peer;
    };
    hops.iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(hops.first())
        .copied()
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(t: &str) -> IpAddr {
        t.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_proxy_is_looked_through() {
        let trusted = parse_trusted("127.0.0.1, 10.0.0.0/8").unwrap();
        // A stranger's own header is not believed.
        assert_eq!(
            client_ip(ip("203.0.113.9"), Some("198.51.100.1"), &trusted),
            ip("203.0.113.9")
        );
        // Through the proxy: the address it got the request from.
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("198.51.100.1"), &trusted),
            ip("198.51.100.1")
        );
        // A client's forged first hop is passed over: the last untrusted one counts.
        let chain = "1.2.3.4, 198.51.100.1, 10.1.2.3";
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some(chain), &trusted),
            ip("198.51.100.1")
        );
        // All trusted: the first; no header or a malformed one: the proxy itself.
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("10.0.0.7"), &trusted),
            ip("10.0.0.7")
        );
        assert_eq!(client_ip(ip("127.0.0.1"), None, &trusted), ip("127.0.0.1"));
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("1.2.3.4, junk"), &trusted),
            ip("127.0.0.1")
        );
        // Nothing trusted: the connection's address always.
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("198.51.100.1"), &[]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn trusted_proxies_read_as_addresses_and_networks() {
        let nets = parse_trusted("::1,192.168.0.0/16").unwrap();
        assert!(nets[0].contains(&ip("::1")) && nets[1].contains(&ip("192.168.4.5")));
        let bad = parse_trusted("10.0.0.1, proxy.local").unwrap_err();
        assert!(bad.contains("proxy.local"), "{bad}");
    }
}
