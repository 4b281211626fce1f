//! Test fixtures: a control plane on 127.0.0.1:0 with its own database.

use api_types::Role;
use api_types::auth::{ChangePassword, LoginRequest};
use api_types::tenancy::{CreateTenant, CreateUser, Tenant};
use client::Client;
use sqlx::Connection;
use store::Store;
use tokio::sync::oneshot;

pub const ADMIN_PASSWORD: &str = "test-admin-password-1";
pub const USER_PASSWORD: &str = "test-user-password-1";

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named async test function once per database backend.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let server = $crate::support::TestServer::start(
                        $crate::support::Backend::Sqlite,
                    )
                    .await;
                    super::$name(&server).await;
                    server.stop().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let server = $crate::support::TestServer::start(
                        $crate::support::Backend::Postgres,
                    )
                    .await;
                    super::$name(&server).await;
                    server.stop().await;
                }
            }
        )*
    };
}

/// A database that exists for one test only.
pub enum TestDb {
    /// Kept for its `Drop`, which deletes the folder.
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl TestDb {
    pub async fn create(backend: Backend) -> (TestDb, String) {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                (TestDb::Sqlite { _dir: dir }, url)
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("hg_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is needed for this test ({admin_url}): {e}. Start it or set \
                         HOMEGATE_TEST_POSTGRES."
                    )
                });
                sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                let url = replace_database(&admin_url, &name);
                (TestDb::Postgres { admin_url, name }, url)
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let admin_url = admin_url.clone();
            let name = name.clone();
            // Drop runs inside the test's runtime; use a thread with its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = sqlx::Executor::execute(
                            &mut conn,
                            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                        )
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

pub fn postgres_admin_url() -> String {
    std::env::var("HOMEGATE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let prefix = match base.rfind('/') {
        Some(slash) if slash > "postgres://".len() => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{prefix}/{database}?{query}"),
        None => format!("{prefix}/{database}"),
    }
}

pub struct TestServer {
    pub url: String,
    pub store: Store,
    pub state: server::AppState,
    /// Logged in as the bootstrap provider admin (password already replaced).
    pub admin: Client,
    serving: Vec<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
    root_addr: std::net::SocketAddr,
    netns_listen: Option<(String, std::net::SocketAddr)>,
    public_url: Option<String>,
    /// The control plane's data folder (stick batches made in the console).
    pub data_dir: tempfile::TempDir,
    /// The bootstrap admin's one-time password (only for `start_fresh`).
    pub bootstrap_password: String,
    settings_hook: SettingsHook,
    /// The database URL, for other processes sharing it (replicas).
    pub database_url: String,
    _db: TestDb,
}

/// Changes a test makes to the server's settings, kept across restarts.
pub type SettingsHook = std::sync::Arc<dyn Fn(&mut server::Settings) + Send + Sync>;

fn no_change() -> SettingsHook {
    std::sync::Arc::new(|_| {})
}

fn new_state(
    store: &Store,
    addr: std::net::SocketAddr,
    public_url: Option<&str>,
    data_dir: &std::path::Path,
    configure: &SettingsHook,
) -> server::AppState {
    // "localhost" rather than the IP: WebAuthn relying parties need a name.
    let url = public_url.map_or_else(
        || format!("http://localhost:{}", addr.port()),
        str::to_owned,
    );
    let mut settings = server::Settings::new(&url);
    settings.data_dir = Some(data_dir.to_owned());
    // Tests look at the page right after changing what it shows.
    settings.status_page_cache = std::time::Duration::ZERO;
    configure(&mut settings);
    server::AppState::new(store.clone(), settings)
}

/// The store as `homegate serve` opens it: secrets sealed with the key in
/// its data folder (`secrets.key`, which replicas started beside it copy).
pub async fn open_store(url: &str, data_dir: &std::path::Path) -> Store {
    let key = store::sealing::SecretsKey::read_or_create(&data_dir.join(store::sealing::KEY_FILE))
        .unwrap();
    Store::open(url)
        .await
        .unwrap()
        .use_secrets_key(key)
        .await
        .unwrap()
}

