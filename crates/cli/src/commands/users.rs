use api_types::Language;
use api_types::Role;
use api_types::tenancy::{CreateUser, UpdateUser, User};
use clap::{Args, Subcommand};

use super::{Context, ListArgs, read_secret};
use crate::commands::tenants::parse_language;
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub(crate) enum UsersCommand {
    /// List a tenant's users, or provider staff without --tenant (tenant
    /// admins: their own tenant's).
    List {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Create a user. Without --password-stdin a one-time password is generated and shown.
    Create(CreateArgs),
    /// Show a user of a tenant.
    Show {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        user: String,
    },
    /// Change a user of a tenant.
    Update(UpdateArgs),
    /// Disable a user: they cannot log in and their tokens are revoked.
    Disable {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        user: String,
    },
    /// Reset a user's password (they forgot it): prints a new one-time
    /// password, which they must replace at their next login. Their logins
    /// end.
    ResetPassword {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        user: String,
        /// Also remove their authenticator app, security keys and recovery
        /// codes (a lost phone).
        #[arg(long)]
        second_factor: bool,
    },
    /// Enable a disabled user.
    Enable {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        user: String,
    },
    /// Import employees from a CSV file as one job: every line is checked
    /// first and nothing is written while any has a problem; then all are
    /// created at once. Progress goes to stderr; the one-time passwords are
    /// printed once, as CSV (username,password).
    Import {
        /// Tenant slug or id (tenant admins: their own by default).
        #[arg(long)]
        tenant: Option<String>,
        /// The CSV file (`-` for stdin). First line: the column names;
        /// username (required), display_name, email, role, groups (`;`
        /// between groups), language.
        file: std::path::PathBuf,
        /// Then invite everyone imported (by e-mail, or printed links for
        /// letters without SMTP) instead of printing one-time passwords.
        #[arg(long)]
        invite: bool,
    },
    /// Delete a user of a tenant.
    Delete {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        user: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The tenant (tenant admins: their own by default); omit for provider
    /// staff.
    #[arg(long)]
    tenant: Option<String>,
    /// The login name.
    #[arg(long)]
    username: String,
    /// provider-admin, provider-operator, tenant-admin or employee.
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// The name people see.
    #[arg(long)]
    display_name: Option<String>,
    /// E-mail address.
    #[arg(long)]
    email: Option<String>,
    /// de, nl or en.
    #[arg(long, value_parser = parse_language)]
    language: Option<Language>,
    /// Read the initial password from the first line of stdin.
    #[arg(long)]
    password_stdin: bool,
    /// Then invite them: a one-time link by e-mail (or printed for a letter
    /// when the control plane has no SMTP), instead of handing out the
    /// one-time password.
    #[arg(long, conflicts_with = "password_stdin")]
    invite: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// Tenant slug or id.
    #[arg(long)]
    tenant: String,
    user: String,
    /// The name people see.
    #[arg(long)]
    display_name: Option<String>,
    /// E-mail address.
    #[arg(long)]
    email: Option<String>,
    /// provider-admin, provider-operator, tenant-admin or employee.
    #[arg(long, value_parser = parse_role)]
    role: Option<Role>,
    /// de, nl or en.
    #[arg(long, value_parser = parse_language)]
    language: Option<Language>,
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| {
        format!("'{text}' is not one of provider-admin, provider-operator, tenant-admin, employee")
    })
}

impl Tabular for User {
    fn headers() -> &'static [&'static str] {
        &[
            "username", "name", "role", "tenant", "email", "disabled", "language", "id",
        ]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.username.clone(),
            self.display_name.clone(),
            output::role(self.role),
            output::opt(self.tenant.as_deref()),
            self.email.clone(),
            if self.disabled { "yes" } else { "no" }.to_owned(),
            output::opt(self.language.map(Language::code)),
            self.id.clone(),
        ]
    }
}

