//! Issue 28: invitations by mail (captured by a local aiosmtpd) and by
//! letter, the link's first-run page in the employee's language, burnt and
//! withdrawn links, and onboarding progress after each step.

use api_types::Role;
use api_types::audit::AuditQuery;
use api_types::auth::LoginResponse;
use api_types::invitations::{
    AcceptInvitation, Invitation, InvitationDelivery, InvitationState, InvitationsCreated, Invite,
    Onboarding, OnboardingCounts, OnboardingStep, SkipReason,
};
use api_types::tenancy::{CreateDevice, CreateTenant, CreateUser, DeviceKind};

use crate::employees_receive::{console_login, csrf_of, get_text, post_text};
use crate::support::{Backend, TestServer, problem_of, public_key};

async fn employee(server: &TestServer, username: &str, email: &str, language: Option<&str>) {
    server
        .admin
        .create_user(
            "lemgo",
            &CreateUser {
                username: username.into(),
                display_name: Some(format!("{username} Example")),
                email: (!email.is_empty()).then(|| email.to_owned()),
                role: Role::Employee,
                password: None,
                language: language.and_then(api_types::Language::parse),
            },
        )
        .await
        .unwrap();
}

async fn invite(server: &TestServer, request: &Invite) -> InvitationsCreated {
    server
        .admin
        .post(&["tenants", "lemgo", "invitations"], request)
        .await
        .unwrap()
}

async fn counts(server: &TestServer) -> Onboarding {
    server
        .admin
        .get(&["tenants", "lemgo", "onboarding"])
        .await
        .unwrap()
}

/// The link in a mail's text.
fn link_in(text: &str) -> String {
    let start = text.find("/invite/").expect("a link");
    let begin = text[..start].rfind("http").unwrap();
    text[begin..].split_whitespace().next().unwrap().to_owned()
}

fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_owned()
}

