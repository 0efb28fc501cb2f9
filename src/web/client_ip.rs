//! The client's address. Behind a reverse proxy every connection comes from the proxy, so the
//! address the proxy saw is read from `X-Forwarded-For` — but only when the connection comes
//! from a proxy named in `FORDRA_TRUSTED_PROXIES`; anyone else could write any address there.
//!
//! The header is read from the right: each trusted proxy appends the address it was connected
//! from, so the first address from the right that is not itself a trusted proxy is the client.
//! Login throttling, the rate limits, BankID's `endUserIp`, the audit and access logs and the
//! loopback-only `/metrics` all use this one address ([`current`]), worked out once per request
//! by [`middleware`].

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::Response,
};

/// The proxies whose `X-Forwarded-For` is believed: addresses or networks (`10.0.0.0/8`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses a comma-separated list such as `127.0.0.1, ::1, 10.1.0.0/16`.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (addr, bits) = match item.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (item, None),
            };
            let ip: IpAddr =
                addr.parse().map_err(|_| format!("{item:?} is not an IP address or network"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => max,
                Some(b) => b
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("{item:?} has a prefix length outside 0–{max}"))?,
            };
            nets.push((ip, bits));
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|&(net, bits)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), bits),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), bits),
            _ => false,
        })
    }

    /// The client behind a connection from `peer` carrying `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        // Several headers count as one list, in order.
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            // Garbage from the right stops the walk: the last trusted hop is the best we know.
            let Ok(ip) = hop.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

/// Works out the client's address for every request, before anything else reads it.
pub async fn middleware(
    State(trusted): State<std::sync::Arc<TrustedProxies>>,
    req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    let client = trusted.client(peer, req.headers());
    CLIENT_IP.scope(client, next.run(req)).await
}

tokio::task_local! {
    /// The client address of the request being served, for everything inside it down to the
    /// logs written deep in a service, as the request id is.
    static CLIENT_IP: IpAddr;
}

/// The client address of the request this task serves; `None` in the engine and the CLI.
pub fn current() -> Option<IpAddr> {
    CLIENT_IP.try_with(|ip| *ip).ok()
}

/// [`current`] as text, `"unknown"` outside a request.
pub fn text() -> String {
    current().map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("127.0.0.1"), &headers(&["203.0.113.9"])), ip("127.0.0.1"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_a_spoofed_left_part_is_ignored() {
        let t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // nginx appended the address it saw; the client wrote its own (false) one to the left.
        let h = headers(&["1.2.3.4, 203.0.113.9"]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("203.0.113.9"));
        // Two proxies: a load balancer in 10/8 then nginx.
        let h = headers(&["1.2.3.4, 203.0.113.9, 10.1.2.3"]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("203.0.113.9"));
        // Split over two headers.
        let h = headers(&["1.2.3.4", "203.0.113.9"]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("203.0.113.9"));
        // Not from a trusted proxy: the header is the client's own claim.
        assert_eq!(t.client(ip("198.51.100.7"), &h), ip("198.51.100.7"));
        // No header, or only proxies in it: the nearest address there is.
        assert_eq!(t.client(ip("127.0.0.1"), &HeaderMap::new()), ip("127.0.0.1"));
        assert_eq!(t.client(ip("127.0.0.1"), &headers(&["10.0.0.5"])), ip("10.0.0.5"));
        // Garbage stops the walk at the last trusted hop.
        let h = headers(&["203.0.113.9, evil, 10.0.0.5"]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("10.0.0.5"));
        // An IPv4-mapped IPv6 peer is the IPv4 address.
        assert_eq!(t.client(ip("::ffff:127.0.0.1"), &headers(&["2001:db8::1"])), ip("2001:db8::1"));
    }

    #[test]
    fn networks_match_on_their_prefix() {
        let t = TrustedProxies::parse("192.168.4.0/22, 2001:db8::/32, ::1").unwrap();
        assert!(t.contains(ip("192.168.7.255")));
        assert!(!t.contains(ip("192.168.8.0")));
        assert!(t.contains(ip("2001:db8:ffff::1")));
        assert!(!t.contains(ip("2001:db9::1")));
        assert!(t.contains(ip("::1")));
        assert!(!t.contains(ip("127.0.0.1")));
        assert!(TrustedProxies::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        for bad in ["localhost", "10.0.0.0/33", "::/129", "10.0.0.0/x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }
}
