//! The client at the other end of a connection, as the handlers report it:
//! the listener learns the peer address when it accepts the connection and
//! hands a [`Client`] to every request of that connection.

use std::net::{IpAddr, SocketAddr};

/// The client of one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    host: String,
}

impl Client {
    /// The client connected from `peer`.
    pub fn from_peer(peer: SocketAddr) -> Self {
        Self {
            host: client_host(peer.ip()),
        }
    }

    /// The client's host as Kafka reports it (JoinGroup records it for
    /// DescribeGroups): Java's `InetAddress.toString()` of an address that
    /// was never resolved to a name, "/" and the address, "/127.0.0.1".
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// "/" and the address in Java's text form: IPv4 dotted, IPv6 as eight
/// hexadecimal groups without `::` compression ("/0:0:0:0:0:0:0:1"). An
/// IPv4-mapped IPv6 address (a dual-stack listener) is the IPv4 address, as
/// Java reports it.
fn client_host(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("/{v4}"),
        IpAddr::V6(v6) => {
            let groups: Vec<String> = v6.segments().iter().map(|g| format!("{g:x}")).collect();
            format!("/{}", groups.join(":"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(peer: &str) -> String {
        Client::from_peer(peer.parse().unwrap()).host().to_string()
    }

    #[test]
    fn hosts_read_as_java_prints_an_unresolved_address() {
        assert_eq!(host("127.0.0.1:50123"), "/127.0.0.1");
        assert_eq!(host("10.1.2.3:9092"), "/10.1.2.3");
        assert_eq!(host("[::1]:50123"), "/0:0:0:0:0:0:0:1");
        assert_eq!(
            host("[2001:db8::ff00:42:8329]:1"),
            "/2001:db8:0:0:0:ff00:42:8329"
        );
        // A dual-stack listener sees IPv4 clients as mapped addresses.
        assert_eq!(host("[::ffff:192.0.2.7]:1"), "/192.0.2.7");
    }
}
