//! E-mail subscribers (double opt-in), webhooks, and the outbox of their
//! deliveries. A notification is written in the transaction of the change
//! it reports, so none is lost when the process dies before sending; a
//! background worker claims due deliveries, sends them and retries failures
//! with growing delays.

use api_types::Language;
use api_types::status::{CreateWebhook, Subscribe, Webhook, WebhookCreated};
use serde_json::{Value, json};

use crate::audit::{self, Change};
use crate::authz::ProviderAccess;
use crate::convert::timestamp;
use crate::credentials::{hash_secret, new_secret};
use crate::{Result, Store, StoreError, Violation, WriteTx, new_id, validate};

/// A confirmation link is valid this long.
const CONFIRM_VALID_MS: i64 = 7 * statuspage::DAY_MS;
/// A claimed delivery is retried after this long if its sender vanished.
const CLAIM_MS: i64 = 60_000;
/// Attempts before a delivery is given up.
pub(super) const MAX_ATTEMPTS: i64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryEvent {
    SubscriptionConfirm,
    IncidentCreated,
    IncidentUpdated,
    IncidentResolved,
}

impl DeliveryEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryEvent::SubscriptionConfirm => "subscription.confirm",
            DeliveryEvent::IncidentCreated => "incident.created",
            DeliveryEvent::IncidentUpdated => "incident.updated",
            DeliveryEvent::IncidentResolved => "incident.resolved",
        }
    }

    fn parse(value: &str) -> Option<DeliveryEvent> {
        [
            DeliveryEvent::SubscriptionConfirm,
            DeliveryEvent::IncidentCreated,
            DeliveryEvent::IncidentUpdated,
            DeliveryEvent::IncidentResolved,
        ]
        .into_iter()
        .find(|event| event.as_str() == value)
    }
}

/// A notification to send now.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    /// `email` or `webhook`.
    pub channel: String,
    pub target_id: String,
    pub event: DeliveryEvent,
    pub payload: Value,
    /// Including this one.
    pub attempt: i64,
}

#[derive(Debug, Clone)]
pub struct Subscriber {
    pub id: String,
    pub email: String,
    pub language: Language,
    pub tenant_slug: Option<String>,
    pub unsubscribe_token: String,
}

#[derive(Clone)]
pub struct WebhookTarget {
    pub url: String,
    pub secret: String,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &redact_webhook_url(&self.url))
            .finish_non_exhaustive()
    }
}

/// How long to wait after failed attempt number `attempt` (1-based):
/// 2 s, 4 s, 8 s, … up to [`MAX_ATTEMPTS`], then `None` (give up).
pub fn retry_delay(attempt: i64) -> Option<i64> {
    (attempt < MAX_ATTEMPTS).then(|| 2_000 * (1_i64 << attempt.clamp(1, 20).saturating_sub(1)))
}

