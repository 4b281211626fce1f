//! Write transactions cancelled at any point — a request timing out, a
//! client going away — leave the database writable: no pooled connection
//! comes back inside a transaction (issue 19, item 2).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use api_types::Role;
use api_types::tenancy::CreateGroup;
use store::{Actor, TenantNeed};

use crate::both_backends;
use crate::support::{TestServer, USER_PASSWORD};

both_backends!(cancelled_writes_leave_the_database_writable);

/// Polls `inner` at most `polls` times, then drops it where it stands: with
/// `polls` from 1 upwards this cancels at every await point in turn.
struct CancelAfter<F> {
    inner: Pin<Box<F>>,
    polls: u32,
}

impl<F: Future> Future for CancelAfter<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.polls == 0 {
            return Poll::Ready(None);
        }
        self.polls -= 1;
        self.inner.as_mut().poll(cx).map(Some)
    }
}

/// xorshift64: varied, reproducible cancellation points (the seed is printed).
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

async fn cancelled_writes_leave_the_database_writable(server: &TestServer) {
    let tenant = server.tenant("cancel", "10.77.0.0/16").await;
    let employee = server
        .login_as(Some("cancel"), "cancel-employee", Role::Employee)
        .await;
    drop(employee);
    let me = server.admin.me().await.unwrap();
    let actor = Actor {
        user_id: me.user.id.clone(),
        username: me.user.username.clone(),
        role: Role::ProviderAdmin,
        home_tenant_id: None,
        token_tenant_id: None,
        source: None,
        password_change_required: false,
        token_id: None,
    };
    let access = server
        .store
        .tenant_access(&actor, &tenant.id, TenantNeed::Manage)
        .await
        .unwrap();

    let mut seed = u64::try_from(uuid::Uuid::new_v4().as_u128() >> 64).unwrap() | 1;
    println!("cancellation seed {seed}");
    let (mut finished, mut cancelled) = (0_u32, 0_u32);
    for round in 0..300_u32 {
        let store = server.store.clone();
        let access = access.clone();
        let write = async move {
            store
                .create_group(
                    &access,
                    CreateGroup {
                        name: format!("cancelled-{round}"),
                        description: None,
                    },
                )
                .await
        };
        let random = next(&mut seed);
        let outcome = match round % 3 {
            // Every await point of begin, body and commit in turn.
            0 => {
                let polls = u32::try_from(random % 24).unwrap() + 1;
                CancelAfter {
                    inner: Box::pin(write),
                    polls,
                }
                .await
            }
            // A timeout of a varying length, like the server's TimeoutLayer.
            1 => tokio::time::timeout(Duration::from_micros(random % 4_000), write)
                .await
                .ok(),
            // A task aborted after a varying number of scheduler turns.
            _ => {
                let task = tokio::spawn(write);
                for _ in 0..random % 64 {
                    tokio::task::yield_now().await;
                }
                task.abort();
                task.await.ok()
            }
        };
        match outcome {
            Some(result) => {
                // A write that finished must have worked, cancelled ones before it
                // notwithstanding ("database is locked" was the defect).
                result.unwrap_or_else(|e| panic!("write after cancellations failed: {e:?}"));
                finished += 1;
            }
            None => cancelled += 1,
        }
    }
    println!("{finished} writes finished, {cancelled} cancelled");
    assert!(cancelled > 0, "no write was cancelled");

    // Every connection of the pool is used again: writes and logins work and
    // their results are visible (committed, not left in an open transaction).
    let mut created = Vec::new();
    for n in 0..24 {
        let name = format!("after-{n}");
        server
            .admin
            .create_group(
                "cancel",
                &CreateGroup {
                    name: name.clone(),
                    description: None,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("write {n} after cancellations failed: {e:?}"));
        created.push(name);
        let client = server.login("cancel-employee", USER_PASSWORD).await;
        client.me().await.unwrap();
    }
    let groups = server.admin.list_groups("cancel").await.unwrap();
    for name in &created {
        assert!(
            groups.iter().any(|group| &group.name == name),
            "group {name} was answered as created but is not committed"
        );
    }
}
