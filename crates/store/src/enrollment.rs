//! Enrollment: one-time codes, turning a code and a public key into a
//! device, and what enrolled devices may ask for.

use api_types::enrollment::{DeviceConfig, EnrollmentCode, EnrollmentCodeCreated, GatewayEndpoint};
use api_types::tenancy::{Device, DeviceKind, DeviceState, Refusal};
use serde_json::json;
use sqlx::{FromRow, Row};

use crate::audit::{self, Change};
use crate::authz::{AuditSource, SelfAccess, TenantAccess};
use crate::convert::{opt_timestamp, timestamp};
use crate::credentials;
use crate::devices::reserve_addresses;
use crate::validate;
use crate::{Result, Store, StoreError, Unworkable, new_id, now_ms};

pub const DEFAULT_CODE_HOURS: u32 = 24;
pub const MAX_CODE_HOURS: u32 = 720;
/// Keepalive devices send so their NAT mapping stays open.
pub const DEVICE_KEEPALIVE_SECS: u16 = 25;
/// A gateway not heard from for this long is taken for dead: no devices are
/// assigned to it and those on it move. The control plane records every
/// connected gateway as seen every [`GATEWAY_SEEN_EVERY_MS`], so this is four
/// missed beats; it keeps failover detection within 10 s.
pub const GATEWAY_HEALTHY_MS: i64 = 8_000;
/// How often the control plane records a connected gateway as seen.
pub const GATEWAY_SEEN_EVERY_MS: u64 = 2_000;

/// The condition on a gateway `g` that devices may be assigned to:
/// registered, heard from since the query parameter `seen_after` (bound to
/// now − [`GATEWAY_HEALTHY_MS`]), not drained.
fn assignable(seen_after: &str) -> String {
    format!(
        "g.endpoint IS NOT NULL AND g.public_key IS NOT NULL \
         AND g.last_seen_at > {seen_after} AND g.drained_at IS NULL"
    )
}

/// A device that authenticated with its device token.
#[derive(Debug, Clone)]
pub struct DeviceIdentity {
    pub device_id: String,
    pub tenant_id: String,
    pub tenant_slug: String,
    pub user_id: Option<String>,
    pub name: String,
}

#[derive(FromRow)]
struct CodeRow {
    id: String,
    tenant_slug: String,
    user_id: Option<String>,
    username: Option<String>,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
    device_id: Option<String>,
}

impl From<CodeRow> for EnrollmentCode {
    fn from(row: CodeRow) -> EnrollmentCode {
        EnrollmentCode {
            id: row.id,
            tenant: row.tenant_slug,
            user: row.username,
            created_at: timestamp(row.created_at),
            expires_at: timestamp(row.expires_at),
            used_at: opt_timestamp(row.used_at),
            revoked_at: opt_timestamp(row.revoked_at),
            device_id: row.device_id,
        }
    }
}

const CODE_SELECT: &str = "SELECT c.id, t.slug AS tenant_slug, c.user_id, u.username, c.created_at, \
     c.expires_at, c.used_at, c.revoked_at, c.device_id FROM enrollment_codes c \
     JOIN tenants t ON t.id = c.tenant_id LEFT JOIN users u ON u.id = c.user_id";

async fn stick_revoked(store: &Store, device_id: Option<&str>) -> Result<bool> {
    let Some(device_id) = device_id else {
        return Ok(false);
    };
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM devices WHERE id = $1")
        .bind(device_id)
        .fetch_optional(store.pool())
        .await?;
    Ok(state.as_deref() == Some("revoked"))
}

fn used_message(kind: &str) -> &'static str {
    if kind == "stick" {
        "this stick was already enrolled; if that was not you, report the stick as lost to \
         your IT department"
    } else {
        "this enrollment code was already used; ask for a new one"
    }
}

