//! Sends queued invitation mails (`store::invitations`): claims them,
//! writes each in the employee's language (plain text and HTML) and reports
//! the outcome. Nothing is decided here but the words.

use askama::Template;
use futures::StreamExt as _;
use i18n::Tr;
use store::invitations::InvitationMail;
use store::now_ms;

use crate::AppState;

/// Mails claimed per round; a round sends this many at once over the
/// pooled SMTP connections.
const BATCH: i64 = 100;
const PARALLEL: usize = 8;

/// The address an invitation's token is appended to.
pub fn link_base(public_url: &str) -> String {
    format!("{}/invite/", public_url.trim_end_matches('/'))
}

/// Sends every invitation mail that is due; returns how many were tried.
pub async fn deliver_due(state: &AppState) -> usize {
    deliver_due_at(state, now_ms()).await
}

/// Sends every invitation mail due at `now` (Unix ms).
pub async fn deliver_due_at(state: &AppState, now: i64) -> usize {
    let Some(mailer) = state.mailer.clone() else {
        return 0;
    };
    let mut attempted = 0;
    loop {
        let mails = match state.store.claim_invitation_mails(now, BATCH).await {
            Ok(mails) => mails,
            Err(error) => {
                tracing::warn!(%error, "cannot read the invitation queue");
                return attempted;
            }
        };
        let claimed = mails.len();
        attempted += claimed;
        futures::stream::iter(mails)
            .for_each_concurrent(PARALLEL, |mail| {
                let mailer = mailer.clone();
                async move {
                    let (subject, text, html) = compose(&mail, &state.settings.public_url);
                    let outcome = mailer.send(&mail.email, &subject, text, Some(html)).await;
                    let recorded = match outcome {
                        Ok(()) => {
                            tracing::info!(invitation = %mail.id, "invitation mail sent");
                            state.store.invitation_mail_sent(&mail.id, now_ms()).await
                        }
                        Err(error) => {
                            tracing::warn!(invitation = %mail.id, attempt = mail.attempt,
                                %error, "invitation mail failed");
                            state
                                .store
                                .invitation_mail_failed(&mail, &error, now_ms())
                                .await
                        }
                    };
                    if let Err(error) = recorded {
                        tracing::warn!(%error, "cannot record an invitation mail's outcome");
                    }
                }
            })
            .await;
        if claimed < usize::try_from(BATCH).unwrap_or(usize::MAX) {
            return attempted;
        }
    }
}

#[derive(Template)]
#[template(path = "mail_invitation.html")]
struct InvitationHtml<'a> {
    language: &'a str,
    greeting: String,
    reminder: Option<String>,
    intro: String,
    button: String,
    link: &'a str,
    details: String,
    ignore: String,
}

/// Subject, text and HTML of one invitation mail.
fn compose(mail: &InvitationMail, public_url: &str) -> (String, String, String) {
    let tr = Tr::new(mail.language);
    let link = format!("{}{}", link_base(public_url), mail.token);
    let until = time::OffsetDateTime::from_unix_timestamp(mail.expires_at / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let until = crate::console::short_time(&until);
    let subject_key = if mail.reminder {
        "invitation-mail-subject-reminder"
    } else {
        "invitation-mail-subject"
    };
    let subject = tr.t1(subject_key, "tenant", &mail.tenant_name);
    let greeting = tr.t1("invitation-mail-greeting", "name", &mail.display_name);
    let reminder = mail.reminder.then(|| tr.t("invitation-mail-reminder"));
    let intro = tr.t1("invitation-mail-intro", "tenant", &mail.tenant_name);
    let details = tr.args(
        "invitation-mail-details",
        &[("until", &until), ("username", &mail.username)],
    );
    let ignore = tr.t("invitation-mail-ignore");
    let mut text = format!("{greeting}\n\n");
    if let Some(reminder) = &reminder {
        text.push_str(reminder);
        text.push_str("\n\n");
    }
    text.push_str(&format!("{intro}\n\n{link}\n\n{details}\n\n{ignore}\n"));
    let html = InvitationHtml {
        language: tr.code(),
        greeting,
        reminder,
        intro,
        button: tr.t("invitation-mail-button"),
        link: &link,
        details,
        ignore,
    }
    .render()
    .unwrap_or_default();
    (subject, text, html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_types::Language;

    fn mail(language: Language, reminder: bool) -> InvitationMail {
        InvitationMail {
            id: "i1".into(),
            email: "anna@lemgo.example".into(),
            display_name: "Anna <Admin>".into(),
            username: "anna".into(),
            language,
            tenant_name: "Lemgo".into(),
            token: "hgi_secret".into(),
            expires_at: 1_800_000_000_000,
            reminder,
            attempt: 1,
        }
    }

    #[test]
    fn mails_carry_the_link_in_the_readers_language() {
        let (subject, text, html) = compose(&mail(Language::De, false), "https://hg.example/");
        assert!(subject.contains("Lemgo"), "{subject}");
        assert!(
            text.contains("https://hg.example/invite/hgi_secret"),
            "{text}"
        );
        assert!(text.contains("anna"), "{text}");
        assert!(html.contains("lang=\"de\""), "{html}");
        assert!(
            html.contains("href=\"https://hg.example/invite/hgi_secret\""),
            "{html}"
        );
        // Names are escaped in HTML.
        assert!(html.contains("Anna &#60;Admin&#62;") || html.contains("Anna &lt;Admin&gt;"));
        let (english, _, _) = compose(&mail(Language::En, false), "https://hg.example");
        assert_ne!(subject, english);
        let (reminder, text, _) = compose(&mail(Language::En, true), "https://hg.example");
        assert_ne!(reminder, english);
        assert!(!text.contains("{"), "{text}");
    }
}
