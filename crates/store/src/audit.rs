//! The audit log: written in the same transaction as each change, read with
//! filters, exported as CSV or JSON.

use api_types::audit::{AuditEvent, AuditQuery};
use serde_json::Value;
use sqlx::FromRow;

use crate::authz::{Actor, AuditSource};
use crate::convert::{timestamp, to_ms};
use crate::{Result, Store, StoreError, Violation, WriteTx, new_id, now_ms};

/// One change, as recorded.
pub(crate) struct Change<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub target_name: &'a str,
    /// `(id, slug)` of the tenant concerned.
    pub tenant: Option<(&'a str, &'a str)>,
    pub details: Value,
}

/// Writes the audit event of a change inside its transaction, and marks the
/// transaction as one that may change what gateways serve (unless the
/// action cannot: [`reaches_gateways`]).
pub(crate) async fn record(
    tx: &mut WriteTx<'_>,
    who: &AuditSource,
    change: Change<'_>,
) -> Result<()> {
    if reaches_gateways(change.action) {
        tx.mark_changed();
    }
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, actor_name, action, action_family, \
         target_type, target_id, target_name, tenant_id, tenant_slug, source, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(new_id())
    .bind(now_ms())
    .bind(who.actor_id.as_deref())
    .bind(&who.actor_name)
    .bind(change.action)
    .bind(action_family(change.action))
    .bind(change.target_type)
    .bind(change.target_id)
    .bind(change.target_name)
    .bind(change.tenant.map(|(id, _)| id))
    .bind(change.tenant.map(|(_, slug)| slug))
    .bind(who.source.as_deref())
    .bind(change.details.to_string())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Whether an audited action may change what gateways serve, the access
/// proxy publishes or the grants it holds — all of which follow the
/// configuration version, and every gateway stream rebuilds its
/// configuration when it moves (issue 19, item 3). Logins (thousands on a
/// Monday morning; MFA-before-VPN reads `last_mfa_at` when a device is
/// admitted, not the configuration), the proxy's access log, the status
/// page and the manual do not. Everything else does, also what is added
/// later: an action missing here costs a rebuild, never a stale gateway.
pub(crate) fn reaches_gateways(action: &str) -> bool {
    !(action == "user.login"
        || action == "manual.update"
        || action.starts_with("proxy.")
        || action.starts_with("status."))
}

#[derive(FromRow)]
struct AuditRow {
    id: String,
    at: i64,
    actor_name: String,
    action: String,
    target_type: String,
    target_id: String,
    target_name: String,
    tenant_slug: Option<String>,
    source: Option<String>,
    details: String,
}

impl From<AuditRow> for AuditEvent {
    fn from(row: AuditRow) -> AuditEvent {
        AuditEvent {
            id: row.id,
            at: timestamp(row.at),
            actor: row.actor_name,
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            target_name: row.target_name,
            tenant: row.tenant_slug,
            source: row.source,
            details: serde_json::from_str(&row.details).unwrap_or(Value::Null),
        }
    }
}

/// The family of an action: the part before the first dot (`user` of
/// `user.mfa.totp.enable`), which the audit filter `action=user.` selects.
fn action_family(action: &str) -> &str {
    action.split('.').next().unwrap_or(action)
}

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

fn parse_time(field: &str, text: &str) -> Result<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(to_ms)
        .map_err(|_| {
            StoreError::Invalid(vec![Violation::new(
                field,
                format!("'{text}' is not an RFC 3339 time such as 2026-11-23T08:00:00Z"),
            )])
        })
}

