//! Mail over SMTP (lettre): one transport, used by the status page's
//! notifications and by invitations.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How the control plane sends mail.
#[derive(Clone)]
pub struct SmtpSettings {
    /// `smtp://host:port` (plain, for a local relay), `smtp://host?tls=required`
    /// (STARTTLS) or `smtps://user:password@host` — lettre's URL format.
    pub url: String,
    /// The sender, e.g. `Status <status@provider.example>`.
    pub from: String,
}

impl std::fmt::Debug for SmtpSettings {
    // The URL may carry the relay's password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("url", &store::redact_url(&self.url))
            .field("from", &self.from)
            .finish()
    }
}

/// A ready SMTP transport and sender.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(settings: &SmtpSettings) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.url)
            .map_err(|error| format!("invalid SMTP URL: {error}"))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = settings
            .from
            .parse()
            .map_err(|error| format!("invalid sender address {:?}: {error}", settings.from))?;
        Ok(Mailer { transport, from })
    }

    /// Sends plain text, with an HTML alternative if given.
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        text: String,
        html: Option<String>,
    ) -> Result<(), String> {
        let to: Mailbox = to
            .parse()
            .map_err(|error| format!("bad address: {error}"))?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject);
        let message = match html {
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(text)
                .map_err(|error| error.to_string())?,
            Some(html) => builder
                .multipart(
                    MultiPart::alternative()
                        .singlepart(SinglePart::plain(text))
                        .singlepart(SinglePart::html(html)),
                )
                .map_err(|error| error.to_string())?,
        };
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|error| format!("SMTP: {error}"))
    }
}
