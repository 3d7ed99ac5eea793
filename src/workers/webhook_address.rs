//! Which addresses a webhook may reach. Link-local and cloud metadata addresses (where a
//! cloud machine's credentials are served) are refused always; loopback and private ones
//! unless `WHARF_WEBHOOK_PRIVATE=allow`. The check runs on resolved addresses at every
//! delivery, and the delivery connects to the address checked (no second lookup).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused, in words for the delivery log; `None` when it may be used.
pub fn refusal(ip: IpAddr, allow_private: bool) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4, allow_private),
        IpAddr::V6(v6) => {
            // An IPv4 address in IPv6 clothing (`::ffff:a.b.c.d`, `::ffff:0:a.b.c.d`,
            // NAT64) is judged as IPv4.
            if let Some(v4) = v6
                .to_ipv4_mapped()
                .or_else(|| translated(v6))
                .or_else(|| nat64(v6))
                .or_else(|| six_to_four(v6))
            {
                return refusal_v4(v4, allow_private);
            }
            refusal_v6(v6, allow_private)
        }
    }
}

fn refusal_v4(ip: Ipv4Addr, allow_private: bool) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_link_local() || ip == Ipv4Addr::new(100, 100, 100, 200) {
        return Some("link-local or cloud metadata");
    }
    // Documentation and benchmarking ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
    // 198.18.0.0/15) and 192.0.0.0/24 are no receiver's; a test network may route them
    // to a machine of its own (probe 69a D6).
    let reserved = matches!(o, [192, 0, 2 | 0, _] | [198, 51, 100, _] | [203, 0, 113, _])
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19));
    if o[0] == 0 || ip.is_multicast() || ip.is_broadcast() || o[0] >= 240 || reserved {
        return Some("unspecified, multicast or reserved");
    }
    let private = ip.is_loopback()
        || ip.is_private()
        // Carrier-grade NAT space, private in practice.
        || (o[0] == 100 && (64..128).contains(&o[1]));
    (private && !allow_private).then_some("loopback or private")
}

fn refusal_v6(ip: Ipv6Addr, allow_private: bool) -> Option<&'static str> {
    let first = ip.segments()[0];
    // fe80::/10 link-local; AWS's metadata service at fd00:ec2::254.
    if (first & 0xffc0) == 0xfe80 || ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Some("link-local or cloud metadata");
    }
    // `::a.b.c.d` (IPv4-compatible, deprecated) and 64:ff9b:1::/48 (local-use NAT64, its
    // IPv4 placed by the local translator's prefix length) are nothing a receiver uses; a
    // network that routes them would reach an IPv4 address unjudged.
    let v4_compatible = ip.segments()[..6] == [0; 6] && !ip.is_loopback();
    let local_nat64 = ip.segments()[..3] == [0x64, 0xff9b, 1];
    // Teredo (2001::/32) carries an IPv4 address through a relay, hidden by an XOR.
    let teredo = ip.segments()[..2] == [0x2001, 0];
    // 2001:db8::/32 and 3fff::/20 are for documentation, 2001:2::/48 for benchmarking.
    let s = ip.segments();
    let documentation =
        s[..2] == [0x2001, 0xdb8] || (s[0] == 0x3fff && s[1] < 0x1000) || s[..3] == [0x2001, 2, 0];
    if ip.is_unspecified() || ip.is_multicast() || v4_compatible || local_nat64 || teredo || documentation {
        return Some("unspecified, multicast or reserved");
    }
    // fc00::/7 unique local addresses are this network's private ones.
    let private = ip.is_loopback() || (first & 0xfe00) == 0xfc00;
    (private && !allow_private).then_some("loopback or private")
}

/// The IPv4 address in the last 32 bits of `ip`.
fn last_32(ip: Ipv6Addr) -> Ipv4Addr {
    let s = ip.segments();
    let [a, b] = s[6].to_be_bytes();
    let [c, d] = s[7].to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// The IPv4 address inside a NAT64 address (64:ff9b::/96).
fn nat64(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    (ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0]).then(|| last_32(ip))
}

/// The IPv4 address of a 6to4 address (2002:a.b.c.d::/48), which a relay reaches.
fn six_to_four(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    (s[0] == 0x2002).then(|| {
        let ([a, b], [c, d]) = (s[1].to_be_bytes(), s[2].to_be_bytes());
        Ipv4Addr::new(a, b, c, d)
    })
}

/// The IPv4 address inside an IPv4-translated address (`::ffff:0:a.b.c.d`, SIIT).
fn translated(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    (ip.segments()[..6] == [0, 0, 0, 0, 0xffff, 0]).then(|| last_32(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str, allow_private: bool) -> bool {
        refusal(text.parse().unwrap(), allow_private).is_some()
    }

    #[test]
    fn metadata_and_link_local_are_always_refused() {
        for ip in [
            "169.254.169.254",
            "100.100.100.200",
            "fe80::1",
            "fd00:ec2::254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "ff02::1",
            "::169.254.169.254",
            "::a9fe:a9fe",
            "::127.0.0.1",
            "::ffff:0:a9fe:a9fe",
            "64:ff9b:1::a9fe:a9fe",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            // 6to4 and Teredo (probe 56a F5).
            "2002:a9fe:a9fe::",
            "2002:a9fe:a9fe:1::5",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert!(refused(ip, true), "{ip}");
        }
    }

    #[test]
    fn private_addresses_only_when_allowed() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "::1",
            "fd12::1",
            "::ffff:127.0.0.1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
        ] {
            assert!(refused(ip, false), "{ip}");
            assert!(!refused(ip, true), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1::1",
            "172.32.0.1",
            "2002:5db8:d822::1",
        ] {
            assert!(!refused(ip, false), "{ip}");
        }
    }

    /// Documentation and benchmarking ranges are refused even where private ones are
    /// allowed; the public addresses beside them are not (probe 69a D6).
    #[test]
    fn documentation_and_benchmarking_ranges_are_refused() {
        for text in [
            "192.0.2.2",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.1",
            "192.0.0.8",
            "2001:db8::1",
        ] {
            assert!(refused(text, true), "{text}");
        }
        for text in [
            "192.0.3.1",
            "198.20.0.1",
            "203.0.114.1",
            "8.8.8.8",
            "2001:db9::1",
            "3ff0::1",
            "3fff:1000::1",
            "2001:2:1::1",
        ] {
            assert!(!refused(text, false), "{text}");
        }
    }
}
