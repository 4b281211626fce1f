//! Sends the status page's queued notifications: e-mails to subscribers
//! over SMTP (lettre) and signed webhooks (reqwest). The queue lives in the
//! database (`store::status`); this loop only claims, sends and reports.

use api_types::Language;
use api_types::status::{Incident, IncidentKind};
use hmac::{Hmac, Mac};
use i18n::Tr;
use sha2::Sha256;
use store::now_ms;
use store::status::{Delivery, DeliveryEvent};

use crate::AppState;
#[cfg(test)]
use crate::mail::SmtpSettings;

/// Header carrying `sha256=HEX` of HMAC-SHA256(secret, "TIMESTAMP.BODY").
pub const SIGNATURE_HEADER: &str = "x-homegate-signature";
pub const TIMESTAMP_HEADER: &str = "x-homegate-timestamp";

/// The signature of a webhook body sent at `timestamp` (Unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Sends every delivery that is due; returns how many were attempted.
pub async fn deliver_due(state: &AppState) -> usize {
    let deliveries = match state.store.claim_deliveries(now_ms(), 50).await {
        Ok(deliveries) => deliveries,
        Err(error) => {
            tracing::warn!(%error, "cannot read the notification queue");
            return 0;
        }
    };
    let attempted = deliveries.len();
    for delivery in deliveries {
        let outcome = match delivery.channel.as_str() {
            "email" => send_mail(state, &delivery).await,
            "webhook" => send_webhook(state, &delivery).await,
            other => Err(Outcome::Drop(format!("unknown channel {other}"))),
        };
        let reported = match outcome {
            Ok(()) => {
                tracing::info!(delivery = %delivery.id, channel = %delivery.channel,
                    event = delivery.event.as_str(), "notification delivered");
                state.store.delivery_succeeded(&delivery.id, now_ms()).await
            }
            Err(Outcome::Retry(error)) => {
                tracing::warn!(delivery = %delivery.id, channel = %delivery.channel,
                    attempt = delivery.attempt, %error, "notification failed");
                state
                    .store
                    .delivery_failed(&delivery, &error, now_ms())
                    .await
            }
            Err(Outcome::Drop(reason)) => {
                tracing::info!(delivery = %delivery.id, %reason, "notification dropped");
                state.store.delivery_dropped(&delivery.id).await
            }
        };
        if let Err(error) = reported {
            tracing::warn!(%error, "cannot record a delivery's outcome");
        }
    }
    attempted
}

enum Outcome {
    /// Try again later.
    Retry(String),
    /// The target is gone; nothing to send.
    Drop(String),
}

async fn incident_of(state: &AppState, delivery: &Delivery) -> Result<Incident, Outcome> {
    let id = delivery.payload["incident_id"].as_str().unwrap_or_default();
    state
        .store
        .public_incident(id, state.settings.incident_stale_after_ms, now_ms())
        .await
        .map_err(|error| Outcome::Drop(format!("incident {id}: {error}")))
}

async fn send_mail(state: &AppState, delivery: &Delivery) -> Result<(), Outcome> {
    let Some(mailer) = &state.mailer else {
        return Err(Outcome::Retry("SMTP is not configured".into()));
    };
    let subscriber = state
        .store
        .subscriber(&delivery.target_id)
        .await
        .map_err(|error| Outcome::Retry(error.to_string()))?
        .ok_or_else(|| Outcome::Drop("unsubscribed".into()))?;
    let tr = Tr::new(subscriber.language);
    let base = &state.settings.public_url;
    let page = match &subscriber.tenant_slug {
        Some(slug) => format!("{base}/status/{slug}"),
        None => format!("{base}/status"),
    };
    let (subject, body) = match delivery.event {
        DeliveryEvent::SubscriptionConfirm => {
            let token = delivery.payload["confirm_token"]
                .as_str()
                .unwrap_or_default();
            let link = format!(
                "{base}/status/subscriptions/confirm?token={token}&language={}",
                tr.code()
            );
            (
                tr.t("mail-confirm-subject"),
                tr.args("mail-confirm-body", &[("link", &link), ("page", &page)]),
            )
        }
        _ => {
            let incident = incident_of(state, delivery).await?;
            let update_id = delivery.payload["update_id"].as_str().unwrap_or_default();
            let unsubscribe = format!(
                "{base}/status/subscriptions/unsubscribe?token={}&language={}",
                subscriber.unsubscribe_token,
                tr.code()
            );
            incident_mail(&tr, &incident, update_id, &page, &unsubscribe)
        }
    };
    mailer
        .send(&subscriber.email, &subject, body, None)
        .await
        .map_err(Outcome::Retry)
}