async fn invitations_lead_to_the_first_login(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let sink = server.mail_sink("Lemgo IT <it@lemgo.example>").await;
    let gateways = crate::seats::region_with_gateways(&server, "west", &["gw-a"]).await;
    server
        .admin
        .create_tenant(&CreateTenant {
            slug: "lemgo".into(),
            name: "Alte Hansestadt Lemgo".into(),
            default_language: Some(api_types::Language::De),
            address_pool: "10.20.0.0/16".into(),
            region: Some("west".into()),
            max_sessions: None,
            max_devices: None,
        })
        .await
        .unwrap();
    employee(&server, "anna", "anna@lemgo.example", Some("nl")).await;
    employee(&server, "ben", "ben@lemgo.example", None).await;
    employee(&server, "carl", "", None).await;

    let before = counts(&server).await.counts;
    assert_eq!(
        (before.steps.employees, before.steps.invited),
        (3, 0),
        "{before:?}"
    );
    // Yesterday's counts, as the background loop would have written them
    // then; written twice, the day keeps one row.
    let yesterday = store::now_ms() - 86_400_000;
    for _ in 0..2 {
        server.store.record_onboarding_day(yesterday).await.unwrap();
    }

    // By mail: carl has no address and is skipped, nothing else.
    let created = invite(
        &server,
        &Invite {
            users: vec!["anna".into(), "ben".into(), "carl".into()],
            ..Invite::default()
        },
    )
    .await;
    assert_eq!(created.invitations.len(), 2, "{created:?}");
    assert!(created.letters.is_empty());
    assert_eq!(created.skipped.len(), 1);
    assert_eq!(created.skipped[0].reason, SkipReason::NoEmail);
    assert!(
        created
            .invitations
            .iter()
            .all(|i| i.state == InvitationState::Queued)
    );
    assert_eq!(counts(&server).await.counts.steps.invited, 2);

    server::invitation_delivery::deliver_due(&server.state).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let mail_to = |to: &str| {
        mails
            .iter()
            .find(|(address, _, _)| address.contains(to))
            .cloned()
            .unwrap()
    };
    let (_, subject, text) = mail_to("anna@");
    assert!(subject.contains("thuiswerken"), "Dutch for anna: {subject}");
    assert!(text.contains("anna"), "{text}");
    let anna_link = link_in(&text);
    let (_, subject, text) = mail_to("ben@");
    assert!(
        subject.contains("von zu Hause"),
        "German by default: {subject}"
    );
    let ben_link = link_in(&text);
    assert_ne!(anna_link, ben_link);
    assert!(anna_link.contains("/invite/hgi_"), "{anna_link}");
    let sent: Vec<Invitation> = server
        .admin
        .get(&["tenants", "lemgo", "users", "anna", "invitations"])
        .await
        .unwrap();
    assert_eq!(sent[0].state, InvitationState::Sent);

    // Again right away: not a second mail within a minute.
    let again = invite(
        &server,
        &Invite {
            users: vec!["anna".into()],
            ..Invite::default()
        },
    )
    .await;
    assert!(again.invitations.is_empty());
    assert_eq!(again.skipped[0].reason, SkipReason::TooSoon);

    // Anna follows her link: the page speaks Dutch and keeps her on the
    // form until both passwords agree.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let page = get_text(&browser, &anna_link).await;
    assert!(page.contains("Welkom bij Alte Hansestadt Lemgo"), "{page}");
    assert!(page.contains("lang=\"nl\""));
    let csrf = csrf_of(&page);
    let refused = post_text(
        &browser,
        &anna_link,
        &[
            ("csrf", &csrf),
            ("password", "correct horse battery"),
            ("repeat", "correct horse batter"),
        ],
    )
    .await;
    assert!(refused.contains("wachtwoorden verschillen"), "{refused}");
    assert!(refused.contains("id=\"repeat-error\""), "{refused}");
    let short = post_text(
        &browser,
        &anna_link,
        &[("csrf", &csrf), ("password", "short"), ("repeat", "short")],
    )
    .await;
    assert!(short.contains("minstens 12 tekens"), "{short}");
    let response = browser
        .post(&anna_link)
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", "correct horse battery"),
            ("repeat", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.url().path(), "/portal", "{}", response.url());
    let portal = response.text().await.unwrap();
    assert!(portal.contains("Uw wachtwoord is opgeslagen"), "{portal}");
    // She can log in with it now, and the link is burnt.
    server.login("anna", "correct horse battery").await;
    let used = get_text(&reqwest::Client::new(), &anna_link).await;
    assert!(used.contains("al gebruikt"), "{used}");
    let (status, _) = problem_of(
        server
            .anonymous()
            .post::<_, LoginResponse>(
                &["invitations", "accept"],
                &AcceptInvitation {
                    token: token_of(&anna_link),
                    password: "another long password".into(),
                },
            )
            .await,
    );
    assert_eq!(status, 404);
    let progress = counts(&server).await;
    assert_eq!(progress.counts.steps.activated, 1, "{progress:?}");
    // Lemgo asks for no second factor: logging in is that step too.
    assert_eq!(progress.counts.steps.second_factor, 1);
    let anna = progress
        .stuck
        .iter()
        .find(|e| e.username == "anna")
        .unwrap();
    assert_eq!(anna.step, OnboardingStep::SecondFactor);
    assert_eq!(
        anna.invitation.as_ref().unwrap().state,
        InvitationState::Used
    );
    let ben = progress.stuck.iter().find(|e| e.username == "ben").unwrap();
    assert_eq!(ben.step, OnboardingStep::Invited);

    // A device, then its first session: working from home.
    let key = public_key();
    server
        .admin
        .create_device(
            "lemgo",
            &CreateDevice {
                name: "anna-laptop".into(),
                owner: Some("anna".into()),
                kind: DeviceKind::Laptop,
                public_key: key.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(counts(&server).await.counts.steps.device, 1);
    let outcome = server
        .store
        .admit_session(&gateways[0], &key, 60_000)
        .await
        .unwrap();
    assert!(outcome.admitted, "{outcome:?}");
    let progress = counts(&server).await;
    assert_eq!(progress.counts.steps.working, 1);
    assert!(progress.stuck.iter().all(|e| e.username != "anna"));

    // Carl has no mail address: a letter. Its link works through the API.
    let letters = invite(
        &server,
        &Invite {
            users: vec!["carl".into()],
            delivery: Some(InvitationDelivery::Letter),
            ..Invite::default()
        },
    )
    .await;
    assert_eq!(letters.letters.len(), 1);
    let carl_link = letters.letters[0].link.clone();
    assert!(carl_link.contains("/invite/hgi"), "{carl_link}");
    let login: LoginResponse = server
        .anonymous()
        .post(
            &["invitations", "accept"],
            &AcceptInvitation {
                token: token_of(&carl_link),
                password: "carls own password".into(),
            },
        )
        .await
        .unwrap();
    assert!(login.token.is_some());
    assert_eq!(counts(&server).await.counts.steps.activated, 2);

    // Lemgo reminds after 2 days: three days on, Ben (who did nothing)
    // gets one reminder with a new link, once; his old link says it was
    // replaced, in German.
    server
        .admin
        .set_policy(
            "lemgo",
            &api_types::tenancy::SetPolicy {
                invitation_reminder_days: Some(Some(2)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let later = store::now_ms() + 3 * 86_400_000;
    assert_eq!(
        server
            .store
            .queue_invitation_reminders(later)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        server
            .store
            .queue_invitation_reminders(later)
            .await
            .unwrap(),
        0
    );
    server::invitation_delivery::deliver_due_at(&server.state, later).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 3, "{mails:?}");
    let (to, subject, text) = mails
        .iter()
        .find(|(_, subject, _)| subject.starts_with("Erinnerung"))
        .cloned()
        .unwrap();
    assert!(to.contains("ben@"), "{to}");
    assert!(subject.contains("Lemgo"), "{subject}");
    let reminder_link = link_in(&text);
    assert_ne!(reminder_link, ben_link);
    let old = get_text(&reqwest::Client::new(), &ben_link).await;
    assert!(old.contains("durch eine neuere Einladung ersetzt"), "{old}");

    // The reminder is replaced by a letter, then the letter is withdrawn.
    let replaced = invite(
        &server,
        &Invite {
            users: vec!["ben".into()],
            delivery: Some(InvitationDelivery::Letter),
            ..Invite::default()
        },
    )
    .await;
    let letter_link = replaced.letters[0].link.clone();
    let old = get_text(&reqwest::Client::new(), &reminder_link).await;
    assert!(old.contains("durch eine neuere Einladung ersetzt"), "{old}");
    server
        .admin
        .delete(&["tenants", "lemgo", "users", "ben", "invitations"])
        .await
        .unwrap();
    let withdrawn = get_text(&reqwest::Client::new(), &letter_link).await;
    assert!(withdrawn.contains("zurückgezogen"), "{withdrawn}");
    let unknown = get_text(
        &reqwest::Client::new(),
        &format!("{}/invite/hgi_not-a-token", server.url),
    )
    .await;
    // Nobody to speak to: the browser's language (English here).
    assert!(unknown.contains("This link is not valid"), "{unknown}");

    // Everything is in the audit log.
    let events = server
        .admin
        .audit(&AuditQuery {
            action: Some("user.invitation.".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "user.invitation.create",
        "user.invitation.remind",
        "user.invitation.accept",
        "user.invitation.revoke",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }

    // The coordinator's console page and the provider's overview.
    let console = console_login(&server, "admin", crate::support::ADMIN_PASSWORD).await;
    let page = get_text(
        &console,
        &format!("{}/console/t/lemgo/onboarding", server.url),
    )
    .await;
    assert!(page.contains("ben Example"), "{page}");
    assert!(
        !page.contains("anna Example"),
        "anna works from home: {page}"
    );
    let overview: Vec<OnboardingCounts> = server.admin.get(&["onboarding"]).await.unwrap();
    let lemgo = overview.iter().find(|c| c.tenant == "lemgo").unwrap();
    assert_eq!(
        (
            lemgo.steps.employees,
            lemgo.steps.activated,
            lemgo.steps.working
        ),
        (3, 2, 1),
        "{lemgo:?}"
    );
    let page = get_text(&console, &format!("{}/console/onboarding", server.url)).await;
    assert!(page.contains("Alte Hansestadt Lemgo"), "{page}");
    // Over time: yesterday as recorded, then today live.
    let history = counts(&server).await.history;
    let days: Vec<(&str, u64, u64, u64)> = history
        .iter()
        .map(|d| {
            (
                d.day.as_str(),
                d.steps.invited,
                d.steps.activated,
                d.steps.working,
            )
        })
        .collect();
    let yesterday_day = store::onboarding::utc_day(yesterday);
    let today_day = store::onboarding::utc_day(store::now_ms());
    assert_eq!(
        days,
        [
            (yesterday_day.as_str(), 0, 0, 0),
            (today_day.as_str(), 2, 2, 1)
        ],
        "{history:?}"
    );
    let page = get_text(
        &console,
        &format!("{}/console/t/lemgo/onboarding", server.url),
    )
    .await;
    assert!(
        page.contains("Verlauf") || page.contains("Over time"),
        "{page}"
    );
    // Issue 24 item 7: the device list says who is connected, where.
    let page = get_text(&console, &format!("{}/console/t/lemgo/devices", server.url)).await;
    assert!(page.contains("online via gw-a"), "{page}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_lead_to_the_first_login_sqlite() {
    invitations_lead_to_the_first_login(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_lead_to_the_first_login_postgres() {
    invitations_lead_to_the_first_login(Backend::Postgres).await;
}

/// Issue 28's benchmark and check: a municipality's employees imported
/// from CSV with invitations as one job (those without an address get a
/// one-time password); every mail arrives at the local SMTP server with
/// its own working link. Timings are printed,
/// never asserted (BENCHMARKS.md). `HOMEGATE_BENCH_INVITATIONS` sets how
/// many (default 40, enough to check the path in CI).
async fn invite_a_municipality(backend: Backend) {
    let count: usize = std::env::var("HOMEGATE_BENCH_INVITATIONS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(40);
    let mut server = TestServer::start(backend).await;
    let sink = server.mail_sink("IT <it@lemgo.example>").await;
    server.tenant("lemgo", "10.20.0.0/16").await;
    let mut csv = String::from("username,display_name,email\n");
    for n in 0..count {
        csv.push_str(&format!("e{n},Employee {n},e{n}@lemgo.example\n"));
    }
    csv.push_str("nomail,Without Address,\n");
    let started = std::time::Instant::now();
    let job = server
        .admin
        .import_users("lemgo", &api_types::jobs::ImportUsers { csv, invite: true })
        .await
        .unwrap();
    loop {
        let state = server
            .admin
            .get_job("lemgo", &job.job.id, None)
            .await
            .unwrap();
        if state.state != api_types::jobs::JobState::Running {
            assert_eq!(state.state, api_types::jobs::JobState::Done, "{state:?}");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let imported = started.elapsed();
    let result = server
        .admin
        .get_job("lemgo", &job.job.id, Some(&job.result_key))
        .await
        .unwrap()
        .result
        .unwrap();
    assert_eq!(
        result.passwords.len(),
        1,
        "only for the one without address"
    );
    assert_eq!(result.passwords[0].username, "nomail");
    let progress = counts(&server).await.counts;
    assert_eq!(
        (progress.steps.employees, progress.steps.invited),
        (count as u64 + 1, count as u64)
    );
    while server::invitation_delivery::deliver_due(&server.state).await > 0 {}
    let delivered = started.elapsed();
    let mails = sink.mails();
    assert_eq!(mails.len(), count);
    let links: std::collections::HashSet<String> =
        mails.iter().map(|(_, _, text)| link_in(text)).collect();
    assert_eq!(links.len(), count, "every link differs");
    // A sample of the links works.
    for link in links.iter().take(3) {
        let login: LoginResponse = server
            .anonymous()
            .post(
                &["invitations", "accept"],
                &AcceptInvitation {
                    token: token_of(link),
                    password: "a password of my own".into(),
                },
            )
            .await
            .unwrap();
        assert!(login.token.is_some());
    }
    assert_eq!(counts(&server).await.counts.steps.activated, 3);
    println!(
        "invitations ({backend:?}, {count} employees): import job with invitations {:.2} s, \
         all mails delivered {:.2} s after the start",
        imported.as_secs_f64(),
        delivered.as_secs_f64(),
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_a_municipality_sqlite() {
    invite_a_municipality(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_a_municipality_postgres() {
    invite_a_municipality(Backend::Postgres).await;
}