impl Store {
    /// Audit events visible to `actor`: everything for provider staff, the
    /// own tenant's events for tenant admins, nothing for employees.
    /// `limit: None` returns all matches (export).
    pub async fn audit_events(
        &self,
        actor: &Actor,
        query: &AuditQuery,
        limit: Option<u32>,
    ) -> Result<Vec<AuditEvent>> {
        let forced_tenant = match actor.provider(crate::ProviderNeed::Staff) {
            Ok(_) => None,
            Err(_) => {
                // Provider staff with a token restricted to one tenant read
                // that tenant's events (they read all with a full-scope
                // credential); tenant admins read their own tenant's.
                let (tenant, need) = match (&actor.token_tenant_id, actor.role) {
                    (
                        Some(scope),
                        api_types::Role::ProviderAdmin | api_types::Role::ProviderOperator,
                    ) => (scope.clone(), crate::TenantNeed::View),
                    _ => (
                        actor.home_tenant_id.clone().ok_or_else(|| {
                            StoreError::Forbidden("you may not read the audit log".to_owned())
                        })?,
                        crate::TenantNeed::Manage,
                    ),
                };
                let access = self.tenant_access(actor, &tenant, need).await?;
                // Another tenant is as unknown as one that does not exist.
                if let Some(tenant) = &query.tenant
                    && tenant != access.tenant_slug()
                {
                    return Err(StoreError::not_found("tenant", tenant));
                }
                Some(access.tenant_id().to_owned())
            }
        };

        let mut sql = String::from(
            "SELECT id, at, actor_name, action, target_type, target_id, target_name, \
             tenant_slug, source, details FROM audit_log WHERE 1 = 1",
        );
        let mut args: Vec<SqlArg> = Vec::new();
        let mut push = |sql: &mut String, clause: &str, arg: SqlArg| {
            args.push(arg);
            sql.push_str(&clause.replace('?', &format!("${}", args.len())));
        };
        if let Some(tenant_id) = forced_tenant {
            push(&mut sql, " AND tenant_id = ?", SqlArg::Text(tenant_id));
        }
        if let Some(tenant) = &query.tenant {
            push(
                &mut sql,
                " AND tenant_slug = ?",
                SqlArg::Text(tenant.clone()),
            );
        }
        if let Some(actor_name) = &query.actor {
            push(
                &mut sql,
                " AND actor_name = ?",
                SqlArg::Text(actor_name.clone()),
            );
        }
        if let Some(action) = &query.action {
            // Byte order on both engines, which the index on `action` has
            // (PostgreSQL's default collation would ignore the dot).
            let action_col = if self.backend == crate::Backend::Postgres {
                " AND action COLLATE \"C\""
            } else {
                " AND action"
            };
            if let Some(prefix) = action.strip_suffix('.') {
                // The family (before the first dot) has its own indexed
                // column; a deeper prefix is a range within it (`LIKE`
                // would use no index on PostgreSQL, nor on SQLite).
                push(
                    &mut sql,
                    " AND action_family = ?",
                    SqlArg::Text(action_family(prefix).to_owned()),
                );
                if prefix.contains('.') {
                    push(
                        &mut sql,
                        &format!("{action_col} >= ?"),
                        SqlArg::Text(format!("{prefix}.")),
                    );
                    push(
                        &mut sql,
                        &format!("{action_col} < ?"),
                        SqlArg::Text(format!("{prefix}/")),
                    );
                }
            } else {
                push(
                    &mut sql,
                    &format!("{action_col} = ?"),
                    SqlArg::Text(action.clone()),
                );
            }
        }
        if let Some(since) = &query.since {
            push(
                &mut sql,
                " AND at >= ?",
                SqlArg::Int(parse_time("since", since)?),
            );
        }
        if let Some(until) = &query.until {
            push(
                &mut sql,
                " AND at < ?",
                SqlArg::Int(parse_time("until", until)?),
            );
        }
        if let Some(before) = &query.before {
            push(&mut sql, " AND id < ?", SqlArg::Text(before.clone()));
        }
        sql.push_str(" ORDER BY at DESC, id DESC");
        if let Some(limit) = limit {
            sql.push_str(&format!(" LIMIT {}", limit.clamp(1, MAX_LIMIT)));
        }

        let mut statement = sqlx::query_as::<_, AuditRow>(&sql);
        for arg in args {
            statement = match arg {
                SqlArg::Text(text) => statement.bind(text),
                SqlArg::Int(int) => statement.bind(int),
            };
        }
        let rows = statement.fetch_all(self.pool()).await?;
        // A tenant filter that names no tenant, now or in the log, is a
        // typo: say so instead of answering with nothing.
        if rows.is_empty()
            && let Some(tenant) = &query.tenant
            && actor.provider(crate::ProviderNeed::Staff).is_ok()
        {
            let known: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM tenants WHERE slug = $1) \
                 + (SELECT COUNT(*) FROM (SELECT 1 FROM audit_log WHERE tenant_slug = $1 \
                 LIMIT 1) AS seen)",
            )
            .bind(tenant)
            .fetch_one(self.pool())
            .await?;
            if known == 0 {
                return Err(StoreError::not_found("tenant", tenant));
            }
        }
        Ok(rows.into_iter().map(AuditEvent::from).collect())
    }
}

enum SqlArg {
    Text(String),
    Int(i64),
}

/// Renders events as CSV with a header row.
pub fn to_csv(events: &[AuditEvent]) -> String {
    let mut out = String::from(
        "id,at,actor,action,target_type,target_id,target_name,tenant,source,details\n",
    );
    for event in events {
        let at = event
            .at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let fields = [
            event.id.as_str(),
            at.as_str(),
            event.actor.as_str(),
            event.action.as_str(),
            event.target_type.as_str(),
            event.target_id.as_str(),
            event.target_name.as_str(),
            event.tenant.as_deref().unwrap_or(""),
            event.source.as_deref().unwrap_or(""),
            &event.details.to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Quotes a CSV field (RFC 4180) and defuses spreadsheet formulas.
fn csv_field(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
    }

    #[test]
    fn what_reaches_gateways() {
        for quiet in [
            "user.login",
            "proxy.access",
            "proxy.denied",
            "status.incident.create",
            "manual.update",
        ] {
            assert!(!super::reaches_gateways(quiet), "{quiet}");
        }
        for change in [
            "device.revoke",
            "user.update",
            "user.delete",
            "user.password.change",
            "access_rule.create",
            "tenant.quota.set",
            "session.end",
            "something.new",
        ] {
            assert!(super::reaches_gateways(change), "{change}");
        }
    }

    #[test]
    fn action_families() {
        assert_eq!(super::action_family("user.mfa.totp.enable"), "user");
        assert_eq!(super::action_family("status"), "status");
    }
}
