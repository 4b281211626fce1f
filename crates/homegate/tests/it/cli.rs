//! The `homegate` binary as a new user meets it: `serve` on its defaults,
//! then `login`, `password` and admin commands against the API.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Backend, TestDb};

/// A `homegate serve` child process, killed on drop.
pub(crate) struct ServeProcess {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) password: String,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn homegate(config_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_homegate"));
    command
        .env("HOMEGATE_CLI_CONFIG", config_dir.join("cli.toml"))
        .env_remove("HOMEGATE_SERVER")
        .env_remove("HOMEGATE_TOKEN")
        .env_remove("HOMEGATE_PASSWORD")
        .env_remove("HOMEGATE_DATABASE")
        .env_remove("HOMEGATE_LISTEN")
        .env_remove("HOMEGATE_DATA_DIR");
    command
}

/// Starts `homegate serve` like the README does, on a free port, and reads
/// the banner for the URL and the one-time admin password.
fn serve(work_dir: &Path, database: Option<&str>) -> ServeProcess {
    let mut args = vec!["--listen", "127.0.0.1:0"];
    if let Some(database) = database {
        args.extend(["--database", database]);
    }
    ServeProcess::start(work_dir, &args, true)
}

impl ServeProcess {
    /// `homegate serve ARGS` in `work_dir`, once its banner is out; with
    /// `first_start`, the banner must show the new admin's password.
    pub(crate) fn start(work_dir: &Path, args: &[&str], first_start: bool) -> ServeProcess {
        let mut command = homegate(work_dir);
        command
            .current_dir(work_dir)
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Keep draining, so the server never writes into a closed pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let mut url = None;
        let mut password = None;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = lines_rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("serve printed no banner in time");
            if let Some(addr) = line.strip_prefix("homegate control plane listening on ") {
                url = Some(format!("http://{}", addr.trim()));
            }
            if let Some(secret) = line.trim().strip_prefix("password: ") {
                password = Some(secret.trim().to_owned());
            }
            let banner_done = if first_start {
                password.is_some()
            } else {
                line.trim_start().starts_with("Data:")
            };
            if banner_done {
                break;
            }
        }
        ServeProcess {
            child,
            url: url.expect("no listen address in banner"),
            password: password.unwrap_or_default(),
        }
    }
}

pub(crate) fn run(command: &mut Command, stdin: Option<&str>) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

pub(crate) fn ok(dir: &Path, args: &[&str]) -> String {
    let output = run(homegate(dir).args(args), None);
    assert!(
        output.status.success(),
        "homegate {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs a command that must fail; returns its one-line error.
pub(crate) fn fails(dir: &Path, args: &[&str]) -> String {
    let output = run(homegate(dir).args(args), None);
    assert!(!output.status.success(), "homegate {args:?} should fail");
    let stderr = String::from_utf8(output.stderr).unwrap();
    // A usage error is clap's whole message: its cause in one line, then
    // the pointer to --help.
    let cause: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with("For more information"))
        .collect();
    assert_eq!(cause.len(), 1, "not one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    format!("{}\n", cause[0])
}

pub(crate) fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(dir, &all)).unwrap()
}