fn serve(
    listener: tokio::net::TcpListener,
    state: server::AppState,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let bound = server::Server::from_listener(listener, state);
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        bound
            .run(async {
                let _ = shutdown_rx.await;
            })
            .await
            .unwrap();
    });
    (shutdown_tx, task)
}

impl TestServer {
    /// A server whose bootstrap admin has not logged in yet.
    pub async fn start_fresh(backend: Backend) -> TestServer {
        logging::test("warn");
        let (db, url) = TestDb::create(backend).await;
        let url_of_db = url.clone();
        let data_dir = tempfile::tempdir().unwrap();
        let store = open_store(&url, data_dir.path()).await;
        let (_, password) = store.bootstrap_admin().await.unwrap().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = new_state(&store, addr, None, data_dir.path(), &no_change());
        let serving = vec![serve(listener, state.clone())];
        let url = format!("http://{addr}");
        // A token for checks from the test, made without touching the admin.
        let admin = Client::new(&url, None).unwrap();
        TestServer {
            url,
            store,
            state,
            admin,
            serving,
            root_addr: addr,
            netns_listen: None,
            public_url: None,
            data_dir,
            bootstrap_password: password,
            settings_hook: no_change(),
            database_url: url_of_db.clone(),
            _db: db,
        }
    }

    pub async fn start(backend: Backend) -> TestServer {
        logging::test("warn");
        let (db, url) = TestDb::create(backend).await;
        let url_of_db = url.clone();
        let data_dir = tempfile::tempdir().unwrap();
        let store = open_store(&url, data_dir.path()).await;
        let (username, password) = store.bootstrap_admin().await.unwrap().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = new_state(&store, addr, None, data_dir.path(), &no_change());
        let serving = vec![serve(listener, state.clone())];
        let url = format!("http://{addr}");
        let anonymous = Client::new(&url, None).unwrap();
        let login = anonymous
            .login(&LoginRequest {
                username,
                password: password.clone(),
                token_name: None,
            })
            .await
            .unwrap();
        assert!(login.password_change_required);
        let admin = anonymous.with_token(login.token.unwrap());
        admin
            .change_password(&ChangePassword {
                current_password: password,
                new_password: ADMIN_PASSWORD.to_owned(),
            })
            .await
            .unwrap();
        TestServer {
            url,
            store,
            state,
            admin,
            serving,
            root_addr: addr,
            netns_listen: None,
            public_url: None,
            data_dir,
            bootstrap_password: String::new(),
            settings_hook: no_change(),
            database_url: url_of_db.clone(),
            _db: db,
        }
    }

    /// Also serves inside a network namespace (for gateways and devices of a lab).
    pub fn listen_in_netns(&mut self, namespace: &str, addr: std::net::SocketAddr) {
        let listener = crate::lab::listen_in_netns(namespace, addr);
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        self.serving.push(serve(listener, self.state.clone()));
        self.netns_listen = Some((namespace.to_owned(), addr));
    }

    async fn stop_serving(&mut self) {
        self.state.begin_shutdown();
        for (shutdown, task) in self.serving.drain(..) {
            let _ = shutdown.send(());
            if tokio::time::timeout(std::time::Duration::from_secs(5), task)
                .await
                .is_err()
            {
                panic!("the control plane did not stop within 5 s");
            }
        }
    }

    /// Stops serving for `down`, like a control-plane restart, then serves
    /// again on the same addresses with fresh process state.
    pub async fn restart(&mut self, down: std::time::Duration) {
        self.stop_serving().await;
        tokio::time::sleep(down).await;
        self.state = new_state(
            &self.store,
            self.root_addr,
            self.public_url.as_deref(),
            self.data_dir.path(),
            &self.settings_hook,
        );
        let listener = tokio::net::TcpListener::bind(self.root_addr).await.unwrap();
        self.serving.push(serve(listener, self.state.clone()));
        if let Some((namespace, addr)) = self.netns_listen.clone() {
            self.listen_in_netns(&namespace, addr);
        }
    }

