//! Devices: WireGuard identities with a stable tunnel address from the tenant's pool.

use api_types::tenancy::{CreateDevice, Device, DeviceKind, DeviceState};
use ipnet::IpNet;
use serde_json::json;
use sqlx::{AnyConnection, FromRow};

use crate::addressing;
use crate::audit::{self, Change};
use crate::authz::TenantAccess;
use crate::convert::{opt_timestamp, timestamp};
use crate::paging::{self, Page, PageError, PageRequest};
use crate::validate;
use crate::{Result, Store, StoreError, new_id, now_ms};

#[derive(FromRow)]
struct DeviceRow {
    id: String,
    owner: Option<String>,
    name: String,
    kind: String,
    public_key: Option<String>,
    tunnel_address: Option<String>,
    state: String,
    created_at: i64,
    revoked_at: Option<i64>,
}

const DEVICE_SELECT: &str = "SELECT d.id, u.username AS owner, d.name, d.kind, d.public_key, \
     d.tunnel_address, d.state, d.created_at, d.revoked_at \
     FROM devices d LEFT JOIN users u ON u.id = d.user_id";

fn to_device(access: &TenantAccess, row: DeviceRow) -> Device {
    Device {
        id: row.id,
        tenant: access.tenant_slug().to_owned(),
        owner: row.owner,
        name: row.name,
        kind: DeviceKind::parse(&row.kind).unwrap_or(DeviceKind::Other),
        public_key: row.public_key,
        tunnel_address: row.tunnel_address,
        state: DeviceState::parse(&row.state).unwrap_or(DeviceState::Revoked),
        created_at: timestamp(row.created_at),
        revoked_at: opt_timestamp(row.revoked_at),
    }
}

/// Checks `max_devices` and returns `count` free tunnel addresses as
/// `(index, address)`. Call with the tenant locked.
pub(crate) async fn reserve_addresses(
    conn: &mut AnyConnection,
    tenant_id: &str,
    count: usize,
) -> Result<Vec<(i64, String)>> {
    let (pool, max_devices): (String, Option<i64>) =
        sqlx::query_as("SELECT address_pool, max_devices FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_one(&mut *conn)
            .await?;
    let in_use: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM devices WHERE tenant_id = $1 AND state <> 'revoked'",
    )
    .bind(tenant_id)
    .fetch_one(&mut *conn)
    .await?;
    let wanted = i64::try_from(count).unwrap_or(i64::MAX);
    if let Some(max) = max_devices
        && in_use + wanted > max
    {
        return Err(StoreError::Conflict(format!(
            "the tenant may have at most {max} devices and has {in_use}; revoke devices or ask \
             the provider to raise max_devices"
        )));
    }
    let pool: IpNet = pool
        .parse()
        .map_err(|_| StoreError::Conflict("the tenant's address pool is corrupt".to_owned()))?;
    // Usually the used addresses have no gaps and the next ones follow the
    // highest: two aggregates instead of reading every used index, which
    // made creating devices slower the more a tenant had (and held the
    // write lock meanwhile).
    let (used_count, max_used): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(address_index), MAX(address_index) FROM devices \
         WHERE tenant_id = $1 AND address_index IS NOT NULL",
    )
    .bind(tenant_id)
    .fetch_one(&mut *conn)
    .await?;
    let max_used = max_used.and_then(|max| u64::try_from(max).ok());
    let without_gaps = max_used.is_none_or(|max| {
        let span = (max + 1).checked_sub(addressing::FIRST_DEVICE_INDEX);
        span.is_some() && u64::try_from(used_count).ok() == span
    });
    let free = if without_gaps {
        addressing::indices_after(&pool, max_used, count)
    } else {
        let used: Vec<i64> = sqlx::query_scalar(
            "SELECT address_index FROM devices WHERE tenant_id = $1 AND address_index IS NOT NULL \
             ORDER BY address_index",
        )
        .bind(tenant_id)
        .fetch_all(&mut *conn)
        .await?;
        let used: Vec<u64> = used
            .into_iter()
            .filter_map(|i| u64::try_from(i).ok())
            .collect();
        addressing::free_indices(&pool, &used, count)
    };
    if free.len() < count {
        return Err(StoreError::Conflict(format!(
            "the address pool {pool} is full ({} addresses); ask the provider for a larger pool",
            addressing::capacity(&pool)
        )));
    }
    Ok(free
        .into_iter()
        .filter_map(|index| {
            let address = addressing::address_at(&pool, index)?;
            Some((i64::try_from(index).ok()?, address.to_string()))
        })
        .collect())
}

