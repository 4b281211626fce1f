//! Issue 19 item 4 and issue 20 item 4: importing 1,000 employees of one
//! municipality runs as one job — checked line by line first, all or
//! nothing, progress while it runs, the one-time passwords shown once —
//! through the API, the CLI and the console.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use api_types::Role;
use api_types::jobs::{ImportUsers, Job, JobPhase, JobState, ResultState};
use api_types::tenancy::CreateGroup;

use crate::both_backends;
use crate::cli::{homegate, run};
use crate::employees_receive::{console_login, csrf_of, get_text};
use crate::support::{ADMIN_PASSWORD, TestServer, problem_of};

const PEOPLE: usize = 1000;

/// A CSV of `n` employees `prefix-0000…`, all in group `staff`.
fn employees(prefix: &str, n: usize) -> String {
    let mut csv = String::from("username,display_name,email,groups,language\n");
    for i in 0..n {
        csv.push_str(&format!(
            "{prefix}-{i:04},Person {i},{prefix}{i}@example.org,staff,de\n"
        ));
    }
    csv
}

async fn setup(server: &TestServer, slug: &str, pool: &str) {
    server.tenant(slug, pool).await;
    server
        .admin
        .create_group(
            slug,
            &CreateGroup {
                name: "staff".into(),
                description: None,
            },
        )
        .await
        .unwrap();
}

