//! Keep-alive HTTP/1.1 connections to the upstream applications, each driven
//! inside the task that uses it — the request's handler until the answer's
//! head arrives, then the answer's body while it streams — rather than in a
//! task of its own as hyper-util's pooled client does. That saves two
//! wake-ups of another task per request (+2 to +9 % requests/s measured,
//! BENCHMARKS.md). WebSocket upgrades, which hand the connection over for
//! good, still go through hyper-util's client.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, Uri, header};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::rt::TokioIo;
use tower::ServiceExt;

type Io = MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;
type Sender = http1::SendRequest<Body>;
type Connection = http1::Connection<Io, Body>;

/// Idle connections kept per upstream; more are closed when returned.
const MAX_IDLE_PER_UPSTREAM: usize = 64;
/// An idle connection older than this is not reused (the upstream may have
/// closed it already).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub(super) enum UpstreamError {
    #[error("the address has no host")]
    NoHost,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error(transparent)]
    Http(#[from] hyper::Error),
}

/// Whether `error`, or anything that caused it, is the request body going
/// past its size limit (`http_body_util::Limited`).
pub(super) fn body_too_large(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// A connection with its driver, not in use.
struct Idle {
    sender: Sender,
    connection: Connection,
    since: Instant,
}

pub(super) struct Upstreams {
    connector: HttpsConnector<super::guard::GuardedConnector>,
    idle: Mutex<HashMap<String, Vec<Idle>>>,
}

/// A connection in use by one exchange; goes back to the pool when the
/// answer's body has been read to its end.
pub(super) struct InUse {
    pool: Arc<Upstreams>,
    key: String,
    sender: Sender,
    /// `None` once the connection has ended.
    connection: Option<Connection>,
}

impl InUse {
    /// Moves the connection's IO forward; records its end.
    pub(super) fn drive(&mut self, cx: &mut Context<'_>) {
        if let Some(connection) = &mut self.connection
            && Pin::new(connection).poll(cx).is_ready()
        {
            self.connection = None;
        }
    }

    /// The answer was read completely: the connection may serve another.
    pub(super) fn release(self) {
        if let Some(connection) = self.connection
            && !self.sender.is_closed()
        {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
            let list = idle.entry(self.key).or_default();
            if list.len() < MAX_IDLE_PER_UPSTREAM {
                list.push(Idle {
                    sender: self.sender,
                    connection,
                    since: Instant::now(),
                });
            }
        }
    }
}

impl Upstreams {
    pub(super) fn new(connector: HttpsConnector<super::guard::GuardedConnector>) -> Upstreams {
        Upstreams {
            connector,
            idle: Mutex::new(HashMap::new()),
        }
    }

    /// An idle connection to `key` that can take a request now.
    fn reuse(&self, key: &str) -> Option<(Sender, Connection)> {
        loop {
            let mut idle = {
                let mut pool = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                pool.get_mut(key)?.pop()?
            };
            if idle.since.elapsed() > IDLE_TIMEOUT {
                continue;
            }
            // One look at the connection (a close by the upstream shows
            // here), then whether it is ready for a request.
            let waker = std::task::Waker::noop();
            let mut cx = Context::from_waker(waker);
            if Pin::new(&mut idle.connection).poll(&mut cx).is_ready() {
                continue;
            }
            if let Poll::Ready(Ok(())) = idle.sender.poll_ready(&mut cx) {
                return Some((idle.sender, idle.connection));
            }
        }
    }

    async fn connect(&self, uri: &Uri) -> Result<(Sender, Connection), UpstreamError> {
        let io = self
            .connector
            .clone()
            .oneshot(uri.clone())
            .await
            .map_err(|error| UpstreamError::Connect(error.to_string()))?;
        Ok(http1::Builder::new().handshake(io).await?)
    }

    /// Sends `request` (absolute URI) and returns the answer's head with the
    /// connection that must be driven while its body is read.
    pub(super) async fn send(
        self: &Arc<Self>,
        mut request: Request<Body>,
    ) -> Result<(Response<Incoming>, InUse), UpstreamError> {
        let uri = request.uri().clone();
        let authority = uri.authority().ok_or(UpstreamError::NoHost)?.clone();
        let key = format!("{}://{authority}", uri.scheme_str().unwrap_or("http"));
        let path = uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        *request.uri_mut() = path
            .parse()
            .map_err(|_| UpstreamError::Connect("bad path".into()))?;
        if let Ok(host) = HeaderValue::from_str(authority.as_str()) {
            request.headers_mut().insert(header::HOST, host);
        }
        // A reused connection the upstream closed meanwhile gives the
        // request back unsent: then once more on a new connection.
        let (sender, connection) = match self.reuse(&key) {
            Some(reused) => reused,
            None => self.connect(&uri).await?,
        };
        let mut in_use = InUse {
            pool: Arc::clone(self),
            key,
            sender,
            connection: Some(connection),
        };
        match exchange(&mut in_use, request).await {
            Ok(response) => Ok((response, in_use)),
            Err(mut error) => match error.take_message() {
                Some(request) => {
                    let (sender, connection) = self.connect(&uri).await?;
                    in_use.sender = sender;
                    in_use.connection = Some(connection);
                    exchange(&mut in_use, request)
                        .await
                        .map(|response| (response, in_use))
                        .map_err(|error| error.into_error().into())
                }
                None => Err(error.into_error().into()),
            },
        }
    }
}

/// One request on `in_use`, driving its connection until the head arrives.
async fn exchange(
    in_use: &mut InUse,
    request: Request<Body>,
) -> Result<Response<Incoming>, hyper::client::conn::TrySendError<Request<Body>>> {
    let mut answer = std::pin::pin!(in_use.sender.try_send_request(request));
    poll_fn(|cx| {
        in_use.drive(cx);
        answer.as_mut().poll(cx)
    })
    .await
}
