//! The transport between two in-process brokers on loopback: calls both ways
//! share one connection, an unreachable peer fails fast and is reached once it
//! comes up, and malformed or oversized frames close only their connection.

use std::sync::Arc;
use std::time::Duration;

use cairn_raft::frame::{Frame, FrameKind, HELLO_MAGIC};
use cairn_raft::{HandlerFuture, RpcError, RpcHandler, Transport, TransportConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Answers `service ‖ group ‖ body` so the caller sees what arrived.
struct Echo(u64);

impl RpcHandler for Echo {
    fn handle(&self, from: u64, service: u8, group: u64, body: Vec<u8>) -> HandlerFuture {
        let me = self.0;
        Box::pin(async move {
            if service == 99 {
                return Err(format!("broker {me} refuses service 99"));
            }
            Ok(format!(
                "{me}<-{from}:{service}:{group}:{}",
                String::from_utf8_lossy(&body)
            )
            .into_bytes())
        })
    }
}

async fn node(id: u64, max_frame_bytes: u32) -> (Transport, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let config = TransportConfig {
        max_frame_bytes,
        ..TransportConfig::default()
    };
    let transport = Transport::new(id, config);
    transport.set_handler(Arc::new(Echo(id)));
    let serving = transport.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    (transport, addr)
}

const T: Duration = Duration::from_secs(5);

#[tokio::test]
async fn calls_both_ways_share_one_connection() {
    let (a, a_addr) = node(1, 1 << 20).await;
    let (b, b_addr) = node(2, 1 << 20).await;
    a.set_address(2, &b_addr);
    b.set_address(1, &a_addr);
    let reply = a.call(2, 7, 42, b"hi".to_vec(), T).await.unwrap();
    assert_eq!(reply, b"2<-1:7:42:hi");
    // B answers over the connection A opened instead of dialing its own.
    let reply = b.call(1, 8, 0, b"yo".to_vec(), T).await.unwrap();
    assert_eq!(reply, b"1<-2:8:0:yo");
    assert_eq!((a.open_connections(), b.open_connections()), (1, 1));
    // Many concurrent calls of many groups multiplex on it.
    let calls = (0..200u64).map(|g| {
        let a = a.clone();
        async move { a.call(2, 1, g, g.to_string().into_bytes(), T).await }
    });
    let replies = futures::future::join_all(calls).await;
    for (g, reply) in replies.into_iter().enumerate() {
        assert_eq!(reply.unwrap(), format!("2<-1:1:{g}:{g}").into_bytes());
    }
    assert_eq!((a.open_connections(), b.open_connections()), (1, 1));
    // A handler error comes back as a remote error.
    match a.call(2, 99, 0, vec![], T).await {
        Err(RpcError::Remote { peer: 2, message }) => {
            assert!(message.contains("refuses service 99"))
        }
        other => panic!("expected a remote error, got {other:?}"),
    }
}

#[tokio::test]
async fn unreachable_peer_fails_fast_then_connects_when_up() {
    let (a, _) = node(1, 1 << 20).await;
    // Reserve a port, then free it: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    a.set_address(3, &format!("127.0.0.1:{port}"));
    assert!(matches!(
        a.call(3, 1, 0, vec![], T).await,
        Err(RpcError::Unreachable { peer: 3, .. })
    ));
    assert!(
        matches!(
            a.call(5, 1, 0, vec![], T).await,
            Err(RpcError::Unreachable { peer: 5, .. })
        ),
        "no address"
    );
    // Peer 3 comes up on that port; after the backoff the call goes through.
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let c = Transport::new(3, TransportConfig::default());
    c.set_handler(Arc::new(Echo(3)));
    let serving = c.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    let mut reply = None;
    for _ in 0..100 {
        if let Ok(r) = a.call(3, 1, 0, b"x".to_vec(), T).await {
            reply = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reply.as_deref(), Some(&b"3<-1:1:0:x"[..]));
}

async fn hello(stream: &mut TcpStream, id: u64) {
    let mut out = Vec::new();
    Frame {
        kind: FrameKind::Hello,
        id,
        service: 0,
        group: 0,
        body: HELLO_MAGIC.to_vec(),
    }
    .encode(&mut out);
    stream.write_all(&out).await.unwrap();
}

/// Reads until the peer closes; true if it did within the timeout.
async fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(T, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn bad_frames_close_only_their_connection() {
    let (b, b_addr) = node(2, 4096).await;
    let (a, _) = node(1, 4096).await;
    a.set_address(2, &b_addr);
    a.call(2, 1, 0, b"before".to_vec(), T).await.unwrap();

    // Oversized length prefix after a valid hello.
    let mut s = TcpStream::connect(&b_addr).await.unwrap();
    hello(&mut s, 9).await;
    s.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    assert!(
        closed_by_peer(&mut s).await,
        "oversized frame must close the connection"
    );

    // A length shorter than the header.
    let mut s = TcpStream::connect(&b_addr).await.unwrap();
    hello(&mut s, 9).await;
    s.write_all(&[0, 0, 0, 2, 1, 1]).await.unwrap();
    assert!(
        closed_by_peer(&mut s).await,
        "short frame must close the connection"
    );

    // An unknown frame kind.
    let mut s = TcpStream::connect(&b_addr).await.unwrap();
    hello(&mut s, 9).await;
    let mut out = Vec::new();
    Frame {
        kind: FrameKind::Request,
        id: 1,
        service: 1,
        group: 0,
        body: vec![],
    }
    .encode(&mut out);
    out[4] = 77;
    s.write_all(&out).await.unwrap();
    assert!(
        closed_by_peer(&mut s).await,
        "unknown kind must close the connection"
    );

    // Not a cairn hello at all (an HTTP client on the wrong port).
    let mut s = TcpStream::connect(&b_addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(
        closed_by_peer(&mut s).await,
        "garbage must close the connection"
    );

    // The good connection still works.
    assert_eq!(
        a.call(2, 1, 0, b"after".to_vec(), T).await.unwrap(),
        b"2<-1:1:0:after"
    );
    drop(b);
}

#[tokio::test]
async fn only_a_peer_once_reached_is_reported_gone_when_its_connects_are_refused() {
    let (a, _) = node(1, 1 << 20).await;
    let mut gone = a.subscribe_gone();
    // Nothing listens at broker 3's address and A never reached it (it is
    // still starting, say): refused, but not gone.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nowhere = closed.local_addr().unwrap().to_string();
    drop(closed);
    a.set_address(3, &nowhere);
    assert!(a.call(3, 7, 0, vec![], T).await.is_err());
    assert!(
        gone.try_recv().is_err(),
        "a never-reached peer was reported gone"
    );
    // Broker 2 answered once, then its process stops: its connection closes,
    // A dials again at once, is refused, and reports 2 gone.
    let (b, b_addr) = node(2, 1 << 20).await;
    a.set_address(2, &b_addr);
    a.call(2, 7, 0, b"hi".to_vec(), T).await.unwrap();
    b.shutdown();
    drop(b);
    let peer = tokio::time::timeout(T, gone.recv())
        .await
        .expect("broker 2 reported gone in time")
        .unwrap();
    assert_eq!(peer, 2);
}
