//! Who the client is: its address, whether it came over HTTPS, and the host
//! it asked for. Behind a reverse proxy the TCP peer is the proxy, so the
//! `X-Forwarded-*` headers say who the client is; but anyone can send those,
//! so they count only when the peer is a proxy berth was told to trust
//! (`--trusted-proxies`). [`ClientInfo::from_request`] is the one place that
//! decides.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName};

use crate::error::AppError;
use crate::AppState;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// One IP address or a CIDR range of them: `10.0.0.1`, `10.0.0.0/8`,
/// `fd00::/8`. IPv4-mapped IPv6 ranges are kept as the IPv4 range they map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    /// The first address of the range: no bits set past `prefix`.
    network: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in the range. An IPv4-mapped IPv6 address
    /// (`::ffff:10.0.0.1`, what a dual-stack listener reports) counts as the
    /// IPv4 address it maps.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                (u32::from(net) ^ u32::from(ip)) & v4_mask(self.prefix) == 0
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                (u128::from(net) ^ u128::from(ip)) & v6_mask(self.prefix) == 0
            }
            _ => false,
        }
    }
}

fn v4_mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn v6_mask(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for IpNet {
    type Err = String;

    /// A bare address is a range of one. Host bits past the prefix are an
    /// error rather than silently cleared: `10.0.0.1/8` trusts sixteen
    /// million addresses, which is rarely what was meant.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bad = |why: &str| format!("`{s}` is not an IP address or CIDR range: {why}");
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| bad("expected e.g. 10.0.0.1, 10.0.0.0/8 or fd00::/8"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| bad(&format!("the prefix length must be 0 to {max}")))?,
            Some(_) => return Err(bad("the prefix length must be a number")),
        };
        let (network, prefix) = match addr {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), prefix - 96),
                None => (addr, prefix),
            },
            _ => (addr, prefix),
        };
        let masked = match network {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & v4_mask(prefix))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & v6_mask(prefix))),
        };
        if masked != network {
            return Err(bad(&format!(
                "it has bits set past the prefix; the range is {masked}/{prefix}"
            )));
        }
        Ok(IpNet { network, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The reverse proxies whose `X-Forwarded-*` headers berth believes
/// (`--trusted-proxies`): a comma-separated list of addresses and ranges.
/// Blank entries are skipped, so an empty list (an empty environment
/// variable too) trusts nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        TrustedProxies(nets)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .filter(|entry| !entry.trim().is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, net) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            write!(f, "{net}")?;
        }
        Ok(())
    }
}

/// The client's view of a request, as far as berth can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's address (IPv4-mapped addresses as IPv4); `None` when
    /// the TCP peer is not known.
    pub address: Option<IpAddr>,
    /// The client reached berth over HTTPS: a trusted proxy said so. berth
    /// itself serves plain HTTP.
    pub https: bool,
    /// The host (and port) the client asked for: a trusted proxy's
    /// `X-Forwarded-Host`, else `Host`.
    pub host: Option<String>,
}

impl ClientInfo {
    /// Derives the client's view from the TCP `peer` and the headers. Unless
    /// the peer is in `trusted_proxies`, every `X-Forwarded-*` header is
    /// ignored and the client is the peer itself.
    pub fn from_request(
        peer: Option<IpAddr>,
        headers: &HeaderMap,
        trusted_proxies: &TrustedProxies,
    ) -> ClientInfo {
        let peer = peer.map(|ip| ip.to_canonical());
        let direct = ClientInfo {
            address: peer,
            https: false,
            host: header_str(headers, &header::HOST).map(str::to_string),
        };
        let Some(peer) = peer.filter(|ip| trusted_proxies.contains(*ip)) else {
            return direct;
        };
        ClientInfo {
            address: Some(forwarded_client(peer, headers, trusted_proxies)),
            https: first_value(headers, &X_FORWARDED_PROTO)
                .is_some_and(|proto| proto.eq_ignore_ascii_case("https")),
            host: first_value(headers, &X_FORWARDED_HOST)
                .map(str::to_string)
                .or(direct.host),
        }
    }
}