/// Subject and text of a mail about an incident's update, in the reader's
/// language (or visibly in another one when the operator wrote none).
fn incident_mail(
    tr: &Tr,
    incident: &Incident,
    update_id: &str,
    page: &str,
    unsubscribe: &str,
) -> (String, String) {
    let title = text_in(tr, &incident.title);
    let update = incident
        .updates
        .iter()
        .find(|update| update.id == update_id)
        .or(incident.updates.first());
    let state = tr.t(&format!("incident-state-{}", incident.state.as_str()));
    let subject = tr.args(
        "mail-incident-subject",
        &[("title", &title), ("state", &state)],
    );
    let message = update
        .map(|update| text_in(tr, &update.message))
        .unwrap_or_default();
    let mut body = format!("{title}\n\n{state}: {message}\n\n");
    if incident.kind == IncidentKind::Maintenance
        && let (Some(starts), Some(ends)) = (incident.starts_at, incident.ends_at)
    {
        body.push_str(&tr.args(
            "status-window",
            &[
                ("start", &crate::console::short_time(&starts)),
                ("end", &crate::console::short_time(&ends)),
            ],
        ));
        body.push_str("\n\n");
    }
    body.push_str(&tr.t1("mail-page", "link", page));
    body.push_str("\n\n-- \n");
    body.push_str(&tr.t1("mail-unsubscribe", "link", unsubscribe));
    body.push('\n');
    (subject, body)
}

/// A text in the reader's language, or in another one with a note saying so.
pub(crate) fn text_in(tr: &Tr, text: &api_types::status::Localized) -> String {
    match text.pick(tr.language) {
        None => String::new(),
        Some((text, used)) if used == tr.language => text.to_owned(),
        Some((text, used)) => format!("{text} {}", fallback_note(tr, used)),
    }
}

/// "(only available in English)", in the reader's language.
pub(crate) fn fallback_note(tr: &Tr, used: Language) -> String {
    let language = tr.t(&format!("language-name-{}", used.code()));
    tr.t1("status-text-fallback", "language", &language)
}

async fn send_webhook(state: &AppState, delivery: &Delivery) -> Result<(), Outcome> {
    let target = state
        .store
        .webhook_target(&delivery.target_id)
        .await
        .map_err(|error| Outcome::Retry(error.to_string()))?
        .ok_or_else(|| Outcome::Drop("webhook deleted".into()))?;
    let incident = incident_of(state, delivery).await?;
    let body = serde_json::to_vec(&serde_json::json!({
        "event": delivery.event.as_str(),
        "delivery_id": delivery.id,
        "update_id": delivery.payload["update_id"],
        "page_url": format!("{}/status", state.settings.public_url),
        "incident": incident,
    }))
    .map_err(|error| Outcome::Drop(error.to_string()))?;
    let timestamp = now_ms() / 1000;
    let response = state
        .http
        .post(&target.url)
        .header("content-type", "application/json")
        .header("user-agent", "homegate-status")
        .header("x-homegate-event", delivery.event.as_str())
        .header("x-homegate-delivery", &delivery.id)
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, sign(&target.secret, timestamp, &body))
        .body(body)
        .send()
        .await
        // reqwest's error names the URL, which holds the webhook's credential.
        .map_err(|error| {
            Outcome::Retry(format!("cannot reach the webhook: {}", error.without_url()))
        })?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(Outcome::Retry(format!(
            "the webhook answered {}",
            response.status()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::sign;

    #[test]
    fn smtp_passwords_stay_out_of_logs() {
        let settings = super::SmtpSettings {
            url: "smtps://status:hunter2-secret@mail.example".into(),
            from: "status@example.org".into(),
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("mail.example"), "{shown}");
    }

    #[test]
    fn signatures_cover_time_and_body() {
        let one = sign("secret", 1_700_000_000, b"{}");
        assert!(one.starts_with("sha256="));
        assert_eq!(one.len(), "sha256=".len() + 64);
        assert_ne!(one, sign("secret", 1_700_000_001, b"{}"));
        assert_ne!(one, sign("secret", 1_700_000_000, b"{ }"));
        assert_ne!(one, sign("other", 1_700_000_000, b"{}"));
    }
}
