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
