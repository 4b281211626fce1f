//! The proxy's connector to upstreams, with the SSRF rules of
//! [`store::outbound`] applied at connect time: a name is resolved
//! here and only allowed addresses are tried, a literal address is checked
//! before connecting, and the connected peer is checked once more (so a
//! name resolving to the control plane's own listen address is refused
//! too) before a byte of the request is sent.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioIo;
use store::outbound::{OutboundPolicy, UpstreamRefusal};
use tower::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

/// An upstream address the policy refuses.
#[derive(Debug, thiserror::Error)]
#[error("{}: refusing to connect to {address} ({refusal})", refusal.code())]
pub(crate) struct Refused {
    pub(crate) address: String,
    pub(crate) refusal: UpstreamRefusal,
}

/// DNS through the system resolver, keeping only addresses the policy
/// allows (the port is checked by [`GuardedConnector`]).
#[derive(Clone)]
pub(crate) struct GuardedResolver {
    policy: Arc<OutboundPolicy>,
}

impl Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = BoxFuture<Self::Response>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut first_refusal = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| match policy.check_ip(addr.ip()) {
                    Ok(()) => true,
                    Err(refusal) => {
                        first_refusal.get_or_insert(refusal);
                        false
                    }
                })
                .collect();
            match (allowed.is_empty(), first_refusal) {
                (true, Some(refusal)) => Err(Box::new(Refused {
                    address: host,
                    refusal,
                }) as BoxError),
                _ => Ok(allowed.into_iter()),
            }
        })
    }
}

/// An HTTP connector that refuses what the policy refuses.
#[derive(Clone)]
pub(crate) struct GuardedConnector {
    inner: HttpConnector<GuardedResolver>,
    policy: Arc<OutboundPolicy>,
}

impl GuardedConnector {
    pub(crate) fn new(policy: Arc<OutboundPolicy>) -> GuardedConnector {
        let mut inner = HttpConnector::new_with_resolver(GuardedResolver {
            policy: Arc::clone(&policy),
        });
        inner.enforce_http(false);
        inner.set_nodelay(true);
        inner.set_connect_timeout(Some(Duration::from_secs(5)));
        GuardedConnector { inner, policy }
    }
}

fn literal_address(uri: &Uri) -> Option<SocketAddr> {
    let host = uri.host()?;
    let ip: IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    Some(SocketAddr::new(ip, port))
}

impl Service<Uri> for GuardedConnector {
    type Response = TokioIo<tokio::net::TcpStream>;
    type Error = BoxError;
    type Future = BoxFuture<Self::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let policy = Arc::clone(&self.policy);
        if let Some(addr) = literal_address(&uri)
            && let Err(refusal) = policy.check(addr)
        {
            return Box::pin(async move {
                Err(Box::new(Refused {
                    address: addr.to_string(),
                    refusal,
                }) as BoxError)
            });
        }
        let connecting = self.inner.call(uri);
        Box::pin(async move {
            let io = connecting.await?;
            let peer = io.inner().peer_addr()?;
            if let Err(refusal) = policy.check(peer) {
                return Err(Box::new(Refused {
                    address: peer.to_string(),
                    refusal,
                }) as BoxError);
            }
            Ok(io)
        })
    }
}