pub(crate) async fn run(context: &Context, command: UsersCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        UsersCommand::List { tenant, list } => {
            let users = match super::tenant_or_own(&client, tenant).await? {
                Some(tenant) => {
                    client
                        .get_all_pages(&["tenants", tenant.as_str(), "users"], list.pages())
                        .await?
                }
                None => {
                    let search = list.search.as_deref().map(str::to_lowercase);
                    client
                        .list_provider_users()
                        .await?
                        .into_iter()
                        .filter(|u: &User| {
                            search.as_deref().is_none_or(|s| {
                                u.username.contains(s)
                                    || u.display_name.to_lowercase().contains(s)
                                    || u.email.to_lowercase().contains(s)
                            })
                        })
                        .take(list.limit().unwrap_or(usize::MAX))
                        .collect()
                }
            };
            output::list(context.output, &users)
        }
        UsersCommand::Create(args) => {
            let password = if args.password_stdin {
                Some(read_secret(true, "HOMEGATE_PASSWORD", "")?)
            } else {
                None
            };
            let request = CreateUser {
                username: args.username,
                display_name: args.display_name,
                email: args.email,
                role: args.role,
                password,
                language: args.language,
            };
            let tenant = super::tenant_or_own(&client, args.tenant).await?;
            let created = match &tenant {
                Some(tenant) => client.create_user(tenant, &request).await?,
                None => client.create_provider_user(&request).await?,
            };
            if args.invite {
                let Some(tenant) = tenant else {
                    anyhow::bail!("--invite is for a municipality's users: give --tenant");
                };
                let invite = api_types::invitations::Invite {
                    users: vec![created.user.id.clone()],
                    ..Default::default()
                };
                return super::invitations::send(context, &client, &tenant, &invite).await;
            }
            let secret_line = match &created.initial_password {
                Some(password) => format!(
                    "One-time password (shown only now; they must change it at first login): \
                     {password}"
                ),
                None => String::new(),
            };
            output::with_secret(context.output, &created, &created.user, &secret_line)
        }
        UsersCommand::Show { tenant, user } => {
            output::one(context.output, &client.get_user(&tenant, &user).await?)
        }
        UsersCommand::Update(args) => {
            let request = UpdateUser {
                display_name: args.display_name,
                email: args.email,
                role: args.role,
                disabled: None,
                language: args.language.map(Some),
            };
            output::one(
                context.output,
                &client
                    .update_user(&args.tenant, &args.user, &request)
                    .await?,
            )
        }
        UsersCommand::Disable { tenant, user } => {
            set_disabled(context, &client, &tenant, &user, true).await
        }
        UsersCommand::ResetPassword {
            tenant,
            user,
            second_factor,
        } => {
            let reset = client
                .reset_password(
                    &tenant,
                    &user,
                    &api_types::tenancy::ResetPassword { second_factor },
                )
                .await?;
            let secret_line = format!(
                "One-time password (shown only now; they must change it at their next login): {}{}",
                reset.one_time_password,
                if second_factor {
                    "\nTheir second factors were removed; they set up a new one after logging in."
                } else {
                    ""
                }
            );
            output::with_secret(context.output, &reset, &reset.user, &secret_line)
        }
        UsersCommand::Enable { tenant, user } => {
            set_disabled(context, &client, &tenant, &user, false).await
        }
        UsersCommand::Import {
            tenant,
            file,
            invite,
        } => {
            let Some(tenant) = super::tenant_or_own(&client, tenant).await? else {
                anyhow::bail!("--tenant is required: which municipality's employees are these?");
            };
            import(context, &client, &tenant, &file, invite).await
        }
        UsersCommand::Delete { tenant, user } => {
            client.delete_user(&tenant, &user).await?;
            output::done(context.output, &format!("User {user} deleted."));
            Ok(())
        }
    }
}

async fn set_disabled(
    context: &Context,
    client: &client::Client,
    tenant: &str,
    user: &str,
    disabled: bool,
) -> anyhow::Result<()> {
    let request = UpdateUser {
        disabled: Some(disabled),
        ..UpdateUser::default()
    };
    output::one(
        context.output,
        &client.update_user(tenant, user, &request).await?,
    )
}

async fn import(
    context: &Context,
    client: &client::Client,
    tenant: &str,
    file: &std::path::Path,
    invite: bool,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use api_types::jobs::{ImportUsers, JobPhase, JobState, ResultState};
    use std::io::Read as _;

    let mut csv = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut csv)
            .context("cannot read the CSV from stdin")?;
    } else {
        csv = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
    }
    let started = client
        .import_users(tenant, &ImportUsers { csv, invite })
        .await?;
    let id = started.job.id.clone();
    let total = started.job.total;
    eprintln!("import job {id}: {total} people");
    let mut last = (JobPhase::Hashing, u64::MAX);
    let job = loop {
        let job = client.get_job(tenant, &id, None).await?;
        if job.state != JobState::Running {
            break job;
        }
        let tenth = job.done * 10 / job.total.max(1);
        if (job.phase, tenth) != last {
            match job.phase {
                JobPhase::Hashing => eprintln!("  preparing accounts: {}/{}", job.done, job.total),
                JobPhase::Writing => eprintln!("  writing {} accounts", job.total),
                JobPhase::Finished => {}
            }
            last = (job.phase, tenth);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    if let Some(error) = &job.error {
        anyhow::bail!(
            "the import failed ({}): {}; nothing was imported",
            error.code,
            error.detail
        );
    }
    let job = client
        .get_job(tenant, &id, Some(&started.result_key))
        .await?;
    let Some(result) = &job.result else {
        anyhow::bail!(
            "the import finished, but its one-time passwords are no longer available ({})",
            match job.result_state {
                ResultState::Fetched => "already fetched",
                ResultState::Expired => "expired",
                _ => "none",
            }
        );
    };
    if invite {
        eprintln!(
            "{} accounts created; inviting them.",
            result.passwords.len()
        );
        let request = api_types::invitations::Invite {
            users: result
                .passwords
                .iter()
                .map(|entry| entry.username.clone())
                .collect(),
            ..Default::default()
        };
        return super::invitations::send(context, client, tenant, &request).await;
    }
    eprintln!(
        "{} accounts created. One-time passwords (shown only now; each must be changed at first login):",
        result.passwords.len()
    );
    match context.output {
        output::OutputFormat::Json => {
            output::outln!("{}", serde_json::to_string_pretty(&job)?);
        }
        output::OutputFormat::Table => {
            output::outln!("username,password");
            for entry in &result.passwords {
                output::outln!("{},{}", entry.username, entry.password);
            }
        }
    }
    Ok(())
}
