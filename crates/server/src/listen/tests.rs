use super::*;

fn headers(forwarded: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in forwarded {
        headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
    }
    headers
}

fn proxies(nets: &[&str]) -> TrustedProxies {
    TrustedProxies(nets.iter().map(|net| net.parse().unwrap()).collect())
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let peer: SocketAddr = "198.51.100.7:4711".parse().unwrap();
    let forged = headers(&["203.0.113.9"]);
    // Nobody trusted: the peer, whatever the header says.
    assert_eq!(TrustedProxies::default().client(peer, &forged), peer);
    // Another peer than the trusted proxy: the peer.
    assert_eq!(proxies(&["10.0.0.0/8"]).client(peer, &forged), peer);
    // The trusted proxy: the client it names.
    let proxy: SocketAddr = "10.0.0.2:5000".parse().unwrap();
    assert_eq!(
        proxies(&["10.0.0.0/8"]).client(proxy, &forged).ip(),
        ip("203.0.113.9")
    );
    // No header from the proxy: the proxy.
    assert_eq!(proxies(&["10.0.0.0/8"]).client(proxy, &headers(&[])), proxy);
}

#[test]
fn the_last_untrusted_hop_is_the_client() {
    let trusted = proxies(&["10.0.0.0/8", "2001:db8::/32"]);
    let proxy: SocketAddr = "10.0.0.2:5000".parse().unwrap();
    // A client forging a first entry does not get it believed.
    let chain = headers(&["1.1.1.1, 203.0.113.9", "10.1.2.3"]);
    assert_eq!(trusted.client(proxy, &chain).ip(), ip("203.0.113.9"));
    // Ports and IPv6 in brackets.
    let chain = headers(&["[2001:db9::5]:1234, 10.9.9.9:80"]);
    assert_eq!(trusted.client(proxy, &chain).ip(), ip("2001:db9::5"));
    // Garbage stops the walk at the last good hop.
    let chain = headers(&["203.0.113.9, unknown"]);
    assert_eq!(trusted.client(proxy, &chain), proxy);
    // Every hop trusted: the first.
    let chain = headers(&["10.5.5.5, 10.6.6.6"]);
    assert_eq!(trusted.client(proxy, &chain).ip(), ip("10.5.5.5"));
    // An IPv4 peer seen as IPv4-mapped IPv6 is still the trusted proxy.
    let mapped: SocketAddr = "[::ffff:10.0.0.2]:5000".parse().unwrap();
    assert_eq!(
        trusted.client(mapped, &headers(&["203.0.113.9"])).ip(),
        ip("203.0.113.9")
    );
}

fn limits() -> ConnectionLimits {
    ConnectionLimits {
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        max_connections: 10,
    }
}

#[tokio::test(start_paused = true)]
async fn a_head_must_arrive_in_time_and_idle_connections_end() {
    let watch = Watch::new();
    let start = Instant::now();
    // A new connection must send its first head within the header timeout.
    assert!(
        matches!(watch.check(start, &limits()), Check::Until(at) if at == start + Duration::from_secs(10))
    );
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(matches!(
        watch.check(Instant::now(), &limits()),
        Check::Close
    ));

    // A request in progress is never cut; after it, the idle timeout runs.
    let watch = Arc::new(Watch::new());
    watch.read(b"GET / HTTP/1.1\r\n");
    let request = RequestGuard::new(watch.clone());
    tokio::time::advance(Duration::from_secs(120)).await;
    assert!(matches!(
        watch.check(Instant::now(), &limits()),
        Check::Until(_)
    ));
    drop(request);
    let answered = Instant::now();
    assert!(
        matches!(watch.check(answered, &limits()), Check::Until(at) if at == answered + Duration::from_secs(60))
    );
    // Half a head on the kept-alive connection: the header timeout.
    tokio::time::advance(Duration::from_secs(5)).await;
    watch.read(b"GET / HT");
    tokio::time::advance(Duration::from_secs(9)).await;
    assert!(matches!(
        watch.check(Instant::now(), &limits()),
        Check::Until(_)
    ));
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(matches!(
        watch.check(Instant::now(), &limits()),
        Check::Close
    ));

    // Nothing at all after a request: idle.
    let watch = Arc::new(Watch::new());
    drop(RequestGuard::new(watch.clone()));
    tokio::time::advance(Duration::from_secs(60)).await;
    assert!(matches!(
        watch.check(Instant::now(), &limits()),
        Check::Idle
    ));
}

#[tokio::test(start_paused = true)]
async fn http2_frames_between_requests_begin_no_head() {
    let watch = Arc::new(Watch::new());
    watch.read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    drop(RequestGuard::new(watch.clone()));
    // A ping later: no head is awaited, only the idle timeout runs.
    tokio::time::advance(Duration::from_secs(30)).await;
    watch.read(b"\x00\x00\x08\x06\x00");
    tokio::time::advance(Duration::from_secs(20)).await;
    assert!(matches!(
        watch.check(Instant::now(), &limits()),
        Check::Until(_)
    ));
    tokio::time::advance(Duration::from_secs(40)).await;
    assert!(matches!(
        watch.check(Instant::now(), &limits()),
        Check::Idle
    ));
}
