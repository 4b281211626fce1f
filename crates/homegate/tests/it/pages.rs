//! Issue 19, item 6: lists that grow are paged by cursor and searchable in
//! the API, the console and the CLI; capacity charts are aggregated by the
//! database and capped; large answers are compressed.

use std::collections::HashSet;

use api_types::auth::LoginRequest;
use api_types::infra::{CreateGateway, CreateRegion};
use api_types::tenancy::{
    CreateDevice, CreateTenant, CreateUser, Device, DeviceKind, SessionList, User,
};
use api_types::{Language, Role};
use client::{Client, PageQuery};

use crate::both_backends;
use crate::cli::ok;
use crate::cli_sticks::login;
use crate::employees_receive::{console_login, get_text};
use crate::support::{ADMIN_PASSWORD, TestServer, USER_PASSWORD, public_key};

async fn add_devices(admin: &Client, tenant: &str, prefix: &str, count: usize) -> Vec<Device> {
    let mut devices = Vec::new();
    for n in 0..count {
        devices.push(
            admin
                .create_device(
                    tenant,
                    &CreateDevice {
                        name: format!("{prefix}-{n:03}"),
                        owner: None,
                        kind: DeviceKind::Laptop,
                        public_key: public_key(),
                    },
                )
                .await
                .unwrap(),
        );
    }
    devices
}

async fn add_user(admin: &Client, tenant: &str, username: &str, display: &str, email: &str) {
    admin
        .create_user(
            tenant,
            &CreateUser {
                username: username.to_owned(),
                display_name: Some(display.to_owned()),
                email: Some(email.to_owned()).filter(|e| !e.is_empty()),
                role: Role::Employee,
                password: Some(USER_PASSWORD.to_owned()),
                language: None,
            },
        )
        .await
        .unwrap();
}

/// Walks a list page by page; returns every item in order and the number
/// of pages.
async fn walk<T: serde::de::DeserializeOwned>(
    client: &Client,
    segments: &[&str],
    limit: u32,
    q: Option<&str>,
) -> (Vec<T>, usize) {
    let mut items = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let query = PageQuery {
            limit: Some(limit),
            cursor: cursor.take(),
            q: q.map(str::to_owned),
        };
        let (page, next): (Vec<T>, _) = client.get_page(segments, &query).await.unwrap();
        assert!(page.len() <= limit as usize, "a page longer than its limit");
        pages += 1;
        items.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => return (items, pages),
        }
    }
}

async fn admin_token(server: &TestServer) -> String {
    server
        .anonymous()
        .login(&LoginRequest {
            username: "admin".into(),
            password: ADMIN_PASSWORD.into(),
            token_name: None,
        })
        .await
        .unwrap()
        .token
        .unwrap()
}

async fn raw_get(
    server: &TestServer,
    token: &str,
    path: &str,
    accept_encoding: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .get(format!("{}{path}", server.url))
        .bearer_auth(token);
    if let Some(encoding) = accept_encoding {
        request = request.header("accept-encoding", encoding);
    }
    request.send().await.unwrap()
}

