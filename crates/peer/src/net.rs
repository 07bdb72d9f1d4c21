//! Where a peer connection binds and which servers it asks for a relay.

/// Network settings of a peer connection.
#[derive(Debug, Clone)]
pub struct NetConfig {
    pub ice_servers: Vec<nx::rest::IceServer>,
    /// `iceTransportPolicy: relay`.
    pub relay_only: bool,
    /// Local UDP addresses to bind (`127.0.0.1:0` on loopback tests, `0.0.0.0:0` otherwise).
    pub udp_addrs: Vec<String>,
}

impl NetConfig {
    /// Resolving browsers' `.local` candidates needs a multicast socket, which a loopback-only
    /// set-up, or a host with no multicast route (offline, or a bare network namespace), cannot
    /// open; webrtc would then fail the whole call, so such set-ups skip mDNS.
    pub(crate) fn mdns(&self) -> bool {
        let loopback_only = self.udp_addrs.iter().all(|a| {
            a.parse::<std::net::SocketAddr>()
                .is_ok_and(|s| s.ip().is_loopback())
        });
        !loopback_only && multicast_available()
    }
}

/// Whether this host can join the mDNS group (probed once per process).
fn multicast_available() -> bool {
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OK.get_or_init(|| {
        let ok = std::net::UdpSocket::bind("0.0.0.0:0")
            .and_then(|s| {
                s.join_multicast_v4(
                    &std::net::Ipv4Addr::new(224, 0, 0, 251),
                    &std::net::Ipv4Addr::UNSPECIFIED,
                )
            })
            .is_ok();
        if !ok {
            tracing::info!("no multicast route: mDNS candidates will not be resolved");
        }
        ok
    })
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            relay_only: false,
            udp_addrs: vec!["0.0.0.0:0".into()],
        }
    }
}
