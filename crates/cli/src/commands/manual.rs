//! `homegate manual`: the employee manual of a tenant, and its settings.

use std::path::PathBuf;

use anyhow::Context as _;
use api_types::Language;
use api_types::manual::{ManualFormat, ManualQuery, ManualSection, ManualSettings};
use clap::{Args, Subcommand, ValueEnum};

use super::Context;
use crate::UsageError;
use crate::output::outln;
use crate::output::{self, OutputFormat};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ManualArgs {
    #[command(subcommand)]
    command: Option<ManualCommand>,
    /// Tenant slug or id.
    #[arg(long)]
    tenant: Option<String>,
    /// de, nl or en (default: the tenant's language).
    #[arg(long, value_parser = super::tenants::parse_language)]
    language: Option<Language>,
    /// Output file format.
    #[arg(long, value_enum, default_value_t = Format::Pdf)]
    format: Format,
    /// File to write.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Html,
    Pdf,
}

#[derive(Debug, Subcommand)]
enum ManualCommand {
    /// Show the support contacts and own sections.
    Show {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
    },
    /// Set support contacts; add or replace own sections from Markdown files.
    Set {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        /// Who helps employees, e.g. the IT service desk.
        #[arg(long)]
        support_name: Option<String>,
        /// E-mail address of the support.
        #[arg(long)]
        support_email: Option<String>,
        /// Phone number of the support.
        #[arg(long)]
        support_phone: Option<String>,
        /// When the support can be reached.
        #[arg(long)]
        support_hours: Option<String>,
        /// `TITLE=FILE.md`: adds the section, or replaces the one with that
        /// title. Repeat for more.
        #[arg(long = "section", value_name = "TITLE=FILE")]
        sections: Vec<String>,
        /// Removes the section with this title.
        #[arg(long = "remove-section", value_name = "TITLE")]
        remove: Vec<String>,
    },
}

pub(crate) async fn run(context: &Context, args: ManualArgs) -> anyhow::Result<()> {
    let client = context.client()?;
    match args.command {
        None => {
            let (Some(tenant), Some(out)) = (args.tenant, args.out) else {
                return Err(
                    UsageError("give --tenant and --out (or a subcommand)".to_owned()).into(),
                );
            };
            let format = match args.format {
                Format::Html => ManualFormat::Html,
                Format::Pdf => ManualFormat::Pdf,
            };
            let bytes = client
                .manual(
                    &tenant,
                    &ManualQuery {
                        language: args.language,
                        format: Some(format),
                    },
                )
                .await?;
            std::fs::write(&out, &bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            let server = client.server_info().await?;
            super::warn_public_url(&server.public_url, "the manual");
            output::done(
                context.output,
                &format!(
                    "wrote the manual of {tenant} to {} ({} KB)",
                    out.display(),
                    bytes.len() / 1024
                ),
            );
            Ok(())
        }
        Some(ManualCommand::Show { tenant }) => {
            let settings = client.manual_settings(&tenant).await?;
            print_settings(context.output, &settings)
        }
        Some(ManualCommand::Set {
            tenant,
            support_name,
            support_email,
            support_phone,
            support_hours,
            sections,
            remove,
        }) => {
            let mut settings = client.manual_settings(&tenant).await?;
            let replace = |field: &mut String, value: Option<String>| {
                if let Some(value) = value {
                    *field = value;
                }
            };
            replace(&mut settings.support_name, support_name);
            replace(&mut settings.support_email, support_email);
            replace(&mut settings.support_phone, support_phone);
            replace(&mut settings.support_hours, support_hours);
            settings.sections.retain(|s| !remove.contains(&s.title));
            for spec in sections {
                let (title, file) = spec
                    .split_once('=')
                    .ok_or_else(|| UsageError(format!("--section '{spec}' must be TITLE=FILE")))?;
                let markdown = std::fs::read_to_string(file)
                    .map_err(|e| UsageError(format!("cannot read {file}: {e}")))?;
                match settings.sections.iter_mut().find(|s| s.title == title) {
                    Some(section) => section.markdown = markdown,
                    None => settings.sections.push(ManualSection {
                        title: title.to_owned(),
                        markdown,
                    }),
                }
            }
            let saved = client.set_manual_settings(&tenant, &settings).await?;
            print_settings(context.output, &saved)
        }
    }
}

fn print_settings(format: OutputFormat, settings: &ManualSettings) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(settings)?),
        OutputFormat::Table => {
            outln!("Contact: {}", settings.support_name);
            outln!("E-mail:  {}", settings.support_email);
            outln!("Phone:   {}", settings.support_phone);
            outln!("Hours:   {}", settings.support_hours);
            for section in &settings.sections {
                outln!(
                    "Section: {} ({} characters)",
                    section.title,
                    section.markdown.chars().count()
                );
            }
        }
    }
    Ok(())
}
