//! A small web application behind the access proxy, started by the tests:
//! a page with a WebSocket, header echo, upload counting, an endless stream
//! and a WebSocket echo.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;

pub struct Upstream {
    pub url: String,
    /// TCP connections accepted so far.
    pub connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const SCRIPT: &str = r#"
const status = document.getElementById('ws');
const socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
socket.onopen = () => { status.textContent = 'open'; socket.send('ping'); };
socket.onmessage = (event) => { status.textContent = 'open: ' + event.data; };
socket.onclose = () => { status.textContent = 'closed'; };
"#;

async fn page(headers: HeaderMap) -> Html<String> {
    let user = headers
        .get("x-homegate-user")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("nobody")
        .replace(['<', '>', '&'], "");
    Html(format!(
        "<!doctype html><html><head><title>Akten</title></head><body>\
         <h1 id=\"hello\">Hello {user}</h1><p id=\"ws\">connecting</p>\
         <script src=\"/app.js\"></script></body></html>"
    ))
}

async fn echo(uri: Uri, headers: HeaderMap) -> axum::Json<serde_json::Value> {
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    axum::Json(serde_json::json!({
        "path": uri.path(),
        "query": uri.query(),
        "headers": headers,
    }))
}

async fn upload(body: Body) -> axum::Json<serde_json::Value> {
    let mut bytes = 0usize;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => bytes += chunk.len(),
            Err(_) => break,
        }
    }
    axum::Json(serde_json::json!({ "bytes": bytes }))
}

/// A line every 100 ms, forever.
async fn endless() -> Response {
    let lines = futures::stream::unfold(0u64, |n| async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        Some((Ok::<_, std::io::Error>(format!("line {n}\n")), n + 1))
    });
    (
        [(header::CONTENT_TYPE, "text/plain")],
        Body::from_stream(lines),
    )
        .into_response()
}

async fn websocket(upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(|mut socket: WebSocket| async move {
        while let Some(Ok(message)) = socket.recv().await {
            let reply = match message {
                Message::Text(text) => Message::Text(format!("echo {text}").into()),
                Message::Close(_) => break,
                other => other,
            };
            if socket.send(reply).await.is_err() {
                break;
            }
        }
    })
}

pub async fn start() -> Upstream {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let own = url.clone();
    let app = Router::new()
        .route("/", get(page))
        .route(
            "/app.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], SCRIPT) }),
        )
        .route("/echo", get(echo))
        .route("/upload", post(upload))
        .route("/stream", get(endless))
        .route("/ws", get(websocket))
        .route(
            "/redirect",
            get(move || async move {
                (
                    axum::http::StatusCode::FOUND,
                    [(header::LOCATION, format!("{own}/echo?from=redirect"))],
                )
            }),
        );
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = connections.clone();
    let listener = axum::serve::ListenerExt::tap_io(listener, move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Upstream {
        url,
        connections,
        task,
    }
}
