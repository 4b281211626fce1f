//! Issue 7 through the API: batches of sticks, their states, one-time
//! tokens, rollback and revocation; and a stick enrolling over TLS with a
//! pinned certificate.

use api_types::Role;
use api_types::enrollment::EnrollRequest;
use api_types::sticks::{BatchState, CreateStickBatch, Recipient};
use api_types::tenancy::{DeviceState, SetQuota};

use crate::both_backends;
use crate::support::{TestServer, problem_of, public_key};

fn batch(count: u32) -> CreateStickBatch {
    CreateStickBatch {
        count: Some(count),
        recipients: vec![],
        language: None,
        valid_days: None,
        group: None,
    }
}

fn enroll(token: &str) -> EnrollRequest {
    EnrollRequest {
        code: token.to_owned(),
        public_key: public_key(),
        name: None,
        kind: None,
    }
}

async fn batches_states_tokens_and_revocation(server: &TestServer) {
    server.tenant("lemgo", "10.30.0.0/16").await;
    let admin = &server.admin;
    let ops = server
        .login_as(Some("lemgo"), "it-lemgo", Role::TenantAdmin)
        .await;
    server
        .login_as(Some("lemgo"), "erika", Role::Employee)
        .await;

    // Two recipients, one of them a known employee, and a spare stick.
    let request = CreateStickBatch {
        count: Some(3),
        recipients: vec![
            Recipient {
                name: "Erika Mustermann".into(),
                address: vec!["Rathausplatz 1".into(), "32657 Lemgo".into()],
                email: "erika@lemgo.example".into(),
                username: Some("erika".into()),
            },
            Recipient {
                name: "Jan Jansen".into(),
                ..Recipient::default()
            },
        ],
        language: Some(api_types::Language::Nl),
        valid_days: Some(30),
        group: None,
    };
    let issued = ops.create_stick_batch("lemgo", &request).await.unwrap();
    assert_eq!(issued.batch.state, BatchState::Generating);
    assert_eq!(issued.batch.language, api_types::Language::Nl);
    assert_eq!(issued.sticks.len(), 3);
    assert_eq!(issued.batch.sticks.prepared, 3);
    assert_eq!(
        issued.portal_url,
        format!("{}/portal", issued.control_plane)
    );
    assert_eq!(
        issued.sticks[0].recipient.as_ref().unwrap().name,
        "Erika Mustermann"
    );
    assert!(issued.sticks[2].recipient.is_none());
    let sticks = ops
        .list_sticks("lemgo", Some(&issued.batch.id))
        .await
        .unwrap();
    assert!(
        sticks
            .iter()
            .all(|s| s.state == DeviceState::Prepared && s.tunnel_address.is_some())
    );
    // The sticks are devices of the tenant, the first owned by Erika.
    let devices = admin.list_devices("lemgo").await.unwrap();
    assert_eq!(devices.len(), 3);
    assert_eq!(
        devices
            .iter()
            .find(|d| d.id == issued.sticks[0].device_id)
            .unwrap()
            .owner
            .as_deref(),
        Some("erika")
    );
    // Tokens are stored hashed only.
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM enrollment_codes")
        .fetch_all(server.store.pool())
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|hash| !issued.sticks.iter().any(|s| hash.contains(&s.token)))
    );

    // Until its files are complete, a batch's sticks cannot enroll.
    let anonymous = server.anonymous();
    let (status, problem) = problem_of(anonymous.enroll(&enroll(&issued.sticks[0].token)).await);
    assert_eq!(status, 409);
    assert!(problem.detail.unwrap_or_default().contains("not completed"));
    let (status, _) = problem_of(
        ops.stick_batch_action("lemgo", &issued.batch.id, "ship")
            .await,
    );
    assert_eq!(status, 409);
    let ready = ops
        .stick_batch_action("lemgo", &issued.batch.id, "complete")
        .await
        .unwrap();
    assert_eq!(ready.state, BatchState::Ready);

    // First use enrolls the stick; the second is refused clearly.
    let first = anonymous
        .enroll(&enroll(&issued.sticks[0].token))
        .await
        .unwrap();
    assert_eq!(first.config.device_id, issued.sticks[0].device_id);
    let stick = ops
        .get_stick("lemgo", &issued.sticks[0].stick_id)
        .await
        .unwrap();
    assert_eq!(stick.state, DeviceState::Enrolled);
    assert!(stick.enrolled_at.is_some());
    let (status, problem) = problem_of(anonymous.enroll(&enroll(&issued.sticks[0].token)).await);
    assert_eq!(status, 409);
    assert!(
        problem
            .detail
            .unwrap_or_default()
            .contains("already enrolled")
    );

    // Shipping the batch moves the prepared ones; enrolled stays enrolled.
    let shipped = ops
        .stick_batch_action("lemgo", &issued.batch.id, "ship")
        .await
        .unwrap();
    assert_eq!((shipped.sticks.shipped, shipped.sticks.enrolled), (2, 1));
    // Sticks go forward only.
    let (status, problem) = problem_of(
        ops.update_stick("lemgo", &issued.sticks[0].stick_id, DeviceState::Shipped)
            .await,
    );
    assert_eq!(status, 409, "{problem:?}");

    // A lost stick is revoked; its token can never be used.
    let lost = ops
        .update_stick(
            "lemgo",
            &issued.sticks[1].stick_id.to_lowercase(),
            DeviceState::Revoked,
        )
        .await
        .unwrap();
    assert_eq!(lost.state, DeviceState::Revoked);
    let (status, problem) = problem_of(anonymous.enroll(&enroll(&issued.sticks[1].token)).await);
    assert_eq!(status, 403);
    assert!(problem.detail.unwrap_or_default().contains("revoked"));
    // Revoking the enrolled one takes it off the gateways (config version bumps).
    let before = *server.store.watch_config_version().borrow();
    ops.update_stick("lemgo", &issued.sticks[0].stick_id, DeviceState::Revoked)
        .await
        .unwrap();
    assert!(*server.store.watch_config_version().borrow() > before);
    let device = admin
        .get_device("lemgo", &issued.sticks[0].device_id)
        .await
        .unwrap();
    assert_eq!(device.state, DeviceState::Revoked);

    // A complete batch cannot be cancelled, only revoked.
    let (status, _) = problem_of(ops.cancel_stick_batch("lemgo", &issued.batch.id).await);
    assert_eq!(status, 409);
    let revoked = ops
        .stick_batch_action("lemgo", &issued.batch.id, "revoke")
        .await
        .unwrap();
    assert_eq!(revoked.sticks.revoked, 3);

    // Every change is in the audit log.
    let actions: Vec<String> = admin
        .audit(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "stick_batch.create",
        "stick_batch.complete",
        "stick_batch.ship",
        "stick.revoke",
        "stick_batch.revoke",
        "device.enroll",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} missing from {actions:?}"
        );
    }
}

