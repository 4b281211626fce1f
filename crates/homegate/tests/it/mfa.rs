//! Second factors: TOTP with replay protection, recovery codes, WebAuthn
//! with a software passkey, lockout, and MFA before VPN sessions.

use api_types::Role;
use api_types::auth::{LoginRequest, LoginResponse, MfaCode, MfaTicket, TotpCode, WebauthnFinish};
use api_types::tenancy::{CreateDevice, DeviceKind, SetPolicy};
use totp_rs::{Algorithm, Builder, Secret};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::both_backends;
use crate::support::{TestServer, USER_PASSWORD, problem_of, public_key};

both_backends!(
    totp_and_recovery_codes,
    webauthn_passkey_login,
    mfa_before_vpn,
    an_administrator_resets_a_forgotten_password
);

fn code_at(secret: &str, offset_secs: u64) -> String {
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret).unwrap())
        .with_account_name("x")
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now + offset_secs).to_string()
}

async fn password_step(server: &TestServer, username: &str) -> LoginResponse {
    server
        .anonymous()
        .login(&LoginRequest {
            username: username.into(),
            password: USER_PASSWORD.into(),
            token_name: None,
        })
        .await
        .unwrap()
}

async fn totp_and_recovery_codes(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    let anna = server.login_as(Some("lemgo"), "anna", Role::Employee).await;
    let setup = anna.totp_start(&Default::default()).await.unwrap();
    assert!(setup.otpauth_url.starts_with("otpauth://totp/"));
    assert!(setup.qr_svg.contains("<svg"));
    let (status, _) = problem_of(
        anna.totp_confirm(&TotpCode {
            code: "000000".into(),
        })
        .await,
    );
    assert_eq!(status, 422);
    let confirm_code = code_at(&setup.secret, 0);
    let recovery = anna
        .totp_confirm(&TotpCode {
            code: confirm_code.clone(),
        })
        .await
        .unwrap();
    assert_eq!(recovery.codes.len(), 10);
    assert!(anna.mfa_status().await.unwrap().totp_enabled);

    // The password alone no longer logs in.
    let first = password_step(server, "anna").await;
    assert!(first.token.is_none());
    let challenge = first.mfa.unwrap();
    assert!(challenge.methods.contains(&"totp".to_owned()));
    // The code used for confirming cannot be replayed.
    let (status, problem) = problem_of(
        server
            .anonymous()
            .login_totp(&MfaCode {
                ticket: challenge.ticket.clone(),
                code: confirm_code,
            })
            .await,
    );
    assert_eq!(status, 401, "{problem:?}");
    // The next code (within the allowed skew) works, once.
    let next = code_at(&setup.secret, 30);
    let done = server
        .anonymous()
        .login_totp(&MfaCode {
            ticket: challenge.ticket.clone(),
            code: next.clone(),
        })
        .await
        .unwrap();
    assert!(done.token.is_some());
    let status = anna.mfa_status().await.unwrap();
    assert!(status.last_mfa_at.is_some());
    assert_eq!(
        problem_of(
            server
                .anonymous()
                .login_totp(&MfaCode {
                    ticket: challenge.ticket,
                    code: next,
                })
                .await
        )
        .0,
        401,
        "a used ticket is gone"
    );

    // A recovery code works once.
    let second = password_step(server, "anna").await.mfa.unwrap();
    let with_recovery = server
        .anonymous()
        .login_recovery(&MfaCode {
            ticket: second.ticket.clone(),
            code: recovery.codes[0].to_uppercase(),
        })
        .await
        .unwrap();
    assert!(with_recovery.token.is_some());
    let third = password_step(server, "anna").await.mfa.unwrap();
    assert_eq!(
        problem_of(
            server
                .anonymous()
                .login_recovery(&MfaCode {
                    ticket: third.ticket.clone(),
                    code: recovery.codes[0].clone(),
                })
                .await
        )
        .0,
        401
    );
    assert_eq!(anna.mfa_status().await.unwrap().recovery_codes_left, 9);

    // Wrong second factors count towards the lockout.
    for _ in 0..4 {
        let _ = server
            .anonymous()
            .login_totp(&MfaCode {
                ticket: third.ticket.clone(),
                code: "123456".into(),
            })
            .await;
    }
    let (status, _) = problem_of(
        server
            .anonymous()
            .login_totp(&MfaCode {
                ticket: third.ticket.clone(),
                code: "123456".into(),
            })
            .await,
    );
    assert_eq!(status, 429);
}