/// The client behind a chain of trusted proxies. Each proxy appends the
/// address it was connected from to `X-Forwarded-For`, so walking the list
/// from the right, past the addresses of trusted proxies, the first address
/// that is not one is the client: everything left of it came from the client
/// and may be made up. When every hop is trusted the left-most is the client;
/// an entry that is not an address ends the walk at the last hop known good.
fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &TrustedProxies) -> IpAddr {
    let hops: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        if !trusted_proxies.contains(client) {
            break;
        }
        match parse_hop(hop) {
            Some(ip) => client = ip,
            None => break,
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, or (as some proxies write it)
/// an address with a port, `203.0.113.7:51234` or `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<std::net::SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

fn header_str<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The first of a header's comma-separated values: what the outermost proxy
/// saw when several of them appended to it.
fn first_value<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h str> {
    header_str(headers, name)
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Handlers take the [`ClientInfo`] the policy middleware worked out for the
/// request, or work it out themselves when it did not run.
impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(client) = parts.extensions.get::<ClientInfo>() {
            return Ok(client.clone());
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(ClientInfo::from_request(
            peer,
            &parts.headers,
            &state.config.trusted_proxies,
        ))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn addresses_and_ranges_parse() {
        assert_eq!(net("127.0.0.1").to_string(), "127.0.0.1/32");
        assert_eq!(net(" 10.0.0.0/8 ").to_string(), "10.0.0.0/8");
        assert_eq!(net("fd00::/8").to_string(), "fd00::/8");
        assert_eq!(net("::1").to_string(), "::1/128");
        assert_eq!(net("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(net("::/0").to_string(), "::/0");
        // A mapped range is the IPv4 range it maps.
        assert_eq!(net("::ffff:10.0.0.0/104").to_string(), "10.0.0.0/8");
    }

    #[test]
    fn bad_entries_are_refused_by_name() {
        for bad in [
            "",
            "localhost",
            "10.0.0.0/",
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "10.0.0/8",
            "256.0.0.1",
            "10.0.0.0/-1",
        ] {
            let e = bad.parse::<IpNet>().expect_err(bad);
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
        let e = "10.0.0.1/8".parse::<IpNet>().expect_err("host bits");
        assert!(e.contains("10.0.0.0/8"), "{e}");
        let e = "fd00::1/8".parse::<IpNet>().expect_err("host bits");
        assert!(e.contains("fd00::/8"), "{e}");
    }

    #[test]
    fn a_list_skips_blanks_and_names_its_bad_entry() {
        let list: TrustedProxies = "127.0.0.1, 10.0.0.0/8,,fd00::/8,".parse().expect("a list");
        assert_eq!(list.to_string(), "127.0.0.1/32,10.0.0.0/8,fd00::/8");
        assert!(list.contains(ip("10.1.2.3")) && list.contains(ip("fd00::1")));
        assert!(!list.contains(ip("192.0.2.1")));
        for empty in ["", " ", ","] {
            let none: TrustedProxies = empty.parse().expect("empty");
            assert!(none.is_empty());
            assert!(!none.contains(ip("127.0.0.1")));
        }
        let e = "127.0.0.1,10.0.0.0/33"
            .parse::<TrustedProxies>()
            .expect_err("bad");
        assert!(e.starts_with("`10.0.0.0/33`"), "{e}");
    }

    #[test]
    fn ranges_contain_what_they_should() {
        let lan = net("10.0.0.0/8");
        assert!(lan.contains(ip("10.0.0.0")));
        assert!(lan.contains(ip("10.255.255.255")));
        assert!(!lan.contains(ip("11.0.0.0")));
        assert!(!lan.contains(ip("9.255.255.255")));
        assert!(lan.contains(ip("::ffff:10.1.2.3")), "a mapped address");
        assert!(
            !lan.contains(ip("::a01:203")),
            "not mapped: another address"
        );

        let one = net("192.0.2.7");
        assert!(one.contains(ip("192.0.2.7")));
        assert!(!one.contains(ip("192.0.2.8")));

        let ula = net("fd00::/8");
        assert!(ula.contains(ip("fd12:3456::1")));
        assert!(!ula.contains(ip("fe80::1")));
        assert!(!ula.contains(ip("10.0.0.1")));

        let odd = net("172.16.0.0/12");
        assert!(odd.contains(ip("172.31.255.255")));
        assert!(!odd.contains(ip("172.32.0.0")));

        assert!(net("0.0.0.0/0").contains(ip("203.0.113.1")));
        assert!(!net("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(net("::/0").contains(ip("2001:db8::1")));
        assert!(net("::1").contains(ip("::1")));
        assert!(!net("::1").contains(ip("127.0.0.1")));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn client(peer: &str, pairs: &[(&'static str, &'static str)], trust: &[&str]) -> ClientInfo {
        let trust = TrustedProxies::new(trust.iter().map(|s| net(s)).collect());
        ClientInfo::from_request(Some(ip(peer)), &headers(pairs), &trust)
    }

    const FORWARDED: [(&str, &str); 4] = [
        ("host", "127.0.0.1:8080"),
        ("x-forwarded-for", "1.2.3.4"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "berth.example"),
    ];

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let c = client("203.0.113.9", &FORWARDED, &["10.0.0.0/8"]);
        assert_eq!(
            c,
            ClientInfo {
                address: Some(ip("203.0.113.9")),
                https: false,
                host: Some("127.0.0.1:8080".into()),
            }
        );
        // Nothing trusted: the default.
        assert_eq!(
            client("127.0.0.1", &FORWARDED, &[]).address,
            Some(ip("127.0.0.1"))
        );
        let everyone = TrustedProxies::new(vec![net("0.0.0.0/0")]);
        let unknown = ClientInfo::from_request(None, &headers(&FORWARDED), &everyone);
        assert_eq!(unknown.address, None);
        assert!(!unknown.https);
    }

    #[test]
    fn a_trusted_proxy_speaks_for_the_client() {
        let c = client("10.0.0.2", &FORWARDED, &["10.0.0.0/8"]);
        assert_eq!(
            c,
            ClientInfo {
                address: Some(ip("1.2.3.4")),
                https: true,
                host: Some("berth.example".into()),
            }
        );
        // A mapped peer address is trusted like its IPv4 one.
        let mapped = client("::ffff:10.0.0.2", &FORWARDED, &["10.0.0.0/8"]);
        assert_eq!(mapped.address, Some(ip("1.2.3.4")));
        // A proxy that forwards nothing: the proxy is the client, Host the host.
        let bare = client("10.0.0.2", &[("host", "berth.lan")], &["10.0.0.0/8"]);
        assert_eq!(bare.address, Some(ip("10.0.0.2")));
        assert_eq!(bare.host.as_deref(), Some("berth.lan"));
        assert!(!bare.https);
    }

    #[test]
    fn the_walk_stops_at_the_first_untrusted_hop_from_the_right() {
        let trust = ["10.0.0.0/8", "fd00::/8"];
        let walk = |xff: &'static str| {
            client("10.0.0.1", &[("x-forwarded-for", xff)], &trust)
                .address
                .map(|a| a.to_string())
        };
        // Forged entries to the left of the real client are skipped.
        assert_eq!(walk("6.6.6.6, 1.2.3.4").as_deref(), Some("1.2.3.4"));
        // Trusted proxies in the chain are walked past.
        assert_eq!(
            walk("1.2.3.4, 10.0.0.7, fd00::3").as_deref(),
            Some("1.2.3.4")
        );
        // A forged trusted address left of the client changes nothing.
        assert_eq!(
            walk("10.9.9.9, 1.2.3.4, 10.0.0.7").as_deref(),
            Some("1.2.3.4")
        );
        // Every hop trusted: the left-most one is the client.
        assert_eq!(walk("10.1.1.1, 10.0.0.7").as_deref(), Some("10.1.1.1"));
        // Ports and brackets, as some proxies write them.
        assert_eq!(walk("203.0.113.7:51234").as_deref(), Some("203.0.113.7"));
        assert_eq!(walk("[2001:db8::1]:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(walk("::ffff:1.2.3.4").as_deref(), Some("1.2.3.4"));
        // Garbage ends the walk at the last good hop, never beyond it.
        assert_eq!(walk("1.2.3.4, unknown").as_deref(), Some("10.0.0.1"));
        assert_eq!(walk("1.2.3.4, 10.0.0.7, ").as_deref(), Some("10.0.0.1"));
        assert_eq!(walk("unknown, 10.0.0.7").as_deref(), Some("10.0.0.7"));
        assert_eq!(walk("").as_deref(), Some("10.0.0.1"));
    }

    #[test]
    fn repeated_forwarded_for_headers_are_one_list() {
        let c = client(
            "10.0.0.1",
            &[
                ("x-forwarded-for", "6.6.6.6, 1.2.3.4"),
                ("x-forwarded-for", "10.0.0.5"),
            ],
            &["10.0.0.0/8"],
        );
        assert_eq!(c.address, Some(ip("1.2.3.4")));
    }

    #[test]
    fn proto_and_host_take_the_outermost_proxy_s_value() {
        let c = client(
            "127.0.0.1",
            &[
                ("host", "127.0.0.1:8080"),
                ("x-forwarded-proto", "HTTPS, http"),
                ("x-forwarded-host", "berth.example:8443, internal:80"),
            ],
            &["127.0.0.1"],
        );
        assert!(c.https);
        assert_eq!(c.host.as_deref(), Some("berth.example:8443"));
        let plain = client(
            "127.0.0.1",
            &[("x-forwarded-proto", "http")],
            &["127.0.0.1"],
        );
        assert!(!plain.https);
    }
}