impl Store {
    pub async fn list_devices(&self, access: &TenantAccess) -> Result<Vec<Device>> {
        let rows = sqlx::query_as::<_, DeviceRow>(&format!(
            "{DEVICE_SELECT} WHERE d.tenant_id = $1 ORDER BY d.created_at, d.id"
        ))
        .bind(access.tenant_id())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|row| to_device(access, row)).collect())
    }

    /// One page of the tenant's devices in the order they were created,
    /// optionally only those whose name, owner or tunnel address contains
    /// the search text.
    pub async fn page_devices(
        &self,
        access: &TenantAccess,
        request: &PageRequest,
    ) -> Result<Page<Device>> {
        let scope = format!("devices/{}", access.tenant_id());
        let after = request.after(&scope, 2)?;
        let mut sql = format!("{DEVICE_SELECT} WHERE d.tenant_id = $1");
        let mut texts: Vec<String> = vec![access.tenant_id().to_owned()];
        let mut created_after = None;
        if let Some([created, id]) = after.as_deref() {
            let created: i64 = created.parse().map_err(|_| PageError::Cursor)?;
            texts.push(id.clone());
            created_after = Some(created);
            // The created time is bound last ($n below).
            sql.push_str(&format!(
                " AND (d.created_at > $LAST OR (d.created_at = $LAST AND d.id > ${}))",
                texts.len()
            ));
        }
        if let Some(pattern) = request.like_pattern() {
            texts.push(pattern);
            let n = texts.len();
            sql.push_str(&format!(
                " AND (LOWER(d.name) LIKE ${n} ESCAPE '\\' OR u.username LIKE ${n} \
                 ESCAPE '\\' OR d.tunnel_address LIKE ${n} ESCAPE '\\')"
            ));
        }
        let sql = sql.replace("$LAST", &format!("${}", texts.len() + 1));
        let sql = format!(
            "{sql} ORDER BY d.created_at, d.id LIMIT {}",
            u64::from(request.limit) + 1
        );
        let mut query = sqlx::query_as::<_, DeviceRow>(&sql);
        for text in texts {
            query = query.bind(text);
        }
        if let Some(created) = created_after {
            query = query.bind(created);
        }
        let rows = query.fetch_all(self.pool()).await?;
        let page = Page::from_rows(rows, request.limit, |row| {
            paging::cursor(
                &scope,
                &[row.created_at.to_string().as_str(), row.id.as_str()],
            )
        });
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|row| to_device(access, row))
                .collect(),
            next: page.next,
        })
    }

    pub async fn get_device(&self, access: &TenantAccess, device: &str) -> Result<Device> {
        sqlx::query_as::<_, DeviceRow>(&format!(
            "{DEVICE_SELECT} WHERE d.tenant_id = $1 AND d.id = $2"
        ))
        .bind(access.tenant_id())
        .bind(device.trim())
        .fetch_optional(self.pool())
        .await?
        .map(|row| to_device(access, row))
        .ok_or_else(|| StoreError::not_found("device", device))
    }

    /// Registers a device whose key pair was made on the device.
    pub async fn create_device(
        &self,
        access: &TenantAccess,
        request: CreateDevice,
    ) -> Result<Device> {
        let (name, public_key) = validate::all((
            validate::name("name", &request.name, 100),
            validate::public_key("public_key", &request.public_key),
        ))?;
        let owner = match &request.owner {
            Some(owner) => Some(self.get_tenant_user(access, owner).await?),
            None => None,
        };

        let mut tx = self.write().await?;
        tx.lock_tenant(access.tenant_id()).await?;
        let taken = sqlx::query("SELECT id FROM devices WHERE public_key = $1")
            .bind(&public_key)
            .fetch_optional(tx.conn())
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(
                "this public key is already registered; generate a new key pair".to_owned(),
            ));
        }
        let addresses = reserve_addresses(tx.conn(), access.tenant_id(), 1).await?;
        let Some((index, address)) = addresses.into_iter().next() else {
            return Err(StoreError::Conflict("no free tunnel address".to_owned()));
        };
        let id = new_id();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO devices (id, tenant_id, user_id, name, kind, public_key, address_index, \
             tunnel_address, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $9)",
        )
        .bind(&id)
        .bind(access.tenant_id())
        .bind(owner.as_ref().map(|o| o.id.as_str()))
        .bind(&name)
        .bind(request.kind.as_str())
        .bind(&public_key)
        .bind(index)
        .bind(&address)
        .bind(now)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "device.create",
                target_type: "device",
                target_id: &id,
                target_name: &name,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({
                    "owner": owner.as_ref().map(|o| o.username.clone()),
                    "kind": request.kind.as_str(),
                    "public_key": public_key,
                    "tunnel_address": address,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_device(access, &id).await
    }

    /// Revokes a device for good: its key can never connect again and its
    /// address returns to the pool.
    pub async fn revoke_device(&self, access: &TenantAccess, device: &str) -> Result<Device> {
        let existing = self.get_device(access, device).await?;
        if existing.state == DeviceState::Revoked {
            return Ok(existing);
        }
        let mut tx = self.write().await?;
        let now = now_ms();
        sqlx::query(
            "UPDATE devices SET state = 'revoked', revoked_at = $1, updated_at = $1, \
             address_index = NULL WHERE id = $2 AND tenant_id = $3",
        )
        .bind(now)
        .bind(&existing.id)
        .bind(access.tenant_id())
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "device.revoke",
                target_type: "device",
                target_id: &existing.id,
                target_name: &existing.name,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({ "previous_state": existing.state.as_str() }),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_device(access, &existing.id).await
    }
}
