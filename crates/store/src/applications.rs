//! Applications: what employees reach behind the gateways.

use api_types::tenancy::{Application, CreateApplication, Protocol, UpdateApplication};
use serde_json::json;
use sqlx::FromRow;

use crate::audit::{self, Change};
use crate::authz::TenantAccess;
use crate::convert::timestamp;
use crate::validate::{self, PortRange};
use crate::{Result, Store, StoreError, Violation, new_id, now_ms};

#[derive(FromRow)]
struct ApplicationRow {
    id: String,
    name: String,
    description: String,
    cidr: String,
    protocol: String,
    ports: String,
    web_upstream: String,
    created_at: i64,
}

fn to_application(access: &TenantAccess, row: ApplicationRow) -> Application {
    Application {
        id: row.id,
        tenant: access.tenant_slug().to_owned(),
        name: row.name,
        description: row.description,
        cidr: row.cidr,
        protocol: Protocol::parse(&row.protocol).unwrap_or(Protocol::Any),
        ports: row
            .ports
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        web_upstream: Some(row.web_upstream).filter(|u| !u.is_empty()),
        web_url: None,
        created_at: timestamp(row.created_at),
    }
}

/// A web-published application is addressed as `NAME.TENANT.proxy-domain`,
/// so its name must be usable as a DNS label.
fn check_name_fits_web(name: &str, web_upstream: &str) -> Result<(), Violation> {
    let label = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if web_upstream.is_empty() || label {
        Ok(())
    } else {
        Err(Violation::coded(
            "name",
            "web-name",
            &[("value", name)],
            format!(
                "'{name}' cannot be part of a web address; to publish it on the web, name the \
                 application with lower-case letters, digits and '-' (e.g. 'files')"
            ),
        ))
    }
}

/// Ports only make sense for TCP and UDP.
fn check_ports_fit_protocol(protocol: Protocol, ports: &[PortRange]) -> Result<(), Violation> {
    match protocol {
        Protocol::Tcp | Protocol::Udp => Ok(()),
        Protocol::Any | Protocol::Icmp if ports.is_empty() => Ok(()),
        Protocol::Any | Protocol::Icmp => Err(Violation::coded(
            "ports",
            "ports-need-tcp-udp",
            &[("protocol", protocol.as_str())],
            format!("ports need protocol tcp or udp, not {}", protocol.as_str()),
        )),
    }
}

const APPLICATION_SELECT: &str = "SELECT id, name, description, cidr, protocol, ports, web_upstream, created_at FROM applications";

impl Store {
    pub async fn list_applications(&self, access: &TenantAccess) -> Result<Vec<Application>> {
        let rows = sqlx::query_as::<_, ApplicationRow>(&format!(
            "{APPLICATION_SELECT} WHERE tenant_id = $1 ORDER BY name"
        ))
        .bind(access.tenant_id())
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| to_application(access, row))
            .collect())
    }

    pub async fn get_application(
        &self,
        access: &TenantAccess,
        application: &str,
    ) -> Result<Application> {
        sqlx::query_as::<_, ApplicationRow>(&format!(
            "{APPLICATION_SELECT} WHERE tenant_id = $1 AND (id = $2 OR name = $2)"
        ))
        .bind(access.tenant_id())
        .bind(application.trim())
        .fetch_optional(self.pool())
        .await?
        .map(|row| to_application(access, row))
        .ok_or_else(|| StoreError::not_found("application", application))
    }

    pub async fn create_application(
        &self,
        access: &TenantAccess,
        request: CreateApplication,
    ) -> Result<Application> {
        let (name, description, cidr, ports, web_upstream) = validate::all((
            validate::name("name", &request.name, 100),
            validate::optional_text("description", request.description.as_deref(), 500),
            validate::cidr("cidr", &request.cidr),
            validate::port_ranges("ports", &request.ports),
            validate::web_upstream(
                "web_upstream",
                request.web_upstream.as_deref().unwrap_or(""),
            ),
        ))?;
        check_ports_fit_protocol(request.protocol, &ports)?;
        check_name_fits_web(&name, &web_upstream)?;
        self.outbound_policy
            .check_url("web_upstream", &web_upstream)?;
        let ports_text = validate::format_port_ranges(&ports).join(",");

        let mut tx = self.write().await?;
        let exists = sqlx::query("SELECT id FROM applications WHERE tenant_id = $1 AND name = $2")
            .bind(access.tenant_id())
            .bind(&name)
            .fetch_optional(tx.conn())
            .await?;
        if exists.is_some() {
            return Err(StoreError::taken(
                "name",
                &name,
                format!("an application named '{name}' already exists"),
            ));
        }
        let id = new_id();
        sqlx::query(
            "INSERT INTO applications (id, tenant_id, name, description, cidr, protocol, ports, \
             web_upstream, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(access.tenant_id())
        .bind(&name)
        .bind(&description)
        .bind(cidr.to_string())
        .bind(request.protocol.as_str())
        .bind(&ports_text)
        .bind(&web_upstream)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "application.create",
                target_type: "application",
                target_id: &id,
                target_name: &name,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({
                    "cidr": cidr.to_string(),
                    "protocol": request.protocol.as_str(),
                    "ports": ports_text,
                    "web_upstream": web_upstream,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_application(access, &id).await
    }

    pub async fn update_application(
        &self,
        access: &TenantAccess,
        application: &str,
        request: UpdateApplication,
    ) -> Result<Application> {
        let existing = self.get_application(access, application).await?;
        let description = match &request.description {
            Some(text) => Some(validate::optional_text("description", Some(text), 500)?),
            None => None,
        };
        let cidr = match &request.cidr {
            Some(cidr) => validate::cidr("cidr", cidr)?.to_string(),
            None => existing.cidr.clone(),
        };
        let protocol = request.protocol.unwrap_or(existing.protocol);
        let ports =
            validate::port_ranges("ports", request.ports.as_ref().unwrap_or(&existing.ports))?;
        check_ports_fit_protocol(protocol, &ports)?;
        let ports_text = validate::format_port_ranges(&ports).join(",");
        let web_upstream = match &request.web_upstream {
            Some(url) => validate::web_upstream("web_upstream", url)?,
            None => existing.web_upstream.clone().unwrap_or_default(),
        };
        check_name_fits_web(&existing.name, &web_upstream)?;
        if request.web_upstream.is_some() {
            self.outbound_policy
                .check_url("web_upstream", &web_upstream)?;
        }

        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE applications SET description = $1, cidr = $2, protocol = $3, ports = $4, \
             web_upstream = $5 WHERE id = $6 AND tenant_id = $7",
        )
        .bind(description.as_ref().unwrap_or(&existing.description))
        .bind(&cidr)
        .bind(protocol.as_str())
        .bind(&ports_text)
        .bind(&web_upstream)
        .bind(&existing.id)
        .bind(access.tenant_id())
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "application.update",
                target_type: "application",
                target_id: &existing.id,
                target_name: &existing.name,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: serde_json::to_value(&request).unwrap_or_default(),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_application(access, &existing.id).await
    }

    pub async fn delete_application(&self, access: &TenantAccess, application: &str) -> Result<()> {
        let existing = self.get_application(access, application).await?;
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM applications WHERE id = $1 AND tenant_id = $2")
            .bind(&existing.id)
            .bind(access.tenant_id())
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "application.delete",
                target_type: "application",
                target_id: &existing.id,
                target_name: &existing.name,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await
    }
}