impl Store {
    async fn insert_code(
        &self,
        access: &TenantAccess,
        user_id: &str,
        username: &str,
        hours: Option<u32>,
    ) -> Result<EnrollmentCodeCreated> {
        let hours = hours.unwrap_or(DEFAULT_CODE_HOURS);
        if !(1..=MAX_CODE_HOURS).contains(&hours) {
            return Err(StoreError::invalid(
                "expires_in_hours",
                format!("must be between 1 and {MAX_CODE_HOURS}"),
            ));
        }
        let secret = credentials::new_enrollment_code();
        let id = new_id();
        let now = now_ms();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO enrollment_codes (id, tenant_id, user_id, code_hash, kind, created_by, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, 'code', $5, $6, $7)",
        )
        .bind(&id)
        .bind(access.tenant_id())
        .bind(user_id)
        .bind(credentials::hash_secret(&credentials::normalize_code(
            &secret,
        )))
        .bind(access.audit().actor_id.as_deref())
        .bind(now)
        .bind(now + i64::from(hours) * 3_600_000)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "enrollment_code.create",
                target_type: "user",
                target_id: user_id,
                target_name: username,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({ "expires_in_hours": hours }),
            },
        )
        .await?;
        tx.commit().await?;
        let code = sqlx::query_as::<_, CodeRow>(&format!("{CODE_SELECT} WHERE c.id = $1"))
            .bind(&id)
            .fetch_one(self.pool())
            .await?;
        Ok(EnrollmentCodeCreated {
            code: code.into(),
            secret,
        })
    }

    /// A tenant admin makes a code for one of the tenant's employees.
    pub async fn create_enrollment_code(
        &self,
        access: &TenantAccess,
        user: &str,
        hours: Option<u32>,
    ) -> Result<EnrollmentCodeCreated> {
        let user = self.get_tenant_user(access, user).await?;
        if user.disabled {
            return Err(StoreError::Conflict(format!(
                "{} is disabled; enable the account first",
                user.username
            )));
        }
        self.insert_code(access, &user.id, &user.username, hours)
            .await
    }

    /// An employee makes a code for themself.
    pub async fn create_my_enrollment_code(
        &self,
        me: &SelfAccess,
        hours: Option<u32>,
    ) -> Result<EnrollmentCodeCreated> {
        self.insert_code(me.tenant(), me.user_id(), me.username(), hours)
            .await
    }

    pub async fn list_enrollment_codes(
        &self,
        access: &TenantAccess,
    ) -> Result<Vec<EnrollmentCode>> {
        let rows = sqlx::query_as::<_, CodeRow>(&format!(
            "{CODE_SELECT} WHERE c.tenant_id = $1 AND c.kind = 'code' ORDER BY c.created_at DESC"
        ))
        .bind(access.tenant_id())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(EnrollmentCode::from).collect())
    }

    /// Withdraws an unused enrollment code (handed to the wrong person, a
    /// letter lost in the post). A used code is refused: its device is what
    /// to revoke then.
    pub async fn revoke_enrollment_code(
        &self,
        access: &TenantAccess,
        code_id: &str,
    ) -> Result<EnrollmentCode> {
        let code = sqlx::query_as::<_, CodeRow>(&format!(
            "{CODE_SELECT} WHERE c.id = $1 AND c.tenant_id = $2 AND c.kind = 'code'"
        ))
        .bind(code_id.trim())
        .bind(access.tenant_id())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::not_found("enrollment code", code_id))?;
        if code.revoked_at.is_some() {
            return Ok(code.into());
        }
        let mut tx = self.write().await?;
        let now = now_ms();
        let withdrawn = sqlx::query(
            "UPDATE enrollment_codes SET revoked_at = $1 \
             WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(&code.id)
        .execute(tx.conn())
        .await?;
        if withdrawn.rows_affected() != 1 {
            return Err(StoreError::Conflict(
                "this enrollment code was already used; revoke the device it enrolled instead"
                    .to_owned(),
            ));
        }
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "enrollment_code.revoke",
                target_type: "user",
                target_id: code.user_id.as_deref().unwrap_or_default(),
                target_name: code.username.as_deref().unwrap_or_default(),
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({ "code": code.id }),
            },
        )
        .await?;
        tx.commit().await?;
        let mut code: EnrollmentCode = code.into();
        code.revoked_at = opt_timestamp(Some(now));
        Ok(code)
    }

    /// Turns a one-time code and a public key into a device. Returns the
    /// device and its device token (shown once, stored hashed).
    pub async fn enroll(
        &self,
        code: &str,
        public_key: &str,
        name: Option<&str>,
        kind: Option<DeviceKind>,
        source: Option<String>,
    ) -> Result<(Device, String)> {
        let public_key = validate::public_key("public_key", public_key)?;
        let code_hash = credentials::hash_secret(&credentials::normalize_code(code));
        let now = now_ms();
        let row = sqlx::query(
            "SELECT c.id, c.tenant_id, t.slug, c.user_id, c.kind, c.expires_at, c.used_at, \
             c.revoked_at, c.device_id, u.username, u.disabled FROM enrollment_codes c \
             JOIN tenants t ON t.id = c.tenant_id LEFT JOIN users u ON u.id = c.user_id \
             WHERE c.code_hash = $1",
        )
        .bind(&code_hash)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| {
            StoreError::Unauthenticated(
                "unknown enrollment code; check for typos or ask for a new one".to_owned(),
            )
        })?;
        let code_id: String = row.try_get("id")?;
        let tenant_id: String = row.try_get("tenant_id")?;
        let tenant_slug: String = row.try_get("slug")?;
        let user_id: Option<String> = row.try_get("user_id")?;
        let code_kind: String = row.try_get("kind")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        let used_at: Option<i64> = row.try_get("used_at")?;
        let revoked_at: Option<i64> = row.try_get("revoked_at")?;
        let stick_device: Option<String> = row.try_get("device_id")?;
        let username: Option<String> = row.try_get("username")?;
        let disabled: Option<i64> = row.try_get("disabled")?;
        if code_kind == "stick" && stick_revoked(self, stick_device.as_deref()).await? {
            return Err(StoreError::Forbidden(
                "this stick was revoked (reported lost) and can no longer be used; ask your IT \
                 department for a new one"
                    .to_owned(),
            ));
        }
        if revoked_at.is_some() {
            return Err(StoreError::Forbidden(
                "this enrollment code was withdrawn by your IT department; ask for a new one"
                    .to_owned(),
            ));
        }
        if used_at.is_some() {
            return Err(StoreError::Conflict(used_message(&code_kind).to_owned()));
        }
        if expires_at <= now {
            return Err(StoreError::Conflict(format!(
                "this enrollment code expired at {}; ask for a new one",
                timestamp(expires_at)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            )));
        }
        if disabled == Some(1) {
            return Err(StoreError::Forbidden(
                "the account this code belongs to is disabled".to_owned(),
            ));
        }
        let who = AuditSource {
            actor_id: user_id.clone(),
            actor_name: username.clone().unwrap_or_else(|| "enrollment".to_owned()),
            source,
        };
        let device_token = credentials::new_secret("hgd");
        let mut tx = self.write().await?;
        tx.lock_tenant(&tenant_id).await?;
        // Claim the code first: a second use racing this one finds it taken.
        let claimed = sqlx::query(
            "UPDATE enrollment_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(&code_id)
        .execute(tx.conn())
        .await?;
        if claimed.rows_affected() != 1 {
            return Err(StoreError::Conflict(used_message(&code_kind).to_owned()));
        }
        if sqlx::query("SELECT id FROM devices WHERE public_key = $1")
            .bind(&public_key)
            .fetch_optional(tx.conn())
            .await?
            .is_some()
        {
            return Err(StoreError::Conflict(
                "this public key is already registered; generate a new key pair".to_owned(),
            ));
        }
        let device_id = if code_kind == "stick" {
            // A prepared stick already has its device record and address.
            let device_id = stick_device.ok_or_else(|| {
                StoreError::Conflict("this stick's device record is gone".to_owned())
            })?;
            crate::sticks::ensure_batch_ready(tx.conn(), &device_id).await?;
            let updated = sqlx::query(
                "UPDATE devices SET public_key = $1, token_hash = $2, state = 'enrolled', \
                 updated_at = $3, enrolled_at = $3 WHERE id = $4 AND state IN ('prepared', 'shipped')",
            )
            .bind(&public_key)
            .bind(credentials::hash_secret(&device_token))
            .bind(now)
            .bind(&device_id)
            .execute(tx.conn())
            .await?;
            if updated.rows_affected() != 1 {
                return Err(StoreError::Conflict(
                    "this stick was revoked or already enrolled".to_owned(),
                ));
            }
            device_id
        } else {
            let name = match name {
                Some(name) if !name.trim().is_empty() => validate::name("name", name, 100)?,
                _ => format!("{}'s device", username.as_deref().unwrap_or("employee")),
            };
            let kind = kind.unwrap_or(DeviceKind::Laptop);
            let (index, address) = reserve_addresses(tx.conn(), &tenant_id, 1)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| StoreError::Conflict("no free tunnel address".to_owned()))?;
            let device_id = new_id();
            sqlx::query(
                "INSERT INTO devices (id, tenant_id, user_id, name, kind, public_key, address_index, \
                 tunnel_address, state, created_at, updated_at, token_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $9, $10)",
            )
            .bind(&device_id)
            .bind(&tenant_id)
            .bind(user_id.as_deref())
            .bind(&name)
            .bind(kind.as_str())
            .bind(&public_key)
            .bind(index)
            .bind(&address)
            .bind(now)
            .bind(credentials::hash_secret(&device_token))
            .execute(tx.conn())
            .await?;
            device_id
        };
        sqlx::query("UPDATE enrollment_codes SET device_id = $1 WHERE id = $2")
            .bind(&device_id)
            .bind(&code_id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            &who,
            Change {
                action: "device.enroll",
                target_type: "device",
                target_id: &device_id,
                target_name: username.as_deref().unwrap_or(""),
                tenant: Some((&tenant_id, &tenant_slug)),
                details: json!({ "public_key": public_key, "kind": code_kind }),
            },
        )
        .await?;
        tx.commit().await?;
        let access = self.system_tenant_access(&tenant_id, "enrollment").await?;
        let device = self.get_device(&access, &device_id).await?;
        Ok((device, device_token))
    }

    pub async fn authenticate_device(&self, token: &str) -> Result<DeviceIdentity> {
        let row = sqlx::query(
            "SELECT d.id, d.tenant_id, t.slug, d.user_id, d.name, d.state FROM devices d \
             JOIN tenants t ON t.id = d.tenant_id WHERE d.token_hash = $1",
        )
        .bind(credentials::hash_secret(token))
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| {
            StoreError::Unauthenticated(
                "this device is not enrolled (unknown device token); enroll it again".to_owned(),
            )
        })?;
        let state: String = row.try_get("state")?;
        if state == DeviceState::Revoked.as_str() {
            return Err(StoreError::Unauthenticated(
                "this device was revoked; enroll it again with a new code".to_owned(),
            ));
        }
        Ok(DeviceIdentity {
            device_id: row.try_get("id")?,
            tenant_id: row.try_get("tenant_id")?,
            tenant_slug: row.try_get("slug")?,
            user_id: row.try_get("user_id")?,
            name: row.try_get("name")?,
        })
    }

    /// The networks a device may reach: its owner's groups' applications.
    /// Application subnets a device may reach: those of its owner's groups
    /// and of its stick batch's group.
    pub async fn device_routes(&self, tenant_id: &str, device_id: &str) -> Result<Vec<String>> {
        let mut routes: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT a.cidr FROM applications a \
             JOIN access_rules r ON r.application_id = a.id \
             JOIN devices d ON d.id = $2 AND d.tenant_id = a.tenant_id \
             LEFT JOIN stick_batches b ON b.id = d.batch_id \
             WHERE a.tenant_id = $1 AND (r.group_id = b.group_id OR r.group_id IN \
             (SELECT m.group_id FROM group_members m WHERE m.user_id = d.user_id))",
        )
        .bind(tenant_id)
        .bind(device_id)
        .fetch_all(self.pool())
        .await?;
        routes.sort();
        Ok(routes)
    }

    /// The gateway a device should use: the least loaded healthy, undrained
    /// gateway of its tenant's region; the one it is in session with stays
    /// while it is healthy and not drained. Among equally loaded gateways
    /// (at onboarding, all of them) each device gets its own pick by
    /// rendezvous hashing: standard clients, whose configuration names one
    /// gateway for good, spread evenly over the region instead of all
    /// landing on the first by name, and a device asking again gets the
    /// same answer.
    pub async fn assign_gateway(
        &self,
        tenant_id: &str,
        device_id: &str,
    ) -> Result<Option<GatewayEndpoint>> {
        let now = now_ms();
        let rows = sqlx::query(&format!(
            "SELECT g.id, g.name, g.endpoint, g.public_key, \
             (SELECT COUNT(*) FROM seat_holders h WHERE h.gateway_id = g.id AND h.expires_at > $1 \
              AND h.superseded = 0) AS load, \
             (SELECT COUNT(*) FROM seat_holders h WHERE h.gateway_id = g.id AND h.device_id = $2 \
              AND h.expires_at > $1 AND h.superseded = 0) AS mine \
             FROM gateways g JOIN tenants t ON t.id = $3 \
             WHERE (t.region_id IS NULL OR g.region_id = t.region_id) AND {}",
            assignable("$4")
        ))
        .bind(now)
        .bind(device_id)
        .bind(tenant_id)
        .bind(now - GATEWAY_HEALTHY_MS)
        .fetch_all(self.pool())
        .await?;
        let mut candidates = Vec::new();
        for row in rows {
            let load: i64 = row.try_get("load")?;
            let mine: i64 = row.try_get("mine")?;
            let name: String = row.try_get("name")?;
            let id: String = row.try_get("id")?;
            candidates.push((
                mine == 0,
                load,
                rendezvous_rank(device_id, &id),
                GatewayEndpoint {
                    name,
                    endpoint: row.try_get("endpoint")?,
                    public_key: row.try_get("public_key")?,
                },
            ));
        }
        candidates.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
        Ok(candidates
            .into_iter()
            .next()
            .map(|(_, _, _, gateway)| gateway))
    }

    /// Ids of the gateways devices may be assigned to now (healthy,
    /// undrained, registered), in order.
    pub async fn assignable_gateways(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT g.id FROM gateways g WHERE {} ORDER BY g.id",
            assignable("$1")
        ))
        .bind(now_ms() - GATEWAY_HEALTHY_MS)
        .fetch_all(self.pool())
        .await?)
    }

    /// `(healthy, all)` gateways that serve a tenant.
    pub async fn region_gateway_health(&self, tenant_id: &str) -> Result<(i64, i64)> {
        let (online, total): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN g.last_seen_at > $1 THEN 1 ELSE 0 END), 0), COUNT(g.id) \
             FROM gateways g JOIN tenants t ON t.id = $2 \
             WHERE t.region_id IS NULL OR g.region_id = t.region_id",
        )
        .bind(now_ms() - GATEWAY_HEALTHY_MS)
        .bind(tenant_id)
        .fetch_one(self.pool())
        .await?;
        Ok((online, total))
    }

    pub async fn device_config(&self, device: &DeviceIdentity) -> Result<DeviceConfig> {
        let address: Option<String> =
            sqlx::query_scalar("SELECT tunnel_address FROM devices WHERE id = $1")
                .bind(&device.device_id)
                .fetch_one(self.pool())
                .await?;
        Ok(DeviceConfig {
            device_id: device.device_id.clone(),
            device_name: device.name.clone(),
            tenant: device.tenant_slug.clone(),
            tunnel_address: address.unwrap_or_default(),
            gateway: self
                .assign_gateway(&device.tenant_id, &device.device_id)
                .await?,
            routes: self
                .device_routes(&device.tenant_id, &device.device_id)
                .await?,
            dns: Vec::new(),
            keepalive_secs: DEVICE_KEEPALIVE_SECS,
            control_planes: Vec::new(),
        })
    }

    /// The latest refusal of a device.
    pub async fn last_refusal(&self, device_id: &str) -> Result<Option<Refusal>> {
        let row = sqlx::query(
            "SELECT r.id, r.at, r.first_at, r.count, r.reason, r.message, d.name AS device_name, u.username, g.name AS gateway \
             FROM refusals r JOIN devices d ON d.id = r.device_id LEFT JOIN users u ON u.id = r.user_id \
             LEFT JOIN gateways g ON g.id = r.gateway_id WHERE r.device_id = $1 \
             ORDER BY r.at DESC, r.id DESC LIMIT 1",
        )
        .bind(device_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let at: i64 = row.try_get("at")?;
        let first_at: Option<i64> = row.try_get("first_at")?;
        let count: i64 = row.try_get("count")?;
        Ok(Some(Refusal {
            id: row.try_get("id")?,
            at: timestamp(at),
            first_at: timestamp(first_at.unwrap_or(at)),
            count: u32::try_from(count).unwrap_or(u32::MAX),
            device_id: device_id.to_owned(),
            device_name: row.try_get("device_name")?,
            owner: row.try_get("username")?,
            gateway: row.try_get("gateway")?,
            reason: row.try_get("reason")?,
            message: row.try_get("message")?,
        }))
    }

    /// Devices of the actor.
    pub async fn list_my_devices(&self, me: &SelfAccess) -> Result<Vec<Device>> {
        Ok(self
            .list_devices(me.tenant())
            .await?
            .into_iter()
            .filter(|d| d.owner.as_deref() == Some(me.username()))
            .collect())
    }

    /// Revokes one of the actor's own devices (lost phone).
    pub async fn revoke_my_device(&self, me: &SelfAccess, device: &str) -> Result<Device> {
        let found = self.get_device(me.tenant(), device).await?;
        if found.owner.as_deref() != Some(me.username()) {
            return Err(StoreError::not_found("device", device));
        }
        self.revoke_device(me.tenant(), &found.id).await
    }

    /// Refuses when a configuration for `user_id` would not work now: no
    /// gateway of the tenant's region takes devices, or the user reaches no
    /// application (its `AllowedIPs` would be empty).
    pub async fn check_workable(&self, tenant_id: &str, user_id: &str) -> Result<()> {
        let gateways: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM gateways g JOIN tenants t ON t.id = $1 \
             WHERE (t.region_id IS NULL OR g.region_id = t.region_id) AND {}",
            assignable("$2")
        ))
        .bind(tenant_id)
        .bind(now_ms() - GATEWAY_HEALTHY_MS)
        .fetch_one(self.pool())
        .await?;
        if gateways == 0 {
            return Err(StoreError::Unworkable(Unworkable::NoGatewayOnline));
        }
        let applications: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM applications a JOIN access_rules r ON r.application_id = a.id \
             JOIN group_members m ON m.group_id = r.group_id \
             WHERE a.tenant_id = $1 AND m.user_id = $2",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_one(self.pool())
        .await?;
        if applications == 0 {
            return Err(StoreError::Unworkable(Unworkable::NoApplications));
        }
        Ok(())
    }

    /// Registers a device whose key pair was made here (a phone without
    /// homegate). Returns the device and its private key, which is not kept.
    pub async fn create_phone_device(
        &self,
        access: &TenantAccess,
        owner: &str,
        name: &str,
        kind: DeviceKind,
    ) -> Result<(Device, String)> {
        let user = self.get_tenant_user(access, owner).await?;
        self.check_workable(access.tenant_id(), &user.id).await?;
        let (private_key, public_key) = credentials::new_wireguard_key_pair();
        let device = self
            .create_device(
                access,
                api_types::tenancy::CreateDevice {
                    name: name.to_owned(),
                    owner: Some(owner.to_owned()),
                    kind,
                    public_key,
                },
            )
            .await?;
        Ok((device, private_key))
    }
}

/// A device's preference for a gateway, the same wherever it is computed:
/// the first 8 bytes of SHA-256 over both ids.
fn rendezvous_rank(device_id: &str, gateway_id: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(device_id.as_bytes())
        .chain_update([0])
        .chain_update(gateway_id.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}