async fn insert_delivery(
    tx: &mut WriteTx<'_>,
    channel: &str,
    target: &str,
    event: DeliveryEvent,
    payload: &Value,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO status_deliveries (id, channel, target_id, event, payload, next_attempt_at, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(new_id())
    .bind(channel)
    .bind(target)
    .bind(event.as_str())
    .bind(payload.to_string())
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Queues the notifications of an incident's change: every webhook, and
/// every confirmed subscriber the incident concerns.
pub(crate) async fn enqueue_incident(
    tx: &mut WriteTx<'_>,
    event: DeliveryEvent,
    incident: &str,
    update: &str,
    components: &[String],
    now: i64,
) -> Result<()> {
    let payload = json!({ "incident_id": incident, "update_id": update });
    let webhooks: Vec<String> = sqlx::query_scalar("SELECT id FROM status_webhooks")
        .fetch_all(tx.conn())
        .await?;
    for webhook in webhooks {
        insert_delivery(tx, "webhook", &webhook, event, &payload, now).await?;
    }
    let subscribers: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT id, tenant_id FROM status_subscribers WHERE confirmed_at IS NOT NULL",
    )
    .fetch_all(tx.conn())
    .await?;
    for (subscriber, tenant) in subscribers {
        let concerned = match tenant {
            None => true,
            Some(tenant) => concerns_tenant(tx, components, &tenant).await?,
        };
        if concerned {
            insert_delivery(tx, "email", &subscriber, event, &payload, now).await?;
        }
    }
    Ok(())
}

/// The same rule as the tenant's page: an incident without components
/// concerns everyone; a region's VPN concerns the tenants it serves; other
/// components concern everyone or the tenants they name.
async fn concerns_tenant(
    tx: &mut WriteTx<'_>,
    components: &[String],
    tenant: &str,
) -> Result<bool> {
    if components.is_empty() {
        return Ok(true);
    }
    let tenant_region: Option<String> =
        sqlx::query_scalar("SELECT region_id FROM tenants WHERE id = $1")
            .bind(tenant)
            .fetch_optional(tx.conn())
            .await?
            .flatten();
    for component in components {
        let (region, named, names_tenant): (Option<String>, i64, i64) = sqlx::query_as(
            "SELECT c.region_id, \
             (SELECT COUNT(*) FROM status_component_tenants t WHERE t.component_id = c.id), \
             (SELECT COUNT(*) FROM status_component_tenants t \
              WHERE t.component_id = c.id AND t.tenant_id = $2) \
             FROM status_components c WHERE c.id = $1",
        )
        .bind(component)
        .bind(tenant)
        .fetch_one(tx.conn())
        .await?;
        let concerned = match (region, &tenant_region) {
            (Some(region), Some(wanted)) => &region == wanted,
            (Some(_), None) => true,
            (None, _) => named == 0 || names_tenant > 0,
        };
        if concerned {
            return Ok(true);
        }
    }
    Ok(false)
}

impl Store {
    /// Starts a subscription: the address gets a link to confirm it. The
    /// answer is the same whether or not the address was subscribed before,
    /// so nobody learns who reads the page.
    pub async fn subscribe(&self, request: Subscribe, now: i64) -> Result<()> {
        let email = validate::email("email", Some(&request.email))?;
        if email.is_empty() {
            return Err(Violation::new("email", "must not be empty").into());
        }
        let tenant = match request.tenant.as_deref().filter(|slug| !slug.is_empty()) {
            None => None,
            Some(slug) => Some(
                sqlx::query_scalar::<_, String>("SELECT id FROM tenants WHERE slug = $1")
                    .bind(slug)
                    .fetch_optional(self.pool())
                    .await?
                    .ok_or_else(|| StoreError::not_found("municipality", slug))?,
            ),
        };
        let language = request.language.unwrap_or(Language::De);
        let mut tx = self.write().await?;
        let confirmed: Option<String> = sqlx::query_scalar(
            "SELECT id FROM status_subscribers WHERE email = $1 AND confirmed_at IS NOT NULL \
             AND COALESCE(tenant_id, '') = COALESCE($2, '')",
        )
        .bind(&email)
        .bind(tenant.as_deref())
        .fetch_optional(tx.conn())
        .await?;
        if confirmed.is_some() {
            return Ok(());
        }
        sqlx::query(
            "DELETE FROM status_subscribers WHERE email = $1 AND confirmed_at IS NULL \
             AND COALESCE(tenant_id, '') = COALESCE($2, '')",
        )
        .bind(&email)
        .bind(tenant.as_deref())
        .execute(tx.conn())
        .await?;
        let id = new_id();
        let confirm = new_secret("hgc");
        sqlx::query(
            "INSERT INTO status_subscribers (id, email, language, tenant_id, confirm_token_hash, \
             unsubscribe_token, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&email)
        .bind(language.code())
        .bind(tenant.as_deref())
        .bind(hash_secret(&confirm))
        .bind(new_secret("hgu"))
        .bind(now)
        .execute(tx.conn())
        .await?;
        insert_delivery(
            &mut tx,
            "email",
            &id,
            DeliveryEvent::SubscriptionConfirm,
            &json!({ "confirm_token": confirm }),
            now,
        )
        .await?;
        tx.commit().await
    }

    /// Confirms a subscription from its link; `false` for an unknown or
    /// expired link.
    pub async fn confirm_subscription(&self, token: &str, now: i64) -> Result<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE status_subscribers SET confirmed_at = $3 \
             WHERE confirm_token_hash = $1 AND created_at > $2",
        )
        .bind(hash_secret(token))
        .bind(now - CONFIRM_VALID_MS)
        .bind(now)
        .execute(tx.conn())
        .await?
        .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(done)
    }

    /// Ends a subscription from the link in its mails; `false` when the
    /// link is unknown (already unsubscribed).
    pub async fn unsubscribe(&self, token: &str) -> Result<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query("DELETE FROM status_subscribers WHERE unsubscribe_token = $1")
            .bind(token)
            .execute(tx.conn())
            .await?
            .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(done)
    }

    /// Confirmed subscribers, for operators (count per language and scope).
    pub async fn count_subscribers(&self, _access: &ProviderAccess) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM status_subscribers WHERE confirmed_at IS NOT NULL",
        )
        .fetch_one(self.pool())
        .await?)
    }

    pub async fn subscriber(&self, id: &str) -> Result<Option<Subscriber>> {
        let row: Option<(String, String, String, Option<String>, String)> = sqlx::query_as(
            "SELECT s.id, s.email, s.language, t.slug, s.unsubscribe_token \
             FROM status_subscribers s LEFT JOIN tenants t ON t.id = s.tenant_id WHERE s.id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(
            |(id, email, language, tenant_slug, unsubscribe_token)| Subscriber {
                id,
                email,
                language: Language::parse(&language).unwrap_or(Language::De),
                tenant_slug,
                unsubscribe_token,
            },
        ))
    }

    pub async fn list_webhooks(&self, _access: &ProviderAccess) -> Result<Vec<Webhook>> {
        let rows: Vec<(String, String, i64, i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT w.id, w.url, w.created_at, \
             (SELECT COUNT(*) FROM status_deliveries d WHERE d.target_id = w.id \
              AND d.delivered_at IS NULL AND d.failed_at IS NULL), \
             (SELECT COUNT(*) FROM status_deliveries d WHERE d.target_id = w.id \
              AND d.failed_at IS NOT NULL), \
             (SELECT d.last_error FROM status_deliveries d WHERE d.target_id = w.id \
              AND d.last_error IS NOT NULL ORDER BY d.created_at DESC LIMIT 1) \
             FROM status_webhooks w ORDER BY w.created_at",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, url, created_at, pending, failed, last_error)| Webhook {
                    id,
                    url: redact_webhook_url(&url),
                    created_at: timestamp(created_at),
                    pending,
                    failed,
                    last_error,
                },
            )
            .collect())
    }

    /// Adds a webhook; its signing secret is returned this once.
    pub async fn create_webhook(
        &self,
        access: &ProviderAccess,
        request: CreateWebhook,
        now: i64,
    ) -> Result<WebhookCreated> {
        let url = webhook_url(&request.url)?;
        let id = new_id();
        let secret = new_secret("hgw");
        let sealed = self.seal(&secret)?;
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO status_webhooks (id, url, secret, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(&url)
        .bind(&sealed)
        .bind(now)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "status.webhook.create",
                target_type: "webhook",
                target_id: &id,
                target_name: &redact_webhook_url(&url),
                tenant: None,
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(WebhookCreated {
            webhook: Webhook {
                id,
                url: redact_webhook_url(&url),
                created_at: timestamp(now),
                pending: 0,
                failed: 0,
                last_error: None,
            },
            secret,
        })
    }

    pub async fn delete_webhook(&self, access: &ProviderAccess, id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        let url: Option<String> =
            sqlx::query_scalar("SELECT url FROM status_webhooks WHERE id = $1")
                .bind(id)
                .fetch_optional(tx.conn())
                .await?;
        let url = url.ok_or_else(|| StoreError::not_found("webhook", id))?;
        sqlx::query("DELETE FROM status_deliveries WHERE target_id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
        sqlx::query("DELETE FROM status_webhooks WHERE id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "status.webhook.delete",
                target_type: "webhook",
                target_id: id,
                target_name: &redact_webhook_url(&url),
                tenant: None,
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await
    }

    pub async fn webhook_target(&self, id: &str) -> Result<Option<WebhookTarget>> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT url, secret FROM status_webhooks WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        row.map(|(url, secret)| {
            Ok(WebhookTarget {
                url,
                secret: self.unseal(&secret)?,
            })
        })
        .transpose()
    }

    /// Claims up to `limit` deliveries that are due. A claim lasts a minute:
    /// another replica's worker picks a delivery up again only if this one
    /// died before reporting.
    pub async fn claim_deliveries(&self, now: i64, limit: i64) -> Result<Vec<Delivery>> {
        let due: Vec<(String, String, String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT id, channel, target_id, event, payload, attempts, next_attempt_at \
             FROM status_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL \
             AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut claimed = Vec::new();
        for (id, channel, target_id, event, payload, attempts, next_attempt_at) in due {
            let won = sqlx::query(
                "UPDATE status_deliveries SET attempts = attempts + 1, next_attempt_at = $3 \
                 WHERE id = $1 AND next_attempt_at = $2 AND delivered_at IS NULL",
            )
            .bind(&id)
            .bind(next_attempt_at)
            .bind(now + CLAIM_MS)
            .execute(self.pool())
            .await?
            .rows_affected()
                == 1;
            let Some(event) = DeliveryEvent::parse(&event) else {
                continue;
            };
            if won {
                claimed.push(Delivery {
                    id,
                    channel,
                    target_id,
                    event,
                    payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
                    attempt: attempts + 1,
                });
            }
        }
        Ok(claimed)
    }

    /// The delivery arrived. Its payload is emptied: a confirmation token
    /// has no business staying in the database.
    pub async fn delivery_succeeded(&self, id: &str, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE status_deliveries SET delivered_at = $2, \
             payload = CASE WHEN event = 'subscription.confirm' THEN '{}' ELSE payload END \
             WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The attempt failed: retry later, or give up after the last attempt.
    pub async fn delivery_failed(&self, delivery: &Delivery, error: &str, now: i64) -> Result<()> {
        let error: String = error.chars().take(500).collect();
        match retry_delay(delivery.attempt) {
            Some(delay) => {
                sqlx::query(
                    "UPDATE status_deliveries SET next_attempt_at = $2, last_error = $3 \
                     WHERE id = $1",
                )
                .bind(&delivery.id)
                .bind(now + delay)
                .bind(&error)
                .execute(self.pool())
                .await?;
            }
            None => {
                sqlx::query(
                    "UPDATE status_deliveries SET failed_at = $2, last_error = $3 WHERE id = $1",
                )
                .bind(&delivery.id)
                .bind(now)
                .bind(&error)
                .execute(self.pool())
                .await?;
            }
        }
        Ok(())
    }

    /// A delivery whose target is gone (unsubscribed, webhook deleted).
    pub async fn delivery_dropped(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM status_deliveries WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// A webhook URL as people may see it (listings, audit log, logs): chat
/// services put their credential into the URL itself, as user:password, a
/// query value or a long path segment (`/services/T0/B0/XXXXXXXX`), so
/// those are shown as `***`; scheme, host, port and short path segments
/// stay, enough to tell webhooks apart.
pub fn redact_webhook_url(input: &str) -> String {
    let Ok(url) = url::Url::parse(input) else {
        return "***".to_owned();
    };
    let mut shown = format!("{}://", url.scheme());
    if !url.username().is_empty() || url.password().is_some() {
        shown.push_str("***@");
    }
    shown.push_str(url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    for segment in url.path_segments().into_iter().flatten() {
        shown.push('/');
        shown.push_str(if segment.len() >= LONG_PATH_SEGMENT {
            "***"
        } else {
            segment
        });
    }
    let keys: Vec<String> = url
        .query_pairs()
        .map(|(key, _)| format!("{key}=***"))
        .collect();
    if !keys.is_empty() {
        shown.push('?');
        shown.push_str(&keys.join("&"));
    }
    shown
}

/// Path segments this long are taken for credentials (ids and tokens of
/// chat webhooks are 20 and more characters; words in paths are shorter).
const LONG_PATH_SEGMENT: usize = 16;

fn webhook_url(input: &str) -> Result<String> {
    let value = input.trim();
    let valid = (value.starts_with("https://") || value.starts_with("http://"))
        && value.len() <= 2_000
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && value
            .split("://")
            .nth(1)
            .is_some_and(|rest| !rest.is_empty());
    if valid {
        Ok(value.to_owned())
    } else {
        Err(Violation::new("url", format!("'{value}' is not an http(s) URL")).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_then_give_up() {
        assert_eq!(retry_delay(1), Some(2_000));
        assert_eq!(retry_delay(2), Some(4_000));
        assert_eq!(retry_delay(7), Some(128_000));
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
    }

    #[test]
    fn webhook_credentials_are_not_shown() {
        use super::redact_webhook_url as shown;
        assert_eq!(
            shown(
                "https://hooks.slack.example/services/T0123ABCD/B0123ABCD/abcdefghijklmnopqrstuvwx"
            ),
            "https://hooks.slack.example/services/T0123ABCD/B0123ABCD/***"
        );
        assert_eq!(
            shown("https://ops:hunter2@status.example:8443/hook?token=s3cret&x=1"),
            "https://***@status.example:8443/hook?token=***&x=***"
        );
        assert_eq!(
            shown("https://status.example/hook"),
            "https://status.example/hook"
        );
        assert!(
            !shown("https://a.example/api/webhooks/123456789012345678/zZ_tok").contains("1234")
        );
    }

    #[test]
    fn webhooks_need_http_urls() {
        assert!(webhook_url("https://hooks.example/status").is_ok());
        assert!(webhook_url("ftp://x").is_err());
        assert!(webhook_url("https://").is_err());
        assert!(webhook_url("https://a b").is_err());
    }
}
