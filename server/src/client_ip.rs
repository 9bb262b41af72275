//! Which address a request came from, behind reverse proxies.
//!
//! A proxy adds the address it received the request from to a header
//! (`X-Forwarded-For`): nginx appends it to the header's last line,
//! HAProxy's `option forwardfor` adds a line of its own. Anything to the
//! left of what our own proxies wrote came from the client and may be
//! invented. So the chain is read right to left: every line of the header
//! in order, then the socket's peer, and the client is the first address
//! that is not one of our proxies — counted (`TABLECARD_TRUSTED_PROXIES=1`)
//! or named by network (`TABLECARD_TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1`).

use std::net::IpAddr;

use ipnet::IpNet;

/// The proxies in front of the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustedProxies {
    /// This many proxies, one behind the other, each adding one address.
    Count(usize),
    /// Any proxy whose address is in one of these networks; a request whose
    /// peer is outside them did not come through a proxy, and its header is
    /// ignored.
    Networks(Vec<IpNet>),
}

impl Default for TrustedProxies {
    /// One proxy: the usual nginx or HAProxy in front of the portal.
    fn default() -> Self {
        TrustedProxies::Count(1)
    }
}

impl TrustedProxies {
    /// `2`, or `10.0.0.0/8, 192.168.1.5, ::1` (a bare address is a network
    /// of one). Returns what could not be read on failure.
    pub fn parse(input: &str) -> Result<TrustedProxies, String> {
        let input = input.trim();
        if let Ok(n) = input.parse::<usize>() {
            return match n {
                1..=10 => Ok(TrustedProxies::Count(n)),
                _ => Err(input.to_owned()),
            };
        }
        let networks = input
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| s.to_owned())
            })
            .collect::<Result<Vec<_>, _>>()?;
        if networks.is_empty() {
            return Err(input.to_owned());
        }
        Ok(TrustedProxies::Networks(networks))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        match self {
            TrustedProxies::Count(_) => false,
            TrustedProxies::Networks(nets) => nets.iter().any(|n| n.contains(&ip)),
        }
    }
}

/// One entry of a forwarding header: an address, perhaps with a port
/// (`203.0.113.9:52100`, `[2001:db8::1]:443`); None for `unknown` or junk.
fn entry(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    s.rsplit_once(':')
        .and_then(|(host, _port)| host.parse::<std::net::Ipv4Addr>().ok())
        .map(IpAddr::V4)
}

/// The client's address from every line of the forwarding header (in the
/// order received) and the socket's peer. Without the header, the peer.
/// An entry that cannot be read where the client should be gives the
/// nearest proxy's address instead: such requests then share one limit
/// rather than escape it.
pub fn client_address<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    peer: Option<IpAddr>,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let mut chain: Vec<Option<IpAddr>> = lines
        .into_iter()
        .flat_map(|line| line.split(','))
        .filter(|s| !s.trim().is_empty())
        .map(entry)
        .collect();
    if chain.is_empty() {
        return peer;
    }
    let Some(peer) = peer else {
        // No socket (tests, or a transport without one): the header alone,
        // counted from its right.
        return from_right(&chain, trusted, None);
    };
    if let TrustedProxies::Networks(_) = trusted {
        if !trusted.trusts(peer) {
            return Some(peer);
        }
    }
    chain.push(Some(peer));
    from_right(&chain, trusted, Some(peer))
}