async fn wait_done(server: &TestServer, tenant: &str, job: &str) -> (Job, Vec<(JobPhase, u64)>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    loop {
        let job = server.admin.get_job(tenant, job, None).await.unwrap();
        assert!(job.result.is_none(), "no result without the key");
        if job.state != JobState::Running {
            return (job, seen);
        }
        seen.push((job.phase, job.done));
        assert!(Instant::now() < deadline, "job still running: {job:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

both_backends!(
    the_api_imports_a_thousand_employees_as_one_job,
    one_bad_line_imports_nobody_and_every_bad_line_is_named,
    a_conflict_while_writing_rolls_the_whole_import_back,
    the_cli_imports_a_thousand_employees_and_prints_their_passwords,
    the_console_imports_a_thousand_employees_and_shows_passwords_once,
);

async fn the_api_imports_a_thousand_employees_as_one_job(server: &TestServer) {
    setup(server, "lemgo", "10.20.0.0/16").await;
    let started_at = Instant::now();
    let started = server
        .admin
        .import_users(
            "lemgo",
            &ImportUsers {
                csv: employees("lemgo", PEOPLE),
                invite: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(started.job.total, PEOPLE as u64);
    assert_eq!(started.job.state, JobState::Running);
    let (job, seen) = wait_done(server, "lemgo", &started.job.id).await;
    let elapsed = started_at.elapsed();
    println!("imported {PEOPLE} employees in {elapsed:?} ({seen:?})");
    assert_eq!(job.state, JobState::Done, "{job:?}");
    assert_eq!(job.done, PEOPLE as u64);
    assert_eq!(job.result_state, ResultState::Available);
    // Progress moved forward while it hashed.
    let hashing: Vec<u64> = seen
        .iter()
        .filter(|(phase, _)| *phase == JobPhase::Hashing)
        .map(|(_, done)| *done)
        .collect();
    assert!(hashing.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(
        hashing
            .iter()
            .any(|done| *done > 0 && *done < PEOPLE as u64),
        "progress between 0 and the total was visible: {seen:?}"
    );

    // A wrong key opens nothing and deletes nothing.
    let wrong = server
        .admin
        .get_job(
            "lemgo",
            &job.id,
            Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        )
        .await;
    assert_eq!(problem_of(wrong).0, 422);
    let fetched = server
        .admin
        .get_job("lemgo", &job.id, Some(&started.result_key))
        .await
        .unwrap();
    let result = fetched.result.expect("the passwords, once");
    assert_eq!(result.passwords.len(), PEOPLE);
    let distinct: BTreeSet<&str> = result
        .passwords
        .iter()
        .map(|p| p.password.as_str())
        .collect();
    assert_eq!(distinct.len(), PEOPLE);
    // Once: the second fetch has no result.
    let again = server
        .admin
        .get_job("lemgo", &job.id, Some(&started.result_key))
        .await
        .unwrap();
    assert!(again.result.is_none());
    assert_eq!(again.result_state, ResultState::Fetched);

    let users = server.admin.list_users("lemgo").await.unwrap();
    assert_eq!(users.len(), PEOPLE);
    let staff = server.admin.get_group("lemgo", "staff").await.unwrap();
    assert_eq!(staff.members.len(), PEOPLE);
    // The passwords work (and must be changed first).
    let first = &result.passwords[PEOPLE / 2];
    let login = server
        .anonymous()
        .login(&api_types::auth::LoginRequest {
            username: first.username.clone(),
            password: first.password.clone(),
            token_name: None,
        })
        .await
        .unwrap();
    assert!(login.password_change_required);
    // The job stays on record.
    let jobs = server.admin.list_jobs("lemgo").await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Done);
    // Another tenant's admin does not see it.
    server.tenant("detmold", "10.21.0.0/16").await;
    let other = server
        .login_as(Some("detmold"), "detmold-admin", Role::TenantAdmin)
        .await;
    assert_eq!(
        problem_of(other.get_job("lemgo", &job.id, None).await).0,
        404
    );
    assert_eq!(
        problem_of(other.get_job("detmold", &job.id, None).await).0,
        404
    );
}

async fn one_bad_line_imports_nobody_and_every_bad_line_is_named(server: &TestServer) {
    setup(server, "lemgo", "10.20.0.0/16").await;
    let mut csv = employees("lemgo", PEOPLE);
    // Line 502 gets a bad e-mail address, line 902 repeats line 2's name.
    csv = csv.replace("lemgo500@example.org", "not-an-address");
    csv = csv.replace("lemgo-0900,", "lemgo-0000,");
    let refused = server
        .admin
        .import_users("lemgo", &ImportUsers { csv, invite: false })
        .await;
    let (status, problem) = problem_of(refused);
    assert_eq!(status, 422);
    let lines: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(lines, vec!["line 502", "line 902"], "{problem:?}");
    assert!(problem.errors[0].message.contains("not-an-address"));
    assert!(problem.errors[1].message.contains("twice"));
    assert!(server.admin.list_users("lemgo").await.unwrap().is_empty());
    assert!(server.admin.list_jobs("lemgo").await.unwrap().is_empty());
}

async fn a_conflict_while_writing_rolls_the_whole_import_back(server: &TestServer) {
    setup(server, "lemgo", "10.20.0.0/16").await;
    let started = server
        .admin
        .import_users(
            "lemgo",
            &ImportUsers {
                csv: employees("lemgo", PEOPLE),
                invite: false,
            },
        )
        .await
        .unwrap();
    // While the passwords are hashed, someone takes the last username.
    server
        .admin
        .create_user(
            "lemgo",
            &api_types::tenancy::CreateUser {
                username: format!("lemgo-{:04}", PEOPLE - 1),
                display_name: None,
                email: None,
                role: Role::Employee,
                password: None,
                language: None,
            },
        )
        .await
        .unwrap();
    let during = server
        .admin
        .get_job("lemgo", &started.job.id, None)
        .await
        .unwrap();
    assert_eq!(during.phase, JobPhase::Hashing, "taken before writing");
    let (job, _) = wait_done(server, "lemgo", &started.job.id).await;
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.error.as_ref().unwrap().code, "conflict", "{job:?}");
    assert_eq!(job.result_state, ResultState::None);
    // 999 users were inserted in the transaction before the conflict: none remain.
    let users = server.admin.list_users("lemgo").await.unwrap();
    assert_eq!(users.len(), 1, "only the one created meanwhile");
    let staff = server.admin.get_group("lemgo", "staff").await.unwrap();
    assert!(staff.members.is_empty());
}

async fn the_cli_imports_a_thousand_employees_and_prints_their_passwords(server: &TestServer) {
    setup(server, "lemgo", "10.20.0.0/16").await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    crate::cli_sticks::login(dir, server);
    let file = dir.join("staff.csv");

    // A bad file: one line, non-zero exit, nothing written.
    let mut bad = employees("lemgo", PEOPLE);
    bad = bad.replace("lemgo-0007,", "bad name,");
    std::fs::write(&file, bad).unwrap();
    let output = run(
        homegate(dir).args([
            "users",
            "import",
            "--tenant",
            "lemgo",
            file.to_str().unwrap(),
        ]),
        None,
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("line 9"), "{stderr}");
    assert!(server.admin.list_users("lemgo").await.unwrap().is_empty());

    std::fs::write(&file, employees("lemgo", PEOPLE)).unwrap();
    let started = Instant::now();
    let path = file.to_str().unwrap().to_owned();
    let config = dir.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        run(
            homegate(&config).args(["users", "import", "--tenant", "lemgo", &path]),
            None,
        )
    })
    .await
    .unwrap();
    println!("CLI import of {PEOPLE}: {:?}", started.elapsed());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("preparing accounts"), "{stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "username,password");
    assert_eq!(lines.len(), PEOPLE + 1);
    let (username, password) = lines[1].split_once(',').unwrap();
    let login = server
        .anonymous()
        .login(&api_types::auth::LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            token_name: None,
        })
        .await
        .unwrap();
    assert!(login.password_change_required);
    assert_eq!(
        server.admin.list_users("lemgo").await.unwrap().len(),
        PEOPLE
    );
    let jobs = server.admin.list_jobs("lemgo").await.unwrap();
    assert_eq!(jobs[0].result_state, ResultState::Fetched);
}

async fn the_console_imports_a_thousand_employees_and_shows_passwords_once(server: &TestServer) {
    setup(server, "lemgo", "10.20.0.0/16").await;
    let browser = console_login(server, "admin", ADMIN_PASSWORD).await;
    let users_url = format!("{}/console/t/lemgo/users", server.url);
    let import_url = format!("{users_url}/import");
    let page = get_text(&browser, &users_url).await;
    let csrf = csrf_of(&page);
    // This coordinator works in German.
    let switched = browser
        .post(format!("{}/language", server.url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("language", "de"),
            ("back", "/console/t/lemgo/users"),
        ])
        .send()
        .await
        .unwrap();
    assert!(switched.status().is_success(), "{}", switched.status());

    // One bad line: the preview names it, offers no import, keeps the input.
    let mut bad = employees("lemgo", PEOPLE);
    bad = bad.replace("lemgo-0041,", "lemgo-0040,");
    let preview = browser
        .post(&import_url)
        .form(&[("csrf", csrf.as_str()), ("csv", &bad), ("step", "preview")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(preview.contains("doppelt"), "{preview}");
    assert!(preview.contains("1 Zeile hat ein Problem"));
    assert!(!preview.contains("value=\"import\""), "no import button");
    assert!(preview.contains("lemgo-0999"), "the input is kept");
    // A forged import of the bad file writes nothing either.
    let forged = browser
        .post(&import_url)
        .form(&[("csrf", csrf.as_str()), ("csv", &bad), ("step", "import")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(forged.contains("1 Zeile hat ein Problem"));
    assert!(server.admin.list_users("lemgo").await.unwrap().is_empty());

    let good = employees("lemgo", PEOPLE);
    let preview = browser
        .post(&import_url)
        .form(&[("csrf", csrf.as_str()), ("csv", &good), ("step", "preview")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(preview.contains("1000 Personen importieren"), "{preview}");
    let started = Instant::now();
    let response = browser
        .post(&import_url)
        .form(&[("csrf", csrf.as_str()), ("csv", &good), ("step", "import")])
        .send()
        .await
        .unwrap();
    let job_url = response.url().to_string();
    assert!(job_url.contains("/console/t/lemgo/jobs/"), "{job_url}");
    let mut page = response.text().await.unwrap();
    let mut progress_pages = 0;
    while page.contains("http-equiv=\"refresh\"") {
        assert!(page.contains("<progress"), "{page}");
        progress_pages += 1;
        assert!(started.elapsed() < Duration::from_secs(120));
        tokio::time::sleep(Duration::from_millis(500)).await;
        page = get_text(&browser, &job_url).await;
    }
    println!(
        "console import of {PEOPLE}: {:?}, {progress_pages} progress pages",
        started.elapsed()
    );
    assert!(
        progress_pages > 0,
        "the import took long enough to show progress"
    );
    assert_eq!(page.matches("class=\"secret\"").count(), PEOPLE, "{page}");
    assert!(page.contains("download=\"passwords-lemgo.csv\""));
    assert_eq!(
        server.admin.list_users("lemgo").await.unwrap().len(),
        PEOPLE
    );
    // Shown once: the page now says so and shows no password.
    let again = get_text(&browser, &job_url).await;
    assert_eq!(again.matches("class=\"secret\"").count(), 0);
    assert!(again.contains("einmal angezeigt"), "{again}");
}
