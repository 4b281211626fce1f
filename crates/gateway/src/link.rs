//! The gateway's end of the control stream: connects (trying each control
//! plane URL in turn, with backoff), and passes messages both ways.

use std::time::Duration;

use api_types::gateway::{FromGateway, Reassembly, ToGateway};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use url::Url;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const PING_EVERY: Duration = Duration::from_secs(2);
/// The control plane pings every 2 s: this long without a word means it (or
/// the path to it) is gone, and the next control plane URL is tried.
const SILENCE_LIMIT: Duration = Duration::from_secs(6);
const MAX_BACKOFF: Duration = Duration::from_secs(4);
/// The largest message taken from the control plane. In stream version 2
/// (which this gateway announces) no message carries more than
/// `PEERS_PER_MESSAGE` peers, about 300 KB, whatever the size of the region;
/// 16 MiB leaves room for the tenants and rules of a configuration's first
/// message, and bounds what a misbehaving peer can make us buffer.
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

#[derive(Debug)]
pub enum LinkEvent {
    /// Connected; send [`FromGateway::Hello`] through `outbox` first.
    Connected {
        outbox: mpsc::UnboundedSender<FromGateway>,
        url: String,
    },
    Message(ToGateway),
    Disconnected {
        reason: String,
    },
}

/// The stream URL of a control plane given by its base URL.
pub fn stream_url(base: &Url) -> anyhow::Result<Url> {
    let mut url = base.join("api/v1/gateway/stream")?;
    let scheme = match base.scheme() {
        "https" => "wss",
        _ => "ws",
    };
    url.set_scheme(scheme)
        .map_err(|()| anyhow::anyhow!("cannot use {base} as a control plane URL"))?;
    Ok(url)
}

/// Runs forever: keeps one connection to some control plane up.
pub async fn run(urls: Vec<Url>, token: String, events: mpsc::Sender<LinkEvent>) {
    let mut backoff = Duration::from_millis(250);
    let mut next = 0usize;
    loop {
        let base = &urls[next % urls.len()];
        next += 1;
        match connect_and_serve(base, &token, &events).await {
            Ok(reason) => {
                backoff = Duration::from_millis(250);
                if events
                    .send(LinkEvent::Disconnected { reason })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(error) => {
                tracing::warn!(control_plane = %base, error = %format!("{error:#}"), "cannot reach the control plane");
            }
        }
        let jitter = Duration::from_millis(rand::random_range(0..250));
        tokio::time::sleep(backoff + jitter).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection: returns why it ended after it was up, or the error that
/// kept it from coming up.
async fn connect_and_serve(
    base: &Url,
    token: &str,
    events: &mpsc::Sender<LinkEvent>,
) -> anyhow::Result<String> {
    let url = stream_url(base)?;
    let mut request = url.as_str().into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let limits = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let (socket, _) = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(request, Some(limits), false),
    )
    .await
    .map_err(|_| anyhow::anyhow!("no answer within {CONNECT_TIMEOUT:?}"))??;
    let (mut sink, mut stream) = socket.split();
    let (outbox, mut outgoing) = mpsc::unbounded_channel::<FromGateway>();
    events
        .send(LinkEvent::Connected {
            outbox,
            url: base.to_string(),
        })
        .await?;
    tracing::info!(control_plane = %base, "connected to the control plane");

    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_heard = tokio::time::Instant::now();
    // A configuration or delta in parts reaches the engine whole.
    let mut reassembly = Reassembly::default();
    loop {
        tokio::select! {
            message = stream.next() => {
                last_heard = tokio::time::Instant::now();
                match message {
                    None => return Ok("closed by the control plane".into()),
                    Some(Err(error)) => return Ok(format!("read failed: {error}")),
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<ToGateway>(&text) {
                        Ok(message) => match reassembly.push(message) {
                            Ok(Some(message)) => events.send(LinkEvent::Message(message)).await?,
                            Ok(None) => {}
                            Err(error) => return Ok(format!("inconsistent stream: {error}")),
                        },
                        Err(error) => return Ok(format!("unreadable message: {error}")),
                    },
                    Some(Ok(Message::Close(_))) => return Ok("closed by the control plane".into()),
                    Some(Ok(_)) => {}
                }
            }
            message = outgoing.recv() => {
                let Some(message) = message else {
                    return Ok("engine stopped".into());
                };
                let text = serde_json::to_string(&message)?;
                if let Err(error) = sink.send(Message::Text(text.into())).await {
                    return Ok(format!("write failed: {error}"));
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > SILENCE_LIMIT {
                    return Ok(format!("no word for {SILENCE_LIMIT:?}"));
                }
                if let Err(error) = sink.send(Message::Ping(Vec::new().into())).await {
                    return Ok(format!("ping failed: {error}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls() {
        let http = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            stream_url(&http).unwrap().as_str(),
            "ws://127.0.0.1:8080/api/v1/gateway/stream"
        );
        let https = Url::parse("https://cp.example/homegate/").unwrap();
        assert_eq!(
            stream_url(&https).unwrap().as_str(),
            "wss://cp.example/homegate/api/v1/gateway/stream"
        );
    }
}
