//! Groups, applications and access rules.

use api_types::tenancy::{
    AccessRule, Application, CreateAccessRule, CreateApplication, CreateGroup, Group, Protocol,
    UpdateApplication,
};
use clap::{Args, Subcommand};

use super::Context;
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub(crate) enum GroupsCommand {
    List {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
    },
    Show {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        group: String,
    },
    Create {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        name: String,
        /// A short description people read.
        #[arg(long)]
        description: Option<String>,
    },
    Delete {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        group: String,
    },
    /// Add a user to a group.
    AddMember {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        group: String,
        user: String,
    },
    /// Remove a user from a group.
    RemoveMember {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        group: String,
        user: String,
    },
}

impl Tabular for Group {
    fn headers() -> &'static [&'static str] {
        &["name", "description", "members", "id"]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.description.clone(),
            self.members.join(", "),
            self.id.clone(),
        ]
    }
}

pub(crate) async fn run(context: &Context, command: GroupsCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        GroupsCommand::List { tenant } => {
            output::list(context.output, &client.list_groups(&tenant).await?)
        }
        GroupsCommand::Show { tenant, group } => {
            output::one(context.output, &client.get_group(&tenant, &group).await?)
        }
        GroupsCommand::Create {
            tenant,
            name,
            description,
        } => {
            let group = client
                .create_group(&tenant, &CreateGroup { name, description })
                .await?;
            output::one(context.output, &group)
        }
        GroupsCommand::Delete { tenant, group } => {
            client.delete_group(&tenant, &group).await?;
            output::done(context.output, &format!("Group {group} deleted."));
            Ok(())
        }
        GroupsCommand::AddMember {
            tenant,
            group,
            user,
        } => output::one(
            context.output,
            &client.add_group_member(&tenant, &group, &user).await?,
        ),
        GroupsCommand::RemoveMember {
            tenant,
            group,
            user,
        } => output::one(
            context.output,
            &client.remove_group_member(&tenant, &group, &user).await?,
        ),
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum ApplicationsCommand {
    List {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
    },
    Show {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        application: String,
    },
    Create(CreateApplicationArgs),
    Update(UpdateApplicationArgs),
    Delete {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        application: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CreateApplicationArgs {
    /// Tenant slug or id.
    #[arg(long)]
    tenant: String,
    name: String,
    /// Destination network, e.g. 198.18.10.0/24
    #[arg(long)]
    cidr: String,
    /// any, tcp, udp or icmp.
    #[arg(long, value_parser = parse_protocol, default_value = "any")]
    protocol: Protocol,
    /// Ports and ranges, e.g. 443,8000-8100 (tcp/udp only; default all).
    #[arg(long, value_delimiter = ',')]
    ports: Vec<String>,
    /// A short description people read.
    #[arg(long)]
    description: Option<String>,
    /// Publish in browsers through the access proxy: the application's web
    /// address as the control plane reaches it, e.g. http://198.18.10.5:8080
    #[arg(long)]
    web_upstream: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct UpdateApplicationArgs {
    /// Tenant slug or id.
    #[arg(long)]
    tenant: String,
    application: String,
    /// The network of the application, e.g. 198.18.10.0/24.
    #[arg(long)]
    cidr: Option<String>,
    /// tcp, udp or any.
    #[arg(long, value_parser = parse_protocol)]
    protocol: Option<Protocol>,
    /// Ports or ranges, comma-separated, e.g. 445,8000-8100 (default: all).
    #[arg(long, value_delimiter = ',')]
    ports: Option<Vec<String>>,
    /// A short description people read.
    #[arg(long)]
    description: Option<String>,
    /// Publish in browsers through the access proxy (its upstream URL);
    /// an empty value ("") stops publishing.
    #[arg(long)]
    web_upstream: Option<String>,
}

fn parse_protocol(text: &str) -> Result<Protocol, String> {
    Protocol::parse(text).ok_or_else(|| format!("'{text}' is not one of any, tcp, udp, icmp"))
}

impl Tabular for Application {
    fn headers() -> &'static [&'static str] {
        &[
            "name",
            "cidr",
            "protocol",
            "ports",
            "web",
            "description",
            "id",
        ]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.cidr.clone(),
            self.protocol.as_str().to_owned(),
            if self.ports.is_empty() {
                "all".to_owned()
            } else {
                self.ports.join(",")
            },
            self.web_url
                .clone()
                .or_else(|| self.web_upstream.clone())
                .unwrap_or_else(|| "-".to_owned()),
            self.description.clone(),
            self.id.clone(),
        ]
    }
}

pub(crate) async fn run_applications(
    context: &Context,
    command: ApplicationsCommand,
) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        ApplicationsCommand::List { tenant } => {
            output::list(context.output, &client.list_applications(&tenant).await?)
        }
        ApplicationsCommand::Show {
            tenant,
            application,
        } => output::one(
            context.output,
            &client.get_application(&tenant, &application).await?,
        ),
        ApplicationsCommand::Create(args) => {
            let application = client
                .create_application(
                    &args.tenant,
                    &CreateApplication {
                        name: args.name,
                        description: args.description,
                        cidr: args.cidr,
                        protocol: args.protocol,
                        ports: args.ports,
                        web_upstream: args.web_upstream,
                    },
                )
                .await?;
            output::one(context.output, &application)
        }
        ApplicationsCommand::Update(args) => {
            let application = client
                .update_application(
                    &args.tenant,
                    &args.application,
                    &UpdateApplication {
                        description: args.description,
                        cidr: args.cidr,
                        protocol: args.protocol,
                        ports: args.ports,
                        web_upstream: args.web_upstream,
                    },
                )
                .await?;
            output::one(context.output, &application)
        }
        ApplicationsCommand::Delete {
            tenant,
            application,
        } => {
            client.delete_application(&tenant, &application).await?;
            output::done(
                context.output,
                &format!("Application {application} deleted."),
            );
            Ok(())
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    List {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
    },
    /// Allow a group to reach an application.
    Create {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        /// Group name or id.
        #[arg(long)]
        group: String,
        /// Application name or id.
        #[arg(long)]
        application: String,
    },
    Delete {
        /// Tenant slug or id.
        #[arg(long)]
        tenant: String,
        id: String,
    },
}

impl Tabular for AccessRule {
    fn headers() -> &'static [&'static str] {
        &["group", "application", "created", "id"]
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.group.clone(),
            self.application.clone(),
            output::time(&self.created_at),
            self.id.clone(),
        ]
    }
}

pub(crate) async fn run_rules(context: &Context, command: RulesCommand) -> anyhow::Result<()> {
    let client = context.client()?;
    match command {
        RulesCommand::List { tenant } => {
            output::list(context.output, &client.list_access_rules(&tenant).await?)
        }
        RulesCommand::Create {
            tenant,
            group,
            application,
        } => {
            let rule = client
                .create_access_rule(&tenant, &CreateAccessRule { group, application })
                .await?;
            output::one(context.output, &rule)
        }
        RulesCommand::Delete { tenant, id } => {
            client.delete_access_rule(&tenant, &id).await?;
            output::done(context.output, &format!("Access rule {id} deleted."));
            Ok(())
        }
    }
}