async fn webauthn_passkey_login(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    let bob = server
        .login_as(Some("lemgo"), "bob", Role::TenantAdmin)
        .await;
    let origin = url::Url::parse(&server.url.replace("127.0.0.1", "localhost")).unwrap();
    let mut authenticator = SoftPasskey::new(true);

    let registration = bob.webauthn_register_start().await.unwrap();
    let credential = authenticator
        .do_registration(
            origin.clone(),
            serde_json::from_value(registration.options).unwrap(),
        )
        .unwrap();
    bob.webauthn_register_finish(&WebauthnFinish {
        ticket: registration.ticket,
        credential: serde_json::to_value(credential).unwrap(),
        name: Some("YubiKey".into()),
    })
    .await
    .unwrap();
    let status = bob.mfa_status().await.unwrap();
    assert_eq!(status.webauthn.len(), 1);
    assert_eq!(status.webauthn[0].name, "YubiKey");

    let first = password_step(server, "bob").await;
    let challenge = first.mfa.unwrap();
    assert!(challenge.methods.contains(&"webauthn".to_owned()));
    let anonymous = server.anonymous();
    let ceremony = anonymous
        .login_webauthn_start(&MfaTicket {
            ticket: challenge.ticket,
        })
        .await
        .unwrap();
    let assertion = authenticator
        .do_authentication(origin, serde_json::from_value(ceremony.options).unwrap())
        .unwrap();
    let done = anonymous
        .login_webauthn_finish(&WebauthnFinish {
            ticket: ceremony.ticket,
            credential: serde_json::to_value(assertion).unwrap(),
            name: None,
        })
        .await
        .unwrap();
    let client = server.anonymous().with_token(done.token.unwrap());
    assert_eq!(client.me().await.unwrap().user.username, "bob");
    assert!(
        bob.mfa_status().await.unwrap().webauthn[0]
            .last_used_at
            .is_some()
    );
}

async fn mfa_before_vpn(server: &TestServer) {
    server.tenant("lemgo", "10.20.0.0/16").await;
    let admin = &server.admin;
    admin
        .create_region(&api_types::infra::CreateRegion {
            name: "south".into(),
            description: None,
        })
        .await
        .unwrap();
    let gateway = admin
        .create_gateway(&api_types::infra::CreateGateway {
            name: "g1".into(),
            region: "south".into(),
            endpoint: None,
        })
        .await
        .unwrap();
    let identity = server
        .store
        .authenticate_gateway(&gateway.token)
        .await
        .unwrap();
    let carl = server.login_as(Some("lemgo"), "carl", Role::Employee).await;
    let key = public_key();
    admin
        .create_device(
            "lemgo",
            &CreateDevice {
                name: "carl-laptop".into(),
                owner: Some("carl".into()),
                kind: DeviceKind::Laptop,
                public_key: key.clone(),
            },
        )
        .await
        .unwrap();
    admin
        .set_policy(
            "lemgo",
            &SetPolicy {
                mfa_before_vpn_hours: Some(Some(8)),
                ..SetPolicy::default()
            },
        )
        .await
        .unwrap();

    let refused = server
        .store
        .admit_session(&identity, &key, 60_000)
        .await
        .unwrap();
    assert!(!refused.admitted);
    let (reason, message) = refused.refusal.unwrap();
    assert_eq!(reason, "mfa_required");
    assert!(message.contains("8 hours"));
    let mine = carl.my_refusals().await.unwrap();
    assert_eq!(mine[0].reason, "mfa_required");
    // The portal tells him what helps: without a second factor, logging in
    // again would not; setting one up does.
    let browser = crate::employees_receive::console_login(server, "carl", USER_PASSWORD).await;
    let portal_url = format!("{}/portal", server.url);
    let portal = crate::employees_receive::get_text(&browser, &portal_url).await;
    assert!(portal.contains("Set one up below"), "{portal}");
    // The refusal in his language, from its code.
    assert!(portal.contains("log in to the portal with it"), "{portal}");
    crate::employees_receive::choose_language(&browser, server, "de").await;
    let german = crate::employees_receive::get_text(&browser, &portal_url).await;
    assert!(
        german.contains("Ihre Organisation verlangt vor der VPN-Nutzung"),
        "{german}"
    );

    // After a login with a second factor, the device gets in.
    let setup = carl.totp_start(&Default::default()).await.unwrap();
    carl.totp_confirm(&TotpCode {
        code: code_at(&setup.secret, 0),
    })
    .await
    .unwrap();
    let portal = crate::employees_receive::get_text(&browser, &portal_url).await;
    assert!(
        portal.contains("melden Sie sich ab und damit erneut an"),
        "{portal}"
    );
    let challenge = password_step(server, "carl").await.mfa.unwrap();
    server
        .anonymous()
        .login_totp(&MfaCode {
            ticket: challenge.ticket,
            code: code_at(&setup.secret, 30),
        })
        .await
        .unwrap();
    let admitted = server
        .store
        .admit_session(&identity, &key, 60_000)
        .await
        .unwrap();
    assert!(admitted.admitted, "{admitted:?}");
}

