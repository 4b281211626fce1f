//! Enrollment codes and phone configurations.

use std::path::PathBuf;

use anyhow::Context as _;
use api_types::enrollment::{CreateEnrollmentCode, CreatePhone, EnrollmentCode, PhoneConfig};
use base64::Engine;
use clap::Subcommand;

use super::Context;
use crate::UsageError;
use crate::output::outln;
use crate::output::{self, OutputFormat, Tabular};

#[derive(Debug, Subcommand)]
pub(crate) enum CodesCommand {
    /// Make a one-time code: for yourself, or (tenant admins) for --user.
    Create {
        /// Tenant slug or id.
        #[arg(long, requires = "user")]
        tenant: Option<String>,
        /// Username or id of the employee.
        #[arg(long, requires = "tenant")]
        user: Option<String>,
        /// Hours until it expires (default 24).
        #[arg(long)]
        expires_in_hours: Option<u32>,
    },
    /// Codes of a tenant (without the codes themselves).
    List {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
    },
    /// Withdraw an unused code (given to the wrong person, a letter lost);
    /// it can no longer be used.
    Revoke {
        /// Id of the code, from `enrollment-codes list`.
        code: String,
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
    },
}

impl Tabular for EnrollmentCode {
    fn headers() -> &'static [&'static str] {
        &["id", "user", "created", "expires", "state", "device"]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            output::opt(self.user.as_deref()),
            output::time(&self.created_at),
            output::time(&self.expires_at),
            match (&self.used_at, &self.revoked_at) {
                (Some(used), _) => format!("used {}", output::time(used)),
                (None, Some(revoked)) => format!("withdrawn {}", output::time(revoked)),
                (None, None) if self.expires_at <= time::OffsetDateTime::now_utc() => {
                    "expired".to_owned()
                }
                (None, None) => "open".to_owned(),
            },
            output::opt(self.device_id.as_deref()),
        ]
    }
}

pub(crate) async fn run_codes(context: &Context, command: CodesCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        CodesCommand::Create {
            tenant,
            user,
            expires_in_hours,
        } => {
            let request = CreateEnrollmentCode { expires_in_hours };
            let created = match (tenant, user) {
                (Some(tenant), Some(user)) => {
                    client
                        .create_enrollment_code(&tenant, &user, &request)
                        .await?
                }
                _ => client.create_my_enrollment_code(&request).await?,
            };
            // The address the device is given is the public one, not the
            // one this CLI happens to use.
            let server = client.server_info().await?;
            super::warn_public_url(&server.public_url, "the enrollment hint");
            let line = format!(
                "Enrollment code (shown only now, valid until {}): {}\nOn the device: homegate \
                 enroll {} --code {}",
                output::time(&created.code.expires_at),
                created.secret,
                server.public_url,
                created.secret
            );
            output::with_secret(context.output, &created, &created.code, &line)
        }
        CodesCommand::List { tenant } => output::list(
            context.output,
            &client.list_enrollment_codes(&tenant).await?,
        ),
        CodesCommand::Revoke { code, tenant } => {
            let revoked = client.revoke_enrollment_code(&tenant, &code).await?;
            output::one(context.output, &revoked)
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum PhonesCommand {
    /// Make a phone configuration (wg-quick file and QR code) for the
    /// official WireGuard app. Its key pair is not kept: save it now.
    Create {
        /// A name for the phone, shown in device lists (e.g. "anna-iphone").
        name: String,
        /// For another employee (tenant admins), with --user.
        #[arg(long, requires = "user")]
        tenant: Option<String>,
        /// Username or id of the employee.
        #[arg(long, requires = "tenant")]
        user: Option<String>,
        /// Write the wg-quick file here (mode 0600).
        #[arg(long)]
        conf: Option<PathBuf>,
        /// Write the QR code here (.png or .svg).
        #[arg(long)]
        qr: Option<PathBuf>,
        /// For the WireGuard app on a laptop or computer (Windows, macOS,
        /// Linux): listed as a laptop; import the --conf file in the app.
        #[arg(long)]
        laptop: bool,
    },
}

fn write_private(path: &PathBuf, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

pub(crate) async fn run_phones(context: &Context, command: PhonesCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        PhonesCommand::Create {
            name,
            tenant,
            user,
            conf,
            qr,
            laptop,
        } => {
            let request = CreatePhone {
                name,
                kind: laptop.then_some(api_types::tenancy::DeviceKind::Laptop),
            };
            let phone: PhoneConfig = match (tenant, user) {
                (Some(tenant), Some(user)) => {
                    client
                        .create_phone_for_user(&tenant, &user, &request)
                        .await?
                }
                _ => client.create_my_phone(&request).await?,
            };
            let server = client.server_info().await?;
            super::warn_public_url(
                &server.public_url,
                "the portal where the employee manages this phone",
            );
            if let Some(path) = &conf {
                write_private(path, phone.wg_quick.as_bytes())?;
            }
            if let Some(path) = &qr {
                let bytes = match path.extension().and_then(|e| e.to_str()) {
                    Some("svg") => phone.qr_svg.clone().into_bytes(),
                    Some("png") => base64::engine::general_purpose::STANDARD
                        .decode(&phone.qr_png_base64)
                        .context("the server sent a broken PNG")?,
                    _ => {
                        return Err(UsageError("--qr must end in .png or .svg".to_owned()).into());
                    }
                };
                write_private(path, &bytes)?;
            }
            match context.output {
                OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&phone)?),
                OutputFormat::Table => {
                    output::one(context.output, &phone.device)?;
                    if conf.is_none() && qr.is_none() {
                        outln!("{}", phone.wg_quick);
                    }
                    outln!(
                        "Scan the QR code with the WireGuard app now: this configuration holds the \
                         phone's private key and is not stored anywhere."
                    );
                }
            }
            Ok(())
        }
    }
}