fn from_right(
    chain: &[Option<IpAddr>],
    trusted: &TrustedProxies,
    peer: Option<IpAddr>,
) -> Option<IpAddr> {
    // The nearest readable address so far: what an unreadable entry falls
    // back to.
    let mut nearest = peer;
    let hops = match trusted {
        // The peer is the first proxy; without one, the header's last entry
        // is the one the nearest proxy wrote.
        TrustedProxies::Count(n) => Some(if peer.is_some() { *n } else { n - 1 }),
        TrustedProxies::Networks(_) => None,
    };
    for (i, ip) in chain.iter().rev().enumerate() {
        let Some(ip) = *ip else {
            return nearest;
        };
        let is_proxy = match hops {
            Some(n) => i < n,
            None => trusted.trusts(ip),
        };
        if !is_proxy {
            return Some(ip);
        }
        nearest = Some(ip);
    }
    // Every address was a proxy's: the farthest one is as near the client
    // as we can tell.
    nearest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const PROXY: &str = "10.0.0.2";

    #[test]
    fn a_client_cannot_choose_its_address_behind_nginx() {
        // nginx's $proxy_add_x_forwarded_for appends to the client's line.
        let one = TrustedProxies::Count(1);
        let got = client_address(["6.6.6.6, 203.0.113.9"], Some(ip(PROXY)), &one);
        assert_eq!(got, Some(ip("203.0.113.9")));
        let honest = client_address(["203.0.113.9"], Some(ip(PROXY)), &one);
        assert_eq!(honest, Some(ip("203.0.113.9")));
    }

    #[test]
    fn a_client_cannot_choose_its_address_behind_haproxy() {
        // HAProxy's `option forwardfor` adds its own line after the
        // client's forged one; reading only the first line gave 6.6.6.6.
        let one = TrustedProxies::Count(1);
        let got = client_address(["6.6.6.6", "203.0.113.9"], Some(ip(PROXY)), &one);
        assert_eq!(got, Some(ip("203.0.113.9")));
        let forged_list =
            client_address(["1.1.1.1, 6.6.6.6", "203.0.113.9"], Some(ip(PROXY)), &one);
        assert_eq!(forged_list, Some(ip("203.0.113.9")));
    }

    #[test]
    fn two_proxies_are_counted_or_named() {
        // A CDN in front of nginx: the CDN wrote the client, nginx the CDN.
        let lines = ["6.6.6.6, 203.0.113.9, 198.51.100.7"];
        let two = TrustedProxies::Count(2);
        assert_eq!(
            client_address(lines, Some(ip(PROXY)), &two),
            Some(ip("203.0.113.9"))
        );
        let named = TrustedProxies::parse("10.0.0.0/8, 198.51.100.0/24").unwrap();
        assert_eq!(
            client_address(lines, Some(ip(PROXY)), &named),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn a_peer_outside_the_named_proxies_is_the_client() {
        // Someone reaching the portal past the proxy sends the header too.
        let named = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let got = client_address(["203.0.113.9"], Some(ip("6.6.6.6")), &named);
        assert_eq!(got, Some(ip("6.6.6.6")));
    }

    #[test]
    fn without_the_header_the_peer_is_the_client() {
        let one = TrustedProxies::Count(1);
        assert_eq!(client_address([], Some(ip(PROXY)), &one), Some(ip(PROXY)));
        assert_eq!(
            client_address([" "], Some(ip(PROXY)), &one),
            Some(ip(PROXY))
        );
    }

    #[test]
    fn ports_and_junk() {
        let one = TrustedProxies::Count(1);
        let v4 = client_address(["203.0.113.9:52100"], Some(ip(PROXY)), &one);
        assert_eq!(v4, Some(ip("203.0.113.9")));
        let v6 = client_address(["[2001:db8::1]:443"], Some(ip(PROXY)), &one);
        assert_eq!(v6, Some(ip("2001:db8::1")));
        // Junk where the client should be: the proxy's address, so all such
        // requests share one limit.
        let junk = client_address(["6.6.6.6, unknown"], Some(ip(PROXY)), &one);
        assert_eq!(junk, Some(ip(PROXY)));
        // More proxies named than the chain holds: its far end.
        let three = TrustedProxies::Count(3);
        assert_eq!(
            client_address(["203.0.113.9"], Some(ip(PROXY)), &three),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn the_setting_reads_a_count_or_networks() {
        assert_eq!(TrustedProxies::parse(" 2 "), Ok(TrustedProxies::Count(2)));
        assert!(TrustedProxies::parse("0").is_err());
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
        let named = TrustedProxies::parse("127.0.0.1,::1").unwrap();
        assert!(named.trusts(ip("127.0.0.1")) && named.trusts(ip("::1")));
        assert!(!named.trusts(ip("127.0.0.2")));
    }
}
