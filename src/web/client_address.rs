//! Who is asking, behind a reverse proxy: with `WHARF_TRUSTED_PROXIES` set, a request from
//! one of those addresses is taken to come from the address its `X-Forwarded-For` names,
//! read from the right past the trusted proxies (each proxy appends the address it got the
//! request from; what is left of them a client may have written itself). Without it every
//! request comes from its connection's address: behind a proxy, one address for everyone,
//! whose sign-in limits a stranger could fill for all (probe 63b N1).

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// `10.0.0.5, 192.168.0.0/16, ::1` as networks (an address alone is a network of one).
/// An IPv4 network written as IPv6 (`::ffff:10.0.0.0/104`, as a dual-stack server shows
/// an IPv4 proxy) is read as the IPv4 one, as addresses are matched (probe 65d D8).
pub fn parse_trusted(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .map(|t| {
            t.parse::<IpNet>()
                .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
                .map(canonical)
                .map_err(|_| format!("`{t}` is not an IP address or network such as 10.0.0.5 or 10.0.0.0/8"))
        })
        .collect()
}

fn canonical(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4),
            None => net,
        },
        _ => net,
    }
}

/// Every `X-Forwarded-For` line, in order, as one list: a proxy such as HAProxy adds its
/// own line after the client's, and reading the first line alone believed the client
/// (probe 65c D2). A line that is not text is a hop that reads as no address.
pub fn forwarded_for(headers: &actix_web::http::header::HeaderMap) -> Option<String> {
    let lines: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .map(|v| v.to_str().unwrap_or("?"))
        .collect();
    (!lines.is_empty()).then(|| lines.join(","))
}

/// The address a request comes from: its connection's `peer`, or, when that is a trusted
/// proxy, the hop of `forwarded_for` the nearest untrusted one, walking from the right
/// (the first when all are trusted). A hop that reads as no address stops the walk at the
/// trusted one after it: what is left of it came through no proxy Wharf knows.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    // A dual-stack listener sees an IPv4 proxy as ::ffff:a.b.c.d (probe 65c D3).
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(chain) = forwarded_for else { return peer };
    let mut nearest = peer;
    for hop in chain.rsplit(',').map(str::trim) {
        match hop_address(hop) {
            Some(ip) if !is_trusted(&ip) => return ip,
            Some(ip) => nearest = ip,
            None => {
                static SAID: std::sync::Once = std::sync::Once::new();
                SAID.call_once(|| {
                    tracing::warn!(
                        hop,
                        "a trusted proxy forwarded an X-Forwarded-For hop that is no address"
                    )
                });
                return nearest;
            }
        }
    }
    nearest
}

/// A hop as proxies write it: `1.2.3.4`, `1.2.3.4:5000`, `2001:db8::1`, `[2001:db8::1]`
/// or `[2001:db8::1]:5000`.
fn hop_address(hop: &str) -> Option<IpAddr> {
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok())?;
    Some(ip.to_canonical())
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
        // Junk left of the nearest untrusted hop is the client's own, and changes nothing.
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("junk, 198.51.100.10"), &trusted),
            ip("198.51.100.10")
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("junk, 10.0.0.7"), &trusted),
            ip("10.0.0.7")
        );
        // Nothing trusted: the connection's address always.
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("198.51.100.1"), &[]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn hops_with_ports_and_mapped_addresses_are_read() {
        let trusted = parse_trusted("127.0.0.2, 10.0.0.0/8").unwrap();
        // A dual-stack listener's view of an IPv4 proxy (probe 65c D3).
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.2"), Some("198.51.100.7"), &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(ip("::ffff:203.0.113.1"), Some("198.51.100.7"), &trusted),
            ip("203.0.113.1")
        );
        for (hop, is) in [
            ("198.51.100.11:5000", "198.51.100.11"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("::ffff:198.51.100.3", "198.51.100.3"),
        ] {
            assert_eq!(client_ip(ip("127.0.0.2"), Some(hop), &trusted), ip(is), "{hop}");
        }
        // A proxy's mapped address in the chain is still a trusted proxy.
        assert_eq!(
            client_ip(ip("127.0.0.2"), Some("198.51.100.4, ::ffff:10.0.0.7"), &trusted),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn every_forwarded_line_is_read_in_order() {
        use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
        let mut headers = HeaderMap::new();
        let name = HeaderName::from_static("x-forwarded-for");
        // The client's own line first, then the proxy's (HAProxy): probe 65c D2.
        headers.append(name.clone(), HeaderValue::from_static("192.0.2.5"));
        headers.append(name, HeaderValue::from_static("198.51.100.9"));
        let chain = forwarded_for(&headers).unwrap();
        let trusted = parse_trusted("127.0.0.2").unwrap();
        assert_eq!(
            client_ip(ip("127.0.0.2"), Some(&chain), &trusted),
            ip("198.51.100.9")
        );
        assert_eq!(forwarded_for(&HeaderMap::new()), None);
    }

    #[test]
    fn trusted_proxies_read_as_addresses_and_networks() {
        let nets = parse_trusted("::1,192.168.0.0/16").unwrap();
        assert!(nets[0].contains(&ip("::1")) && nets[1].contains(&ip("192.168.4.5")));
        // Written as a dual-stack server shows IPv4 (probe 65d D8).
        let mapped = parse_trusted("::ffff:127.0.0.2, ::ffff:10.0.0.0/104").unwrap();
        assert_eq!(
            client_ip(ip("127.0.0.2"), Some("198.51.100.1"), &mapped),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_ip(ip("10.9.8.7"), Some("198.51.100.1"), &mapped),
            ip("198.51.100.1")
        );
        let bad = parse_trusted("10.0.0.1, proxy.local").unwrap_err();
        assert!(bad.contains("proxy.local"), "{bad}");
    }
}
