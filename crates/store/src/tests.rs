use super::redact_url;

#[test]
fn redacts_password_but_keeps_the_rest() {
    assert_eq!(
        redact_url("postgres://hg:s3cret@db.example:5432/homegate"),
        "postgres://hg:***@db.example:5432/homegate"
    );
    assert_eq!(
        redact_url("postgres://hg@db/homegate"),
        "postgres://hg@db/homegate"
    );
    assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
}

/// Issue 20 item 12: an acknowledged change survives a power failure — on
/// SQLite every pooled connection syncs the WAL at each commit.
#[tokio::test]
async fn sqlite_commits_are_durable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("d.db").display());
    let store = super::Store::open(&url).await.unwrap();
    let mut connections = Vec::new();
    for _ in 0..3 {
        let mut conn = store.pool().acquire().await.unwrap();
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(synchronous, 2, "synchronous = FULL");
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        connections.push(conn);
    }
    drop(connections);
    store.close().await;
}