    /// Restarts serving with another public URL (what stick bundles and
    /// links carry), e.g. the control plane's address inside a lab.
    pub async fn set_public_url(&mut self, url: &str) {
        self.public_url = Some(url.to_owned());
        self.restart(std::time::Duration::ZERO).await;
    }

    /// Restarts serving with changed settings (e.g. SMTP for mails).
    pub async fn configure(
        &mut self,
        hook: impl Fn(&mut server::Settings) + Send + Sync + 'static,
    ) {
        self.settings_hook = std::sync::Arc::new(hook);
        self.restart(std::time::Duration::ZERO).await;
    }

    /// A local SMTP sink that the control plane sends its mail to
    /// (status notifications, invitations), sender `from`.
    pub async fn mail_sink(&mut self, from: &str) -> SmtpSink {
        let sink = SmtpSink::start();
        let url = format!("smtp://127.0.0.1:{}", sink.port);
        let from = from.to_owned();
        self.configure(move |settings| {
            settings.smtp = Some(server::mail::SmtpSettings {
                url: url.clone(),
                from: from.clone(),
            });
        })
        .await;
        sink
    }

    pub async fn stop(mut self) {
        self.stop_serving().await;
        self.store.close().await;
    }

    pub fn anonymous(&self) -> Client {
        Client::new(&self.url, None).unwrap()
    }

    pub async fn tenant(&self, slug: &str, pool: &str) -> Tenant {
        self.admin
            .create_tenant(&CreateTenant {
                slug: slug.to_owned(),
                name: format!("Gemeinde {slug}"),
                default_language: None,
                address_pool: pool.to_owned(),
                region: None,
                max_sessions: None,
                max_devices: None,
            })
            .await
            .unwrap()
    }

    /// Creates a user (in `tenant`, or provider staff) and returns a client
    /// logged in as them, past the one-time-password step.
    pub async fn login_as(&self, tenant: Option<&str>, username: &str, role: Role) -> Client {
        let request = CreateUser {
            username: username.to_owned(),
            display_name: None,
            email: None,
            role,
            password: Some(USER_PASSWORD.to_owned()),
            language: None,
        };
        match tenant {
            Some(tenant) => self.admin.create_user(tenant, &request).await.unwrap(),
            None => self.admin.create_provider_user(&request).await.unwrap(),
        };
        self.login(username, USER_PASSWORD).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Client {
        let anonymous = self.anonymous();
        let response = anonymous
            .login(&LoginRequest {
                username: username.to_owned(),
                password: password.to_owned(),
                token_name: None,
            })
            .await
            .unwrap();
        anonymous.with_token(response.token.unwrap())
    }
}

/// Status and problem of a failed call.
pub fn problem_of<T: std::fmt::Debug>(
    result: client::Result<T>,
) -> (u16, api_types::problem::Problem) {
    match result {
        Err(client::ClientError::Api { status, problem }) => (status, problem),
        other => panic!("expected an API problem, got {other:?}"),
    }
}

/// A fresh WireGuard-style public key (random 32 bytes, base64).
pub fn public_key() -> String {
    use base64::Engine;
    let bytes: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
        .iter()
        .flat_map(|u| *u.as_bytes())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// aiosmtpd writing every mail into a Maildir; stopped on drop.
pub struct SmtpSink {
    child: std::process::Child,
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (Debian python3-aiosmtpd)");
        let sink = SmtpSink {
            child,
            port,
            maildir,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        sink
    }

    /// Every mail received: (to, subject, decoded text body; the plain
    /// part of a multipart mail).
    pub fn mails(&self) -> Vec<(String, String, String)> {
        let output = std::process::Command::new("/usr/bin/python3")
            .args([
                "-c",
                r#"
import sys, json, mailbox, email.policy
box = mailbox.Maildir(sys.argv[1], factory=None, create=True)
out = []
for key in sorted(box.keys()):
    m = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
    out.append([str(m['to']), str(m['subject']), m.get_body(preferencelist=('plain',)).get_content()])
print(json.dumps(out))
"#,
            ])
            .arg(self.maildir.path().join("box"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
