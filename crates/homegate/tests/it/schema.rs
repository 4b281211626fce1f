//! The two migration sets describe the same schema.

use sqlx::Row;

use crate::support::{Backend, TestDb};

async fn columns(backend: Backend) -> Vec<(String, String)> {
    let (db, url) = TestDb::create(backend).await;
    let store = store::Store::open(&url).await.unwrap();
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m \
             JOIN pragma_table_info(m.name) p WHERE m.type = 'table' \
             AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name \
             FROM information_schema.columns WHERE table_schema = 'public' \
             AND table_name <> '_sqlx_migrations'"
        }
    };
    let rows = sqlx::query(sql).fetch_all(store.pool()).await.unwrap();
    let mut columns: Vec<(String, String)> = rows
        .iter()
        .map(|row| (row.get("table_name"), row.get("column_name")))
        .collect();
    columns.sort();
    store.close().await;
    drop(db);
    columns
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_match() {
    let sqlite = columns(Backend::Sqlite).await;
    let postgres = columns(Backend::Postgres).await;
    assert!(sqlite.len() > 50);
    assert_eq!(sqlite, postgres);
}

#[test]
fn every_migration_exists_for_both_engines() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/migrations");
    let names = |engine: &str| {
        let mut names: Vec<String> = std::fs::read_dir(root.join(engine))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names("sqlite"), names("postgres"));
}