/// Rows that existed before a walk appear exactly once in it, in order,
/// although other rows are inserted while it runs.
async fn pages_neither_repeat_nor_skip(server: &TestServer) {
    let admin = &server.admin;
    server.tenant("pg-a", "10.81.0.0/16").await;
    let before = add_devices(admin, "pg-a", "early", 45).await;
    for n in 0..12 {
        add_user(admin, "pg-a", &format!("user{n:02}"), "Someone", "").await;
    }

    let inserter = tokio::spawn({
        let admin = admin.clone();
        async move {
            add_devices(&admin, "pg-a", "late", 20).await;
            for n in 0..6 {
                add_user(&admin, "pg-a", &format!("late{n}"), "Late", "").await;
            }
        }
    });
    let (devices, pages): (Vec<Device>, _) =
        walk(admin, &["tenants", "pg-a", "devices"], 7, None).await;
    let (users, user_pages): (Vec<User>, _) =
        walk(admin, &["tenants", "pg-a", "users"], 5, None).await;
    inserter.await.unwrap();

    let ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a device came twice");
    for device in &before {
        assert!(
            unique.contains(device.id.as_str()),
            "{} skipped",
            device.name
        );
    }
    assert!(pages >= 7, "{pages} pages of 7 for at least 45 devices");
    assert!(
        devices
            .windows(2)
            .all(|w| (w[0].created_at, &w[0].id) < (w[1].created_at, &w[1].id)),
        "devices out of order"
    );
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    assert!(
        names.windows(2).all(|w| w[0] < w[1]),
        "users repeat or out of order: {names:?}"
    );
    for n in 0..12 {
        assert!(
            names.contains(&format!("user{n:02}").as_str()),
            "user{n:02} skipped"
        );
    }
    assert!(user_pages >= 3);

    // Afterwards everything, once, also through the client's own walk.
    assert_eq!(admin.list_devices("pg-a").await.unwrap().len(), 65);
    // 12 + 6 employees (the tenant has no other users).
    assert_eq!(admin.list_users("pg-a").await.unwrap().len(), 18);
}

async fn lists_search(server: &TestServer) {
    let admin = &server.admin;
    server.tenant("srch", "10.82.0.0/16").await;
    add_user(
        admin,
        "srch",
        "anna.schmidt",
        "Anna Schmidt",
        "anna@lemgo.example",
    )
    .await;
    add_user(
        admin,
        "srch",
        "bert.meier",
        "Bert Meier",
        "bm@lemgo.example",
    )
    .await;
    add_user(admin, "srch", "carla", "Carla 100%", "").await;
    for (name, owner) in [
        ("laptop-1", Some("anna.schmidt")),
        ("phone-x", Some("bert.meier")),
        ("tablet-anna", None),
    ] {
        admin
            .create_device(
                "srch",
                &CreateDevice {
                    name: name.into(),
                    owner: owner.map(str::to_owned),
                    kind: DeviceKind::Phone,
                    public_key: public_key(),
                },
            )
            .await
            .unwrap();
    }
    let users = |q: &'static str| async move {
        let (users, _): (Vec<User>, _) =
            walk(admin, &["tenants", "srch", "users"], 100, Some(q)).await;
        users.into_iter().map(|u| u.username).collect::<Vec<_>>()
    };
    assert_eq!(users("schmidt").await, ["anna.schmidt"]);
    assert_eq!(
        users("  ANNA ").await,
        ["anna.schmidt"],
        "case and blanks do not matter"
    );
    assert_eq!(users("bm@lemgo").await, ["bert.meier"], "email");
    assert_eq!(
        users("100%").await,
        ["carla"],
        "% is a character, not a wildcard"
    );
    assert_eq!(users("0_").await, Vec::<String>::new(), "_ is a character");
    assert_eq!(users("lemgo.example").await.len(), 2);

    let devices = |q: &'static str, limit: u32| async move {
        let (devices, pages): (Vec<Device>, _) =
            walk(admin, &["tenants", "srch", "devices"], limit, Some(q)).await;
        (
            devices.into_iter().map(|d| d.name).collect::<Vec<_>>(),
            pages,
        )
    };
    // By owner and by name, one per page: the next page keeps the search.
    assert_eq!(
        devices("anna", 1).await,
        (vec!["laptop-1".into(), "tablet-anna".into()], 2)
    );
    assert_eq!(devices("BERT", 10).await.0, ["phone-x"]);
    assert_eq!(devices("10.82.", 10).await.0.len(), 3, "tunnel address");

    let token = admin_token(server).await;
    let response = raw_get(
        server,
        &token,
        "/api/v1/tenants/srch/devices?limit=1&q=anna",
        None,
    )
    .await;
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        link.starts_with("</api/v1/tenants/srch/devices?limit=1&cursor=")
            && link.ends_with("&q=anna>; rel=\"next\""),
        "{link}"
    );
    let last = raw_get(
        server,
        &token,
        "/api/v1/tenants/srch/devices?limit=5&q=anna",
        None,
    )
    .await;
    assert!(
        last.headers().get("link").is_none(),
        "no next page, no Link"
    );
}