async fn cancel_reissue_and_all_or_nothing(server: &TestServer) {
    server.tenant("detmold", "10.31.0.0/24").await;
    let ops = &server.admin;

    // An interrupted batch: cancel deletes its devices and tokens.
    let issued = ops.create_stick_batch("detmold", &batch(5)).await.unwrap();
    let cancelled = ops
        .cancel_stick_batch("detmold", &issued.batch.id)
        .await
        .unwrap();
    assert_eq!(cancelled.count, 5);
    assert!(ops.list_devices("detmold").await.unwrap().is_empty());
    assert!(ops.list_stick_batches("detmold").await.unwrap().is_empty());
    let (status, _) = problem_of(
        server
            .anonymous()
            .enroll(&enroll(&issued.sticks[0].token))
            .await,
    );
    assert_eq!(status, 401);

    // Reissue: the old tokens die, the new ones work once complete.
    let issued = ops.create_stick_batch("detmold", &batch(2)).await.unwrap();
    let again = ops
        .reissue_stick_batch("detmold", &issued.batch.id)
        .await
        .unwrap();
    assert_eq!(again.sticks.len(), 2);
    assert_eq!(again.sticks[0].stick_id, issued.sticks[0].stick_id);
    assert_ne!(again.sticks[0].token, issued.sticks[0].token);
    ops.stick_batch_action("detmold", &issued.batch.id, "complete")
        .await
        .unwrap();
    let anonymous = server.anonymous();
    let (status, _) = problem_of(anonymous.enroll(&enroll(&issued.sticks[0].token)).await);
    assert_eq!(status, 401);
    anonymous
        .enroll(&enroll(&again.sticks[0].token))
        .await
        .unwrap();
    let (status, _) = problem_of(ops.reissue_stick_batch("detmold", &issued.batch.id).await);
    assert_eq!(status, 409, "complete batches keep their tokens");

    // max_devices and the address pool hold for whole batches: all or nothing.
    ops.set_quota(
        "detmold",
        &SetQuota {
            max_devices: Some(Some(10)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (status, problem) = problem_of(ops.create_stick_batch("detmold", &batch(9)).await);
    assert_eq!(status, 409);
    assert!(
        problem
            .detail
            .unwrap_or_default()
            .contains("at most 10 devices")
    );
    assert_eq!(ops.list_devices("detmold").await.unwrap().len(), 2);
    ops.set_quota(
        "detmold",
        &SetQuota {
            max_devices: Some(None),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (status, problem) = problem_of(ops.create_stick_batch("detmold", &batch(300)).await);
    assert_eq!(status, 409, "a /24 has no room for 300 more");
    assert!(problem.detail.unwrap_or_default().contains("pool"));
    assert_eq!(ops.list_devices("detmold").await.unwrap().len(), 2);

    // Bad input is a 422 with the field named.
    for bad in [
        batch(0),
        batch(10_001),
        CreateStickBatch {
            count: None,
            ..batch(1)
        },
    ] {
        let (status, problem) = problem_of(ops.create_stick_batch("detmold", &bad).await);
        assert_eq!(status, 422, "{problem:?}");
    }
    let too_many = CreateStickBatch {
        count: Some(1),
        recipients: vec![
            Recipient {
                name: "A".into(),
                ..Recipient::default()
            },
            Recipient {
                name: "B".into(),
                ..Recipient::default()
            },
        ],
        ..batch(1)
    };
    assert_eq!(
        problem_of(ops.create_stick_batch("detmold", &too_many).await).0,
        422
    );
    let no_group = CreateStickBatch {
        group: Some("nonexistent".into()),
        ..batch(1)
    };
    let (status, problem) = problem_of(ops.create_stick_batch("detmold", &no_group).await);
    assert_eq!(status, 422);
    assert!(format!("{problem:?}").contains("nonexistent"));
    let stranger = CreateStickBatch {
        recipients: vec![Recipient {
            name: "A".into(),
            username: Some("nobody".into()),
            ..Recipient::default()
        }],
        ..batch(1)
    };
    let (status, problem) = problem_of(ops.create_stick_batch("detmold", &stranger).await);
    assert_eq!(status, 422);
    assert!(format!("{problem:?}").contains("nobody"));

    // Another tenant's admin sees none of it.
    server.tenant("horn", "10.32.0.0/16").await;
    let other = server
        .login_as(Some("horn"), "it-horn", Role::TenantAdmin)
        .await;
    assert!(other.list_stick_batches("detmold").await.is_err());
    assert!(other.list_sticks("detmold", None).await.is_err());
    assert!(
        other
            .get_stick("horn", &issued.sticks[0].stick_id)
            .await
            .is_err()
    );
    assert!(
        other
            .stick_batch_action("horn", &issued.batch.id, "revoke")
            .await
            .is_err()
    );
    let employee = server
        .login_as(Some("detmold"), "piet", Role::Employee)
        .await;
    assert!(
        employee
            .create_stick_batch("detmold", &batch(1))
            .await
            .is_err()
    );
}

both_backends!(
    batches_states_tokens_and_revocation,
    cancel_reissue_and_all_or_nothing
);

/// A control plane with a self-signed certificate: sticks trust it by the
/// pin in their bundle, and nothing else does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sticks_pin_a_self_signed_control_plane() {
    let server = TestServer::start(crate::support::Backend::Sqlite).await;
    server.tenant("lage", "10.33.0.0/16").await;
    let dir = tempfile::tempdir().unwrap();
    let tls = server::tls::Tls::self_signed(dir.path(), &["127.0.0.1".to_owned()]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let mut settings = server::Settings::new(&url);
    settings.certificate_pin = Some(tls.pin.clone());
    let state = server::AppState::new(server.store.clone(), settings);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(
        server::Server::from_listener(listener, state)
            .with_tls(tls.clone())
            .run(async {
                let _ = stopped.await;
            }),
    );

    // Without the pin the certificate is not trusted; with it, it is.
    let unpinned = client::Client::new(&url, None).unwrap();
    assert!(unpinned.login(&login_request()).await.is_err());
    let pinned = client::Client::pinned(&url, None, Some(&tls.pin)).unwrap();
    let token = pinned.login(&login_request()).await.unwrap().token.unwrap();
    let admin = pinned.with_token(token);
    let issued = admin.create_stick_batch("lage", &batch(2)).await.unwrap();
    assert_eq!(issued.control_plane, url);
    assert_eq!(issued.certificate_pin.as_deref(), Some(tls.pin.as_str()));
    admin
        .stick_batch_action("lage", &issued.batch.id, "complete")
        .await
        .unwrap();

    let homegate = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_homegate"))
            .args(args)
            .output()
            .unwrap()
    };
    tokio::task::block_in_place(|| {
        // The stick's bundle carries the pin; enrolling and later calls use it.
        let good = dir.path().join("good.json");
        std::fs::write(
            &good,
            serde_json::to_vec(&sticks::bundle_for(&issued, &issued.sticks[0])).unwrap(),
        )
        .unwrap();
        let device = dir.path().join("device");
        let enrolled = homegate(&[
            "enroll",
            "--bundle",
            &good.display().to_string(),
            "--device-dir",
            &device.display().to_string(),
        ]);
        assert!(
            enrolled.status.success(),
            "{}",
            String::from_utf8_lossy(&enrolled.stderr)
        );
        let status = homegate(&["status", "--device-dir", &device.display().to_string()]);
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );

        // A bundle whose pin does not match is refused before anything is sent.
        let mut forged = sticks::bundle_for(&issued, &issued.sticks[1]);
        forged.certificate_pin = Some("0".repeat(64));
        let bad = dir.path().join("forged.json");
        std::fs::write(&bad, serde_json::to_vec(&forged).unwrap()).unwrap();
        let refused = homegate(&[
            "enroll",
            "--bundle",
            &bad.display().to_string(),
            "--device-dir",
            &dir.path().join("other").display().to_string(),
        ]);
        assert!(!refused.status.success());
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains("pinned"), "{stderr}");
    });
    let stick = admin
        .get_stick("lage", &issued.sticks[1].stick_id)
        .await
        .unwrap();
    assert_eq!(
        stick.state,
        DeviceState::Prepared,
        "the forged attempt never reached the server"
    );
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
    server.stop().await;
}

fn login_request() -> api_types::auth::LoginRequest {
    api_types::auth::LoginRequest {
        username: "admin".into(),
        password: crate::support::ADMIN_PASSWORD.into(),
        token_name: None,
    }
}