/// The "done when" of the foundation: from a fresh start to a tenant with an
/// admin, an employee and an application, all visible in the audit log.
fn new_user_walkthrough(database: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let server = serve(dir, database);
    if database.is_none() {
        assert!(
            dir.join("homegate-data/homegate.db").exists(),
            "SQLite in the data folder"
        );
    }

    let output = run(
        homegate(dir).args([
            "login",
            &server.url,
            "--username",
            "admin",
            "--password-stdin",
        ]),
        Some(&format!("{}\n", server.password)),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("homegate password"));
    let mode = std::fs::metadata(dir.join("cli.toml")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );

    assert!(fails(dir, &["tenants", "list"]).contains("one-time password"));
    let output = run(
        homegate(dir).args(["password", "--stdin"]),
        Some(&format!("{}\nmy own admin password\n", server.password)),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    ok(dir, &["regions", "create", "south"]);
    let tenant = json(
        dir,
        &[
            "tenants",
            "create",
            "--slug",
            "lemgo",
            "--name",
            "Alte Hansestadt Lemgo",
            "--pool",
            "10.20.0.0/16",
            "--language",
            "de",
            "--region",
            "south",
            "--max-sessions",
            "50",
        ],
    );
    assert_eq!(tenant["slug"], "lemgo");
    assert_eq!(tenant["quota"]["max_sessions"], 50);

    let created = json(
        dir,
        &[
            "users",
            "create",
            "--tenant",
            "lemgo",
            "--username",
            "it@lemgo.de",
            "--role",
            "tenant-admin",
        ],
    );
    assert!(created["initial_password"].as_str().unwrap().len() >= 12);
    let table = ok(
        dir,
        &[
            "users",
            "create",
            "--tenant",
            "lemgo",
            "--username",
            "anna",
            "--role",
            "employee",
            "--display-name",
            "Anna Schmidt",
        ],
    );
    assert!(table.contains("One-time password"));
    // Onboarding: anna is not invited yet; the history ends with today.
    let onboarding = ok(dir, &["onboarding", "--tenant", "lemgo"]);
    assert!(
        onboarding.contains("anna") && onboarding.contains("not_invited"),
        "{onboarding}"
    );
    let history = ok(dir, &["onboarding", "--tenant", "lemgo", "--history"]);
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert!(history.contains(&today), "{history}");
    assert!(fails(dir, &["onboarding", "--history"]).contains("--history needs --tenant"));
    ok(dir, &["groups", "create", "--tenant", "lemgo", "office"]);
    ok(
        dir,
        &[
            "groups",
            "add-member",
            "--tenant",
            "lemgo",
            "office",
            "anna",
        ],
    );
    let application = json(
        dir,
        &[
            "applications",
            "create",
            "--tenant",
            "lemgo",
            "fileserver",
            "--cidr",
            "198.18.10.0/24",
            "--protocol",
            "tcp",
            "--ports",
            "445,8000-8100",
        ],
    );
    assert_eq!(
        application["ports"],
        serde_json::json!(["445", "8000-8100"])
    );
    ok(
        dir,
        &[
            "rules",
            "create",
            "--tenant",
            "lemgo",
            "--group",
            "office",
            "--application",
            "fileserver",
        ],
    );

    // Bad input: one line, non-zero exit, nothing changed.
    let before = json(dir, &["audit", "list", "--limit", "1000"]);
    assert!(fails(dir, &["tenants", "show", "nowhere"]).contains("'nowhere' not found"));
    assert!(
        fails(
            dir,
            &[
                "tenants",
                "create",
                "--slug",
                "lemgo",
                "--name",
                "X",
                "--pool",
                "10.99.0.0/16"
            ]
        )
        .contains("already exists")
    );
    assert!(
        fails(
            dir,
            &[
                "tenants",
                "create",
                "--slug",
                "detmold",
                "--name",
                "X",
                "--pool",
                "10.20.5.0/24"
            ]
        )
        .contains("overlaps")
    );
    assert!(
        fails(
            dir,
            &[
                "apps",
                "create",
                "--tenant",
                "lemgo",
                "x",
                "--cidr",
                "198.18.10.0/33"
            ]
        )
        .contains("cidr")
    );
    assert!(
        fails(
            dir,
            &[
                "users",
                "create",
                "--tenant",
                "lemgo",
                "--username",
                "x",
                "--role",
                "king"
            ]
        )
        .contains("king")
    );
    let after = json(dir, &["audit", "list", "--limit", "1000"]);
    assert_eq!(before, after);

    let events = after.as_array().unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "tenant.create",
        "user.create",
        "group.create",
        "group.member.add",
        "application.create",
        "access_rule.create",
    ] {
        assert!(actions.contains(&action), "{action} missing in {actions:?}");
    }
    let csv = ok(
        dir,
        &["audit", "export", "--format", "csv", "--tenant", "lemgo"],
    );
    assert!(csv.lines().count() >= 7, "{csv}");

    // A status page component, named for Dutch readers too.
    ok(
        dir,
        &[
            "components",
            "add",
            "mail",
            "--title",
            "E-Mail",
            "--group",
            "Kommunikation",
        ],
    );
    let mail = json(
        dir,
        &[
            "components",
            "update",
            "mail",
            "--language",
            "nl",
            "--title",
            "E-mail",
            "--group",
            "Communicatie",
        ],
    );
    assert_eq!(mail["title"], "E-Mail", "{mail}");
    assert_eq!(
        mail["translations"]["nl"]["group"], "Communicatie",
        "{mail}"
    );
    let mail = json(
        dir,
        &[
            "components",
            "set",
            "mail",
            "degraded",
            "--note",
            "Langsam",
            "--note-nl",
            "Traag",
        ],
    );
    assert_eq!(mail["operator_note_translations"]["nl"], "Traag", "{mail}");
    assert!(
        fails(
            dir,
            &[
                "components",
                "update",
                "mail",
                "--language",
                "fr",
                "--title",
                "x"
            ]
        )
        .contains("fr")
    );

    // The employee logs in with their one-time password and may not manage users.
    let anna_password = {
        let reset = json(
            dir,
            &[
                "users",
                "create",
                "--tenant",
                "lemgo",
                "--username",
                "bert",
                "--role",
                "employee",
            ],
        );
        reset["initial_password"].as_str().unwrap().to_owned()
    };
    let employee_dir = tempfile::tempdir().unwrap();
    let employee_dir = employee_dir.path();
    let output = run(
        homegate(employee_dir).args(["login", &server.url, "-u", "bert", "--password-stdin"]),
        Some(&format!("{anna_password}\n")),
    );
    assert!(output.status.success());
    run(
        homegate(employee_dir).args(["password", "--stdin"]),
        Some(&format!("{anna_password}\nbert's own password\n")),
    );
    assert!(fails(employee_dir, &["users", "list", "--tenant", "lemgo"]).contains("may not"));
    ok(employee_dir, &["logout"]);
    assert!(fails(employee_dir, &["whoami"]).contains("homegate login"));
}