/// A login with `password`: the response, or the HTTP status.
async fn try_login(
    server: &TestServer,
    username: &str,
    password: &str,
) -> Result<LoginResponse, u16> {
    server
        .anonymous()
        .login(&LoginRequest {
            username: username.into(),
            password: password.into(),
            token_name: None,
        })
        .await
        .map_err(|error| problem_of::<()>(Err(error)).0)
}

/// Issue 24 item 7: an IT coordinator resets an employee's forgotten
/// password (API, CLI, console), and after a lost phone the second factor
/// too; the employee's logins end, the event is audited.
async fn an_administrator_resets_a_forgotten_password(server: &TestServer) {
    use api_types::tenancy::ResetPassword;
    server.tenant("lemgo", "10.20.0.0/16").await;
    let coordinator = server
        .login_as(Some("lemgo"), "it-lemgo", Role::TenantAdmin)
        .await;
    let anna = server.login_as(Some("lemgo"), "anna", Role::Employee).await;
    let setup = anna.totp_start(&Default::default()).await.unwrap();
    anna.totp_confirm(&TotpCode {
        code: code_at(&setup.secret, 0),
    })
    .await
    .unwrap();

    // The password only: her authenticator app stays.
    let reset = coordinator
        .reset_password("lemgo", "anna", &ResetPassword::default())
        .await
        .unwrap();
    assert_eq!(reset.logins_ended, 1);
    assert_eq!(problem_of(anna.me().await).0, 401, "her login ended");
    assert_eq!(
        try_login(server, "anna", USER_PASSWORD).await.err(),
        Some(401)
    );
    let login = try_login(server, "anna", &reset.one_time_password)
        .await
        .unwrap();
    assert!(login.mfa.is_some(), "the second factor is still asked");

    // A lost phone: the second factor goes too (through the CLI).
    let dir = tempfile::tempdir().unwrap();
    crate::cli_sticks::login(dir.path(), server);
    let out = crate::cli::ok(
        dir.path(),
        &[
            "users",
            "reset-password",
            "--tenant",
            "lemgo",
            "anna",
            "--second-factor",
        ],
    );
    let password = out
        .lines()
        .find_map(|line| {
            line.strip_prefix(
                "One-time password (shown only now; they must change it at their next login): ",
            )
        })
        .unwrap_or_else(|| panic!("{out}"))
        .trim()
        .to_owned();
    let login = try_login(server, "anna", &password).await.unwrap();
    assert!(login.mfa.is_none(), "no second factor left");
    assert!(login.password_change_required);
    let anna = server.anonymous().with_token(login.token.unwrap());
    let own = "anna's very own password";
    anna.change_password(&api_types::auth::ChangePassword {
        current_password: password.clone(),
        new_password: own.into(),
    })
    .await
    .unwrap();
    let mfa = anna.mfa_status().await.unwrap();
    assert!(!mfa.totp_enabled);
    assert_eq!(mfa.recovery_codes_left, 0);

    // The console asks first, then shows the password once.
    let browser = crate::employees_receive::console_login(server, "it-lemgo", USER_PASSWORD).await;
    let users = crate::employees_receive::get_text(
        &browser,
        &format!("{}/console/t/lemgo/users", server.url),
    )
    .await;
    let csrf = crate::employees_receive::csrf_of(&users);
    let action = format!("{}/console/t/lemgo/users/anna/reset-password", server.url);
    let asked = crate::employees_receive::post_text(&browser, &action, &[("csrf", &csrf)]).await;
    assert!(asked.contains("Reset the password of anna?"), "{asked}");
    assert!(
        try_login(server, "anna", own).await.is_ok(),
        "nothing reset yet"
    );
    let shown = crate::employees_receive::post_text(
        &browser,
        &action,
        &[("csrf", &csrf), ("confirmed", "yes")],
    )
    .await;
    assert!(shown.contains("New one-time password"), "{shown}");
    assert_eq!(try_login(server, "anna", own).await.err(), Some(401));

    let audit = server
        .admin
        .audit(&api_types::audit::AuditQuery {
            tenant: Some("lemgo".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let resets: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "user.password.reset" && e.target_name == "anna")
        .collect();
    assert_eq!(resets.len(), 3, "{resets:?}");
    assert!(resets.iter().any(|e| e.details["second_factor"] == true));
    assert_eq!(resets[0].actor, "it-lemgo");
}