async fn limits_are_checked(server: &TestServer) {
    server.tenant("lim", "10.83.0.0/16").await;
    let token = admin_token(server).await;
    let long = "x".repeat(101);
    for list in ["users", "devices", "sessions"] {
        for query in [
            "limit=0",
            "limit=1001",
            "limit=-1",
            "limit=ten",
            &format!("q={long}"),
        ] {
            let response = raw_get(
                server,
                &token,
                &format!("/api/v1/tenants/lim/{list}?{query}"),
                None,
            )
            .await;
            assert_eq!(response.status(), 400, "{list}?{query}");
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json",
                "{list}?{query}"
            );
            let problem: serde_json::Value = response.json().await.unwrap();
            assert_eq!(problem["status"], 400, "{problem}");
        }
        for query in ["limit=1", "limit=1000", "q=", "limit=3&q=x"] {
            let response = raw_get(
                server,
                &token,
                &format!("/api/v1/tenants/lim/{list}?{query}"),
                None,
            )
            .await;
            assert_eq!(response.status(), 200, "{list}?{query}");
        }
    }
    let response = raw_get(server, &token, "/api/v1/tenants/lim/users?limit=0", None).await;
    let problem: serde_json::Value = response.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("from 1 to 1000"),
        "{problem}"
    );
    // The ranges are in the OpenAPI document.
    let doc: serde_json::Value = server.anonymous().get(&["openapi.json"]).await.unwrap();
    let params = &doc["paths"]["/tenants/{tenant}/devices"]["get"]["parameters"];
    let limit = params
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["minimum"], 1, "{limit}");
    assert_eq!(limit["schema"]["maximum"], 1000, "{limit}");
}

async fn cursors_stay_in_their_list(server: &TestServer) {
    let admin = &server.admin;
    server.tenant("iso-a", "10.84.0.0/16").await;
    server.tenant("iso-b", "10.85.0.0/16").await;
    add_devices(admin, "iso-a", "a", 3).await;
    add_devices(admin, "iso-b", "b", 3).await;
    let first = |tenant: &'static str, list: &'static str| async move {
        let query = PageQuery {
            limit: Some(1),
            ..PageQuery::default()
        };
        let (_, next): (serde_json::Value, _) = admin
            .get_page(&["tenants", tenant, list], &query)
            .await
            .unwrap();
        next.unwrap()
    };
    let cursor = first("iso-a", "devices").await;
    let with = |cursor: &str| PageQuery {
        limit: Some(1),
        cursor: Some(cursor.to_owned()),
        q: None,
    };
    // Another tenant's list, or another list of the same tenant: refused,
    // not read as a position there.
    for (tenant, list) in [
        ("iso-b", "devices"),
        ("iso-a", "users"),
        ("iso-a", "sessions"),
    ] {
        match admin
            .get_page::<serde_json::Value>(&["tenants", tenant, list], &with(&cursor))
            .await
        {
            Err(client::ClientError::Api { status, problem }) => {
                assert_eq!(status, 422, "{tenant}/{list}");
                assert!(problem.detail.unwrap().contains("cursor"));
            }
            other => panic!("{tenant}/{list}: {other:?}"),
        }
    }
    // A tenant admin of iso-b holding iso-a's cursor learns nothing either.
    let it_b = server
        .login_as(Some("iso-b"), "it-b", Role::TenantAdmin)
        .await;
    let refused = it_b
        .get_page::<Vec<Device>>(&["tenants", "iso-b", "devices"], &with(&cursor))
        .await;
    assert!(
        matches!(refused, Err(client::ClientError::Api { status: 422, .. })),
        "{refused:?}"
    );
    // Garbage is refused the same way.
    let garbage = admin
        .get_page::<Vec<Device>>(&["tenants", "iso-a", "devices"], &with("not-a-cursor!"))
        .await;
    assert!(matches!(
        garbage,
        Err(client::ClientError::Api { status: 422, .. })
    ));
    // And the right list continues after it.
    let (page, _): (Vec<Device>, _) = admin
        .get_page(&["tenants", "iso-a", "devices"], &with(&cursor))
        .await
        .unwrap();
    assert_eq!(page[0].name, "a-001");
}