#[test]
fn new_user_walkthrough_on_sqlite() {
    new_user_walkthrough(None);
}

#[test]
fn new_user_walkthrough_on_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (db, url) = runtime.block_on(TestDb::create(Backend::Postgres));
    new_user_walkthrough(Some(&url));
    drop(db);
}

#[test]
fn usage_errors_exit_64() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(homegate(dir.path()).args(["tenants", "list"]), None);
    assert_eq!(output.status.code(), Some(64));
    let output = run(
        homegate(dir.path()).args(["serve", "--listen", "nonsense"]),
        None,
    );
    assert_eq!(output.status.code(), Some(64));
    let output = run(
        homegate(dir.path()).args(["serve", "--database", "mysql://localhost/x"]),
        None,
    );
    assert_eq!(output.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unsupported database URL"));
}

#[test]
fn restart_keeps_data_and_shows_no_new_password() {
    let dir = tempfile::tempdir().unwrap();
    let first = serve(dir.path(), None);
    assert!(!first.password.is_empty());
    drop(first);
    let mut command = homegate(dir.path());
    command
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    for _ in 0..4 {
        banner.push(lines.next().unwrap().unwrap());
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = banner.join("\n");
    assert!(text.contains("listening on"), "{text}");
    assert!(!text.contains("password"), "{text}");
}

/// Issue 26, item 10: a gateway token on the command line (visible in `ps`)
/// is warned about; from the environment or a token file it is not.
#[test]
fn gateway_token_on_the_command_line_warns() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().display().to_string();
    // `--listen-port 0` stops the gateway right after it read its options,
    // without root.
    let base = [
        "gateway",
        "--control-plane",
        "http://127.0.0.1:9",
        "--listen-port",
        "0",
        "--state-dir",
        &state,
    ];
    let warning = "visible to every user of this host";
    let gateway = |extra: &[&str], env: Option<&str>| {
        let mut command = homegate(dir.path());
        command
            .env_remove("HOMEGATE_GATEWAY_TOKEN")
            .env_remove("HOMEGATE_GATEWAY_TOKEN_FILE")
            .args(base)
            .args(extra);
        if let Some(token) = env {
            command.env("HOMEGATE_GATEWAY_TOKEN", token);
        }
        let output = run(&mut command, None);
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };

    let stderr = gateway(&["--token", "hgg_secret"], None);
    assert!(stderr.contains(warning), "{stderr}");
    assert!(stderr.contains("HOMEGATE_GATEWAY_TOKEN"), "{stderr}");
    assert!(!stderr.contains("hgg_secret"), "{stderr}");
    assert!(stderr.contains("--listen-port must not be 0"), "{stderr}");

    let stderr = gateway(&[], Some("hgg_secret"));
    assert!(!stderr.contains(warning), "{stderr}");
    assert!(stderr.contains("--listen-port must not be 0"), "{stderr}");

    let file = dir.path().join("token");
    std::fs::write(&file, "hgg_secret\n").unwrap();
    let stderr = gateway(&["--token-file", &file.display().to_string()], None);
    assert!(!stderr.contains(warning), "{stderr}");
    assert!(stderr.contains("--listen-port must not be 0"), "{stderr}");

    std::fs::write(&file, "\n").unwrap();
    let stderr = gateway(&["--token-file", &file.display().to_string()], None);
    assert!(stderr.contains("is empty"), "{stderr}");

    let output = run(
        homegate(dir.path())
            .env_remove("HOMEGATE_GATEWAY_TOKEN")
            .env_remove("HOMEGATE_GATEWAY_TOKEN_FILE")
            .args(base),
        None,
    );
    assert_eq!(output.status.code(), Some(64));
}