async fn sessions_page_and_search(server: &TestServer) {
    let admin = &server.admin;
    admin
        .create_region(&CreateRegion {
            name: "pages".into(),
            description: None,
        })
        .await
        .unwrap();
    let created = admin
        .create_gateway(&CreateGateway {
            name: "gw-pages".into(),
            region: "pages".into(),
            endpoint: Some("gw-pages.example:51820".into()),
        })
        .await
        .unwrap();
    let gateway = server
        .store
        .authenticate_gateway(&created.token)
        .await
        .unwrap();
    server
        .store
        .gateway_connected(&gateway, &public_key(), None)
        .await
        .unwrap();
    let tenant = admin
        .create_tenant(&CreateTenant {
            slug: "sess".into(),
            name: "Sessions".into(),
            default_language: None,
            address_pool: "10.86.0.0/16".into(),
            region: Some("pages".into()),
            max_sessions: None,
            max_devices: None,
        })
        .await
        .unwrap();
    for n in 0..7 {
        let key = public_key();
        let device = admin
            .create_device(
                "sess",
                &CreateDevice {
                    name: format!("{}-{n}", if n % 2 == 0 { "even" } else { "odd" }),
                    owner: None,
                    kind: DeviceKind::Laptop,
                    public_key: key.clone(),
                },
            )
            .await
            .unwrap();
        server
            .store
            .assign_gateway(&tenant.id, &device.id)
            .await
            .unwrap();
        let outcome = server
            .store
            .admit_session(&gateway, &key, 60_000)
            .await
            .unwrap();
        assert!(outcome.admitted, "{outcome:?}");
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let query = PageQuery {
            limit: Some(3),
            cursor: cursor.take(),
            q: None,
        };
        let (page, next): (SessionList, _) = admin
            .get_page(&["tenants", "sess", "sessions"], &query)
            .await
            .unwrap();
        assert_eq!(page.in_use, 7, "in_use counts every seat on every page");
        assert!(page.sessions.len() <= 3);
        seen.extend(page.sessions.into_iter().map(|s| s.device_id));
        pages += 1;
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);
    assert_eq!(seen.len(), 7);
    let (odd, _): (SessionList, _) = admin
        .get_page(
            &["tenants", "sess", "sessions"],
            &PageQuery {
                q: Some("ODD".into()),
                ..PageQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(odd.sessions.len(), 3, "{odd:?}");
    let (by_gateway, _): (SessionList, _) = admin
        .get_page(
            &["tenants", "sess", "sessions"],
            &PageQuery {
                q: Some("gw-pages".into()),
                ..PageQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_gateway.sessions.len(), 7);

    // The console's overview pages and searches the sessions too.
    let browser = console_login(server, "admin", ADMIN_PASSWORD).await;
    let page = get_text(&browser, &format!("{}/console/t/sess?q=odd", server.url)).await;
    assert!(page.contains("odd-1") && !page.contains("even-2"), "{page}");
    assert!(page.contains("value=\"odd\""), "search input kept");
}

async fn large_answers_are_compressed(server: &TestServer) {
    server.tenant("gz", "10.87.0.0/16").await;
    add_devices(&server.admin, "gz", "device", 20).await;
    let token = admin_token(server).await;
    let path = "/api/v1/tenants/gz/devices";
    for (accept, expected) in [("gzip", "gzip"), ("br", "br"), ("br, gzip", "br")] {
        let response = raw_get(server, &token, path, Some(accept)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-encoding"], expected, "{accept}");
        let body = response.bytes().await.unwrap();
        if expected == "gzip" {
            assert_eq!(&body[..2], &[0x1f, 0x8b], "a gzip stream");
        }
        assert!(body.len() < 4000, "{} bytes: not compressed", body.len());
    }
    let plain = raw_get(server, &token, path, None).await;
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(plain.bytes().await.unwrap().len() > 4000);
    // Small answers are sent as they are.
    let small = raw_get(server, &token, "/healthz", Some("gzip")).await;
    assert!(small.headers().get("content-encoding").is_none());
    // Console pages too.
    let browser = reqwest::Client::new();
    let login = browser
        .get(format!("{}/login", server.url))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(login.headers()["content-encoding"], "gzip");
}

async fn console_lists_page_and_search(server: &TestServer) {
    let admin = &server.admin;
    server.tenant("con", "10.88.0.0/16").await;
    add_devices(admin, "con", "dev", 55).await;
    add_user(admin, "con", "anna.schmidt", "Anna Schmidt", "").await;
    add_user(admin, "con", "bert.meier", "Bert Meier", "").await;
    let browser = console_login(server, "admin", ADMIN_PASSWORD).await;
    let base = format!("{}/console/t/con/devices", server.url);
    let first = get_text(&browser, &base).await;
    assert!(first.contains("dev-000") && first.contains("dev-049"));
    assert!(!first.contains("dev-050"), "50 rows per page");
    assert!(!first.contains("rel=\"prev\""));
    let next = link_of(&first, "next").unwrap();
    let second = get_text(&browser, &format!("{}{next}", server.url)).await;
    assert!(
        second.contains("dev-050") && second.contains("dev-054") && !second.contains("dev-049")
    );
    assert!(link_of(&second, "next").is_none());
    let back = link_of(&second, "prev").unwrap();
    assert_eq!(back, "/console/t/con/devices");

    // Search keeps its input; a bad cursor or a long search says so at the
    // field, in the user's language, and shows the first page.
    let found = get_text(&browser, &format!("{base}?q=dev-05")).await;
    assert!(found.contains("dev-054") && !found.contains("dev-049"));
    assert!(found.contains("value=\"dev-05\""));
    let stale = get_text(&browser, &format!("{base}?cursor=bm9wZQ&q=dev")).await;
    assert!(stale.contains("id=\"q-error\""), "{stale}");
    assert!(stale.contains("not valid for this list any more"));
    assert!(stale.contains("value=\"dev\"") && stale.contains("dev-000"));
    let long = "y".repeat(101);
    let too_long = get_text(&browser, &format!("{base}?q={long}")).await;
    assert!(too_long.contains("at most 100 characters"));
    assert!(
        too_long.contains(&format!("value=\"{long}\"")),
        "input kept"
    );
    admin
        .create_user(
            "con",
            &CreateUser {
                username: "it-de".into(),
                display_name: None,
                email: None,
                role: Role::TenantAdmin,
                password: Some(USER_PASSWORD.to_owned()),
                language: Some(Language::De),
            },
        )
        .await
        .unwrap();
    let german = console_login(server, "it-de", USER_PASSWORD).await;
    let german = get_text(&german, &format!("{base}?q={long}")).await;
    assert!(german.contains("höchstens 100 Zeichen"), "{german}");

    let users = get_text(
        &browser,
        &format!("{}/console/t/con/users?q=schmidt", server.url),
    )
    .await;
    assert!(users.contains("anna.schmidt") && !users.contains("bert.meier"));
}

fn link_of(page: &str, rel: &str) -> Option<String> {
    let marker = format!("rel=\"{rel}\"");
    let at = page.find(&marker)?;
    let start = page[..at].rfind("href=\"")? + 6;
    let href = page[start..].split('"').next()?;
    Some(
        href.replace("&amp;", "&")
            .replace("&#x2f;", "/")
            .replace("&#47;", "/"),
    )
}

async fn cli_lists_follow_pages(server: &TestServer) {
    server.tenant("cli-p", "10.89.0.0/16").await;
    add_devices(&server.admin, "cli-p", "cli", 23).await;
    let dir = tempfile::tempdir().unwrap();
    login(dir.path(), server);
    let list = |extra: &[&str]| {
        let mut args = vec!["--output", "json", "devices", "list", "--tenant", "cli-p"];
        args.extend_from_slice(extra);
        let out: serde_json::Value = serde_json::from_str(&ok(dir.path(), &args)).unwrap();
        out.as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let all = list(&["--page-size", "4"]);
    assert_eq!(all.len(), 23, "six pages of four followed");
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 23);
    assert_eq!(list(&["--limit", "5", "--page-size", "2"]).len(), 5);
    assert_eq!(
        list(&["--search", "cli-02"]),
        ["cli-020", "cli-021", "cli-022"]
    );
    let users = ok(
        dir.path(),
        &["users", "list", "--tenant", "cli-p", "--limit", "1"],
    );
    assert!(!users.is_empty());
}

/// 30 days of capacity history are drawn from the hourly roll-up, in at
/// most 360 points per chart, each the highest value of its bucket.
async fn capacity_is_aggregated_and_capped(server: &TestServer) {
    server.tenant("cap", "10.90.0.0/16").await;
    server.store.record_usage_sample().await.unwrap();
    let rolled: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM usage_hourly WHERE kind = 'tenant' AND name = 'cap'",
    )
    .fetch_one(server.store.pool())
    .await
    .unwrap();
    assert_eq!(rolled, 1, "each sample also writes its hour's roll-up");

    let hour = 3_600_000_i64;
    let now = store::now_ms();
    let start = now - now % hour - 30 * 24 * hour;
    let mut rows = Vec::new();
    let sessions_at = |h: i64| (h * 7) % 23;
    for h in 0..720 {
        rows.push(format!(
            "('tenant', 'history', {}, {}, 40)",
            start + h * hour,
            sessions_at(h)
        ));
    }
    sqlx::query(&format!(
        "INSERT INTO usage_hourly (kind, name, at, sessions, quota) VALUES {}",
        rows.join(", ")
    ))
    .execute(server.store.pool())
    .await
    .unwrap();
    let span = 30 * 86_400_000;
    let bucket = store::usage::bucket_for(span);
    assert_eq!(bucket, 2 * hour);
    let series = server
        .store
        .usage_series("tenant", now - span, bucket)
        .await
        .unwrap();
    let history = &series["history"];
    assert!(
        (359..=361).contains(&history.len()),
        "{} points",
        history.len()
    );
    for (at, sessions, quota) in history {
        assert_eq!(at % bucket, 0);
        let expected = (0..720)
            .filter(|h| (*at..at + bucket).contains(&(start + h * hour)))
            .map(sessions_at)
            .max()
            .unwrap();
        assert_eq!(*sessions, expected, "the highest of the bucket");
        assert_eq!(*quota, Some(40));
    }

    let browser = console_login(server, "admin", ADMIN_PASSWORD).await;
    let page = get_text(
        &browser,
        &format!("{}/console/capacity?range=30d", server.url),
    )
    .await;
    let chart = &page[page.find("<title id=").unwrap()..];
    let chart = &chart[chart.find(">history<").unwrap()..];
    let line = chart
        .split("stroke=\"#0b57d0\" stroke-width=\"2\" points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let points = line.split(' ').count();
    assert!(points <= 361, "{points} points drawn");
}

both_backends!(
    capacity_is_aggregated_and_capped,
    pages_neither_repeat_nor_skip,
    lists_search,
    limits_are_checked,
    cursors_stay_in_their_list,
    sessions_page_and_search,
    large_answers_are_compressed,
    console_lists_page_and_search,
    cli_lists_follow_pages,
);
