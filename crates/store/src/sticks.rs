//! Home-office sticks. A batch is created in one transaction: N devices in
//! state `prepared` with tunnel addresses, and N one-time enrollment tokens
//! (stored hashed). The batch stays `generating` until whoever writes its
//! files reports them complete; until then its sticks cannot enroll, and it
//! can be cancelled (everything deleted) or its tokens reissued to write the
//! files again.

use api_types::Language;
use api_types::sticks::{
    BatchState, CreateStickBatch, DEFAULT_TOKEN_DAYS, MAX_BATCH_SIZE, MAX_TOKEN_DAYS, Recipient,
    Stick, StickBatch, StickCounts, StickCredential,
};
use api_types::tenancy::DeviceState;
use serde_json::json;
use sqlx::{FromRow, Row};

use crate::audit::{self, Change};
use crate::authz::TenantAccess;
use crate::convert::{opt_timestamp, timestamp, u32_or_zero};
use crate::credentials;
use crate::devices::reserve_addresses;
use crate::{Result, Store, StoreError, Violation, WriteTx, new_id, now_ms};

/// Rows per multi-row INSERT: well below SQLite's and PostgreSQL's limits
/// on bound parameters.
const INSERT_CHUNK: usize = 200;

/// A batch as stored, plus the secrets that were issued for it.
pub struct IssuedBatch {
    pub batch: StickBatch,
    pub tenant_name: String,
    pub sticks: Vec<StickCredential>,
}

#[derive(FromRow)]
struct BatchRow {
    id: String,
    group_name: Option<String>,
    state: String,
    language: String,
    stick_count: i64,
    created_at: i64,
    token_expires_at: i64,
    prepared: i64,
    shipped: i64,
    enrolled: i64,
    revoked: i64,
}

const BATCH_SELECT: &str = "SELECT b.id, g.name AS group_name, b.state, b.language, b.stick_count, b.created_at, \
     b.token_expires_at, \
     COALESCE(SUM(CASE WHEN d.state = 'prepared' THEN 1 ELSE 0 END), 0) AS prepared, \
     COALESCE(SUM(CASE WHEN d.state = 'shipped' THEN 1 ELSE 0 END), 0) AS shipped, \
     COALESCE(SUM(CASE WHEN d.state = 'enrolled' THEN 1 ELSE 0 END), 0) AS enrolled, \
     COALESCE(SUM(CASE WHEN d.state = 'revoked' THEN 1 ELSE 0 END), 0) AS revoked \
     FROM stick_batches b LEFT JOIN devices d ON d.batch_id = b.id \
     LEFT JOIN user_groups g ON g.id = b.group_id";

const BATCH_GROUP: &str = "GROUP BY b.id, g.name, b.state, b.language, b.stick_count, b.created_at, \
     b.token_expires_at";

fn to_batch(access: &TenantAccess, row: BatchRow) -> StickBatch {
    StickBatch {
        id: row.id,
        tenant: access.tenant_slug().to_owned(),
        state: BatchState::parse(&row.state).unwrap_or(BatchState::Generating),
        language: Language::parse(&row.language).unwrap_or(Language::En),
        count: u32_or_zero(row.stick_count),
        group: row.group_name,
        sticks: StickCounts {
            prepared: u32_or_zero(row.prepared),
            shipped: u32_or_zero(row.shipped),
            enrolled: u32_or_zero(row.enrolled),
            revoked: u32_or_zero(row.revoked),
        },
        created_at: timestamp(row.created_at),
        token_expires_at: timestamp(row.token_expires_at),
    }
}

#[derive(FromRow)]
struct StickRow {
    stick_id: String,
    id: String,
    batch_id: String,
    state: String,
    recipient: Option<String>,
    tunnel_address: Option<String>,
    shipped_at: Option<i64>,
    enrolled_at: Option<i64>,
    revoked_at: Option<i64>,
}

const STICK_SELECT: &str = "SELECT d.stick_id, d.id, d.batch_id, d.state, d.recipient, \
     d.tunnel_address, d.shipped_at, d.enrolled_at, d.revoked_at FROM devices d";

fn to_stick(access: &TenantAccess, row: StickRow) -> Stick {
    Stick {
        stick_id: row.stick_id,
        device_id: row.id,
        batch_id: row.batch_id,
        tenant: access.tenant_slug().to_owned(),
        state: DeviceState::parse(&row.state).unwrap_or(DeviceState::Revoked),
        recipient: row
            .recipient
            .and_then(|text| serde_json::from_str(&text).ok()),
        tunnel_address: row.tunnel_address,
        shipped_at: opt_timestamp(row.shipped_at),
        enrolled_at: opt_timestamp(row.enrolled_at),
        revoked_at: opt_timestamp(row.revoked_at),
    }
}

/// A stick id people can read out on the phone: `ST-` and two groups of
/// four letters/digits without look-alikes.
fn new_stick_id(rng: &mut impl rand::Rng) -> String {
    const ALPHABET: &[u8] = b"ACDEFGHJKLMNPQRTUVWXYZ234679";
    let mut group = || -> String {
        (0..4)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect()
    };
    format!("ST-{}-{}", group(), group())
}

/// Placeholders `($1, …, $n), ($n+1, …)` for a multi-row INSERT.
fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let cells: Vec<String> = (1..=columns)
                .map(|column| format!("${}", row * columns + column))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn validate_recipients(recipients: &[Recipient]) -> Result<()> {
    for (index, recipient) in recipients.iter().enumerate() {
        let row = index + 1;
        if recipient.name.trim().is_empty() {
            return Err(StoreError::invalid(
                &format!("recipients[{row}].name"),
                "every recipient needs a name",
            ));
        }
        if recipient.name.chars().count() > 200
            || recipient.address.len() > 6
            || recipient
                .address
                .iter()
                .any(|line| line.chars().count() > 200)
        {
            return Err(StoreError::invalid(
                &format!("recipients[{row}]"),
                "names and address lines are at most 200 characters, at most 6 lines",
            ));
        }
    }
    Ok(())
}

impl Store {
    /// Creates a batch of prepared sticks and their one-time tokens, all or
    /// nothing. The tokens are returned once.
    pub async fn create_stick_batch(
        &self,
        access: &TenantAccess,
        request: CreateStickBatch,
    ) -> Result<IssuedBatch> {
        let count = match (request.count, request.recipients.len()) {
            (Some(count), _) => count,
            (None, 0) => {
                return Err(StoreError::invalid(
                    "count",
                    "give a count or a list of recipients",
                ));
            }
            (None, listed) => u32::try_from(listed).unwrap_or(u32::MAX),
        };
        if !(1..=MAX_BATCH_SIZE).contains(&count) {
            return Err(StoreError::invalid(
                "count",
                format!("a batch has 1 to {MAX_BATCH_SIZE} sticks, not {count}"),
            ));
        }
        if request.recipients.len() > count as usize {
            return Err(StoreError::invalid(
                "recipients",
                format!(
                    "{} recipients but only {count} sticks; raise the count or shorten the list",
                    request.recipients.len()
                ),
            ));
        }
        validate_recipients(&request.recipients)?;
        let valid_days = request.valid_days.unwrap_or(DEFAULT_TOKEN_DAYS);
        if !(1..=MAX_TOKEN_DAYS).contains(&valid_days) {
            return Err(StoreError::invalid(
                "valid_days",
                format!("must be between 1 and {MAX_TOKEN_DAYS}"),
            ));
        }
        let tenant = self.get_tenant(access).await?;
        let language = request.language.unwrap_or(tenant.default_language);
        let group_id = match request.group.as_deref().map(str::trim) {
            Some(group) if !group.is_empty() => Some(
                self.get_group(access, group)
                    .await
                    .map_err(|_| {
                        StoreError::invalid("group", format!("no group '{group}' in this tenant"))
                    })?
                    .id,
            ),
            _ => None,
        };
        // Owners named in the list must be employees of this tenant; every
        // unknown one is reported at once (`recipients[N]` counts from 1).
        let mut owners: Vec<Option<String>> = Vec::with_capacity(request.recipients.len());
        let mut unknown = Vec::new();
        for (index, recipient) in request.recipients.iter().enumerate() {
            owners.push(match recipient.username.as_deref().map(str::trim) {
                Some(username) if !username.is_empty() => {
                    match self.get_tenant_user(access, username).await {
                        Ok(user) => Some(user.id),
                        Err(_) => {
                            unknown.push(Violation::new(
                                &format!("recipients[{}].username", index + 1),
                                format!("no employee '{username}' in this tenant"),
                            ));
                            None
                        }
                    }
                }
                _ => None,
            });
        }
        if !unknown.is_empty() {
            return Err(StoreError::Invalid(unknown));
        }

        let now = now_ms();
        let expires_at = now + i64::from(valid_days) * 86_400_000;
        let batch_id = new_id();
        let count = count as usize;
        let mut tx = self.write().await?;
        tx.lock_tenant(access.tenant_id()).await?;
        let addresses = reserve_addresses(tx.conn(), access.tenant_id(), count).await?;
        sqlx::query(
            "INSERT INTO stick_batches (id, tenant_id, state, language, stick_count, created_by, \
             created_at, updated_at, token_expires_at, group_id) \
             VALUES ($1, $2, 'generating', $3, $4, $5, $6, $6, $7, $8)",
        )
        .bind(&batch_id)
        .bind(access.tenant_id())
        .bind(language.code())
        .bind(i64::try_from(count).unwrap_or(i64::MAX))
        .bind(access.audit().actor_id.as_deref())
        .bind(now)
        .bind(expires_at)
        .bind(group_id.as_deref())
        .execute(tx.conn())
        .await?;

        let mut sticks = Vec::with_capacity(count);
        let mut seen = std::collections::HashSet::with_capacity(count);
        {
            let mut rng = rand::rng();
            while sticks.len() < count {
                let stick_id = new_stick_id(&mut rng);
                if !seen.insert(stick_id.clone()) {
                    continue;
                }
                let index = sticks.len();
                sticks.push(StickCredential {
                    stick_id,
                    device_id: new_id(),
                    token: credentials::new_secret("hgs"),
                    recipient: request.recipients.get(index).cloned(),
                });
            }
        }
        for (chunk_index, chunk) in sticks.chunks(INSERT_CHUNK).enumerate() {
            let offset = chunk_index * INSERT_CHUNK;
            let sql = format!(
                "INSERT INTO devices (id, tenant_id, user_id, name, kind, address_index, \
                 tunnel_address, state, created_at, updated_at, batch_id, stick_id, recipient) \
                 VALUES {}",
                placeholders(chunk.len(), 13)
            );
            let mut query = sqlx::query(&sql);
            for (i, stick) in chunk.iter().enumerate() {
                let (index, address) = &addresses[offset + i];
                let recipient = stick
                    .recipient
                    .as_ref()
                    .and_then(|r| serde_json::to_string(r).ok());
                query = query
                    .bind(&stick.device_id)
                    .bind(access.tenant_id())
                    .bind(owners.get(offset + i).cloned().flatten())
                    .bind(format!("Stick {}", stick.stick_id))
                    .bind("stick")
                    .bind(*index)
                    .bind(address)
                    .bind("prepared")
                    .bind(now)
                    .bind(now)
                    .bind(&batch_id)
                    .bind(&stick.stick_id)
                    .bind(recipient);
            }
            query.execute(tx.conn()).await?;
        }
        insert_tokens(&mut tx, access, &sticks, now, expires_at).await?;
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: "stick_batch.create",
                target_type: "stick_batch",
                target_id: &batch_id,
                target_name: &format!("{count} sticks"),
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({
                    "count": count,
                    "recipients": request.recipients.len(),
                    "language": language.code(),
                    "valid_days": valid_days,
                    "group": request.group,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        let batch = self.get_stick_batch(access, &batch_id).await?;
        Ok(IssuedBatch {
            batch,
            tenant_name: tenant.name,
            sticks,
        })
    }

    pub async fn list_stick_batches(&self, access: &TenantAccess) -> Result<Vec<StickBatch>> {
        let rows = sqlx::query_as::<_, BatchRow>(&format!(
            "{BATCH_SELECT} WHERE b.tenant_id = $1 {BATCH_GROUP} ORDER BY b.created_at DESC, b.id"
        ))
        .bind(access.tenant_id())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|row| to_batch(access, row)).collect())
    }

    pub async fn get_stick_batch(&self, access: &TenantAccess, batch: &str) -> Result<StickBatch> {
        sqlx::query_as::<_, BatchRow>(&format!(
            "{BATCH_SELECT} WHERE b.tenant_id = $1 AND b.id = $2 {BATCH_GROUP}"
        ))
        .bind(access.tenant_id())
        .bind(batch.trim())
        .fetch_optional(self.pool())
        .await?
        .map(|row| to_batch(access, row))
        .ok_or_else(|| StoreError::not_found("stick batch", batch))
    }

    /// Sticks of the tenant, optionally of one batch, in creation order.
    pub async fn list_sticks(
        &self,
        access: &TenantAccess,
        batch: Option<&str>,
    ) -> Result<Vec<Stick>> {
        let rows = match batch {
            Some(batch) => {
                let batch = self.get_stick_batch(access, batch).await?;
                sqlx::query_as::<_, StickRow>(&format!(
                    "{STICK_SELECT} WHERE d.tenant_id = $1 AND d.batch_id = $2 \
                     ORDER BY d.created_at, d.address_index, d.stick_id"
                ))
                .bind(access.tenant_id())
                .bind(&batch.id)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query_as::<_, StickRow>(&format!(
                    "{STICK_SELECT} WHERE d.tenant_id = $1 AND d.batch_id IS NOT NULL \
                     ORDER BY d.created_at, d.stick_id"
                ))
                .bind(access.tenant_id())
                .fetch_all(self.pool())
                .await?
            }
        };
        Ok(rows.into_iter().map(|row| to_stick(access, row)).collect())
    }

    pub async fn get_stick(&self, access: &TenantAccess, stick: &str) -> Result<Stick> {
        sqlx::query_as::<_, StickRow>(&format!(
            "{STICK_SELECT} WHERE d.tenant_id = $1 AND (d.stick_id = $2 OR d.id = $3) \
             AND d.batch_id IS NOT NULL"
        ))
        .bind(access.tenant_id())
        .bind(stick.trim().to_ascii_uppercase())
        .bind(stick.trim())
        .fetch_optional(self.pool())
        .await?
        .map(|row| to_stick(access, row))
        .ok_or_else(|| StoreError::not_found("stick", stick))
    }

    /// Marks a batch's files as written: its sticks may enroll from now on.
    pub async fn complete_stick_batch(
        &self,
        access: &TenantAccess,
        batch: &str,
    ) -> Result<StickBatch> {
        let existing = self.get_stick_batch(access, batch).await?;
        if existing.state == BatchState::Ready {
            return Ok(existing);
        }
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE stick_batches SET state = 'ready', updated_at = $1 WHERE id = $2 AND tenant_id = $3",
        )
        .bind(now_ms())
        .bind(&existing.id)
        .bind(access.tenant_id())
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            access.audit(),
            batch_change("stick_batch.complete", access, &existing, json!({})),
        )
        .await?;
        tx.commit().await?;
        self.get_stick_batch(access, &existing.id).await
    }

    /// Deletes a batch whose files were never completed, with its devices
    /// and tokens: the rollback of a failed generation.
    pub async fn cancel_stick_batch(
        &self,
        access: &TenantAccess,
        batch: &str,
    ) -> Result<StickBatch> {
        let existing = self.get_stick_batch(access, batch).await?;
        if existing.state != BatchState::Generating {
            return Err(StoreError::Conflict(
                "this batch is complete and may have been shipped; revoke its sticks instead"
                    .to_owned(),
            ));
        }
        let mut tx = self.write().await?;
        sqlx::query(
            "DELETE FROM enrollment_codes WHERE device_id IN \
             (SELECT id FROM devices WHERE batch_id = $1)",
        )
        .bind(&existing.id)
        .execute(tx.conn())
        .await?;
        sqlx::query("DELETE FROM devices WHERE batch_id = $1 AND tenant_id = $2")
            .bind(&existing.id)
            .bind(access.tenant_id())
            .execute(tx.conn())
            .await?;
        sqlx::query("DELETE FROM stick_batches WHERE id = $1 AND tenant_id = $2")
            .bind(&existing.id)
            .bind(access.tenant_id())
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            access.audit(),
            batch_change(
                "stick_batch.cancel",
                access,
                &existing,
                json!({ "count": existing.count }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(existing)
    }

    /// New tokens for every stick of a batch whose files were never
    /// completed (the old ones were never handed out), so its files can be
    /// written again.
    pub async fn reissue_stick_batch(
        &self,
        access: &TenantAccess,
        batch: &str,
    ) -> Result<IssuedBatch> {
        let existing = self.get_stick_batch(access, batch).await?;
        if existing.state != BatchState::Generating {
            return Err(StoreError::Conflict(
                "this batch is complete; its tokens cannot be reissued".to_owned(),
            ));
        }
        let tenant = self.get_tenant(access).await?;
        let current = self.list_sticks(access, Some(&existing.id)).await?;
        let sticks: Vec<StickCredential> = current
            .into_iter()
            .map(|stick| StickCredential {
                stick_id: stick.stick_id,
                device_id: stick.device_id,
                token: credentials::new_secret("hgs"),
                recipient: stick.recipient,
            })
            .collect();
        let now = now_ms();
        let mut tx = self.write().await?;
        sqlx::query(
            "DELETE FROM enrollment_codes WHERE device_id IN \
             (SELECT id FROM devices WHERE batch_id = $1)",
        )
        .bind(&existing.id)
        .execute(tx.conn())
        .await?;
        insert_tokens(
            &mut tx,
            access,
            &sticks,
            now,
            crate::convert::to_ms(existing.token_expires_at),
        )
        .await?;
        audit::record(
            &mut tx,
            access.audit(),
            batch_change(
                "stick_batch.reissue",
                access,
                &existing,
                json!({ "count": sticks.len() }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedBatch {
            batch: existing,
            tenant_name: tenant.name,
            sticks,
        })
    }

    /// Marks every prepared stick of a batch as shipped.
    pub async fn ship_stick_batch(&self, access: &TenantAccess, batch: &str) -> Result<StickBatch> {
        let existing = self.get_stick_batch(access, batch).await?;
        if existing.state != BatchState::Ready {
            return Err(StoreError::Conflict(
                "this batch's files are not complete yet; finish or cancel it first".to_owned(),
            ));
        }
        let now = now_ms();
        let mut tx = self.write().await?;
        let shipped = sqlx::query(
            "UPDATE devices SET state = 'shipped', shipped_at = $1, updated_at = $1 \
             WHERE batch_id = $2 AND tenant_id = $3 AND state = 'prepared'",
        )
        .bind(now)
        .bind(&existing.id)
        .bind(access.tenant_id())
        .execute(tx.conn())
        .await?
        .rows_affected();
        audit::record(
            &mut tx,
            access.audit(),
            batch_change(
                "stick_batch.ship",
                access,
                &existing,
                json!({ "shipped": shipped }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.get_stick_batch(access, &existing.id).await
    }

    /// Revokes every stick of a batch that is not revoked yet.
    pub async fn revoke_stick_batch(
        &self,
        access: &TenantAccess,
        batch: &str,
    ) -> Result<StickBatch> {
        let existing = self.get_stick_batch(access, batch).await?;
        let now = now_ms();
        let mut tx = self.write().await?;
        let revoked = revoke_where(&mut tx, access, "batch_id = $3", &existing.id, now).await?;
        audit::record(
            &mut tx,
            access.audit(),
            batch_change(
                "stick_batch.revoke",
                access,
                &existing,
                json!({ "revoked": revoked }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.get_stick_batch(access, &existing.id).await
    }

    /// Moves one stick to `shipped` or `revoked`.
    pub async fn update_stick(
        &self,
        access: &TenantAccess,
        stick: &str,
        state: DeviceState,
    ) -> Result<Stick> {
        let existing = self.get_stick(access, stick).await?;
        let now = now_ms();
        let mut tx = self.write().await?;
        match (existing.state, state) {
            (from, to) if from == to => return Ok(existing),
            (DeviceState::Prepared, DeviceState::Shipped) => {
                let batch_ready: Option<String> =
                    sqlx::query_scalar("SELECT state FROM stick_batches WHERE id = $1")
                        .bind(&existing.batch_id)
                        .fetch_optional(tx.conn())
                        .await?;
                if batch_ready.as_deref() != Some("ready") {
                    return Err(StoreError::Conflict(
                        "this stick's batch is not complete yet".to_owned(),
                    ));
                }
                sqlx::query(
                    "UPDATE devices SET state = 'shipped', shipped_at = $1, updated_at = $1 \
                     WHERE id = $2 AND tenant_id = $3 AND state = 'prepared'",
                )
                .bind(now)
                .bind(&existing.device_id)
                .bind(access.tenant_id())
                .execute(tx.conn())
                .await?;
            }
            (_, DeviceState::Revoked) => {
                revoke_where(&mut tx, access, "id = $3", &existing.device_id, now).await?;
            }
            (from, to) => {
                return Err(StoreError::Conflict(format!(
                    "a stick cannot go from {} to {}: sticks go prepared → shipped → enrolled, \
                     and any of them → revoked",
                    from.as_str(),
                    to.as_str()
                )));
            }
        }
        audit::record(
            &mut tx,
            access.audit(),
            Change {
                action: if state == DeviceState::Revoked {
                    "stick.revoke"
                } else {
                    "stick.ship"
                },
                target_type: "device",
                target_id: &existing.device_id,
                target_name: &existing.stick_id,
                tenant: Some((access.tenant_id(), access.tenant_slug())),
                details: json!({ "previous_state": existing.state.as_str() }),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_stick(access, &existing.device_id).await
    }
}

fn batch_change<'a>(
    action: &'static str,
    access: &'a TenantAccess,
    batch: &'a StickBatch,
    details: serde_json::Value,
) -> Change<'a> {
    Change {
        action,
        target_type: "stick_batch",
        target_id: &batch.id,
        target_name: &batch.id,
        tenant: Some((access.tenant_id(), access.tenant_slug())),
        details,
    }
}

async fn insert_tokens(
    tx: &mut WriteTx<'_>,
    access: &TenantAccess,
    sticks: &[StickCredential],
    now: i64,
    expires_at: i64,
) -> Result<()> {
    for chunk in sticks.chunks(INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO enrollment_codes (id, tenant_id, user_id, code_hash, kind, created_by, \
             created_at, expires_at, device_id) VALUES {}",
            placeholders(chunk.len(), 9)
        );
        let mut query = sqlx::query(&sql);
        for stick in chunk {
            query = query
                .bind(new_id())
                .bind(access.tenant_id())
                .bind(None::<String>)
                .bind(credentials::hash_secret(&credentials::normalize_code(
                    &stick.token,
                )))
                .bind("stick")
                .bind(access.audit().actor_id.clone())
                .bind(now)
                .bind(expires_at)
                .bind(&stick.device_id);
        }
        query.execute(tx.conn()).await?;
    }
    Ok(())
}

/// Revokes the sticks matching `condition` on `devices` (which uses `$3`) and burns
/// their tokens. Returns how many were revoked.
async fn revoke_where(
    tx: &mut WriteTx<'_>,
    access: &TenantAccess,
    condition: &str,
    value: &str,
    now: i64,
) -> Result<u64> {
    sqlx::query(&format!(
        "UPDATE enrollment_codes SET used_at = COALESCE(used_at, $1), expires_at = $1 \
         WHERE tenant_id = $2 AND device_id IN (SELECT id FROM devices WHERE {condition})"
    ))
    .bind(now)
    .bind(access.tenant_id())
    .bind(value)
    .execute(tx.conn())
    .await?;
    let revoked = sqlx::query(&format!(
        "UPDATE devices SET state = 'revoked', revoked_at = $1, updated_at = $1, \
         address_index = NULL WHERE tenant_id = $2 AND {condition} AND state <> 'revoked' \
         AND batch_id IS NOT NULL"
    ))
    .bind(now)
    .bind(access.tenant_id())
    .bind(value)
    .execute(tx.conn())
    .await?
    .rows_affected();
    Ok(revoked)
}

/// Checks a stick token's batch before enrollment: only complete batches enroll.
pub(crate) async fn ensure_batch_ready(
    conn: &mut sqlx::AnyConnection,
    device_id: &str,
) -> Result<()> {
    let row = sqlx::query(
        "SELECT b.state FROM devices d JOIN stick_batches b ON b.id = d.batch_id WHERE d.id = $1",
    )
    .bind(device_id)
    .fetch_optional(&mut *conn)
    .await?;
    let state: Option<String> = match row {
        Some(row) => row.try_get("state")?,
        None => None,
    };
    if state.as_deref() != Some("ready") {
        return Err(StoreError::Conflict(
            "this stick's batch was not completed; ask your IT department for a new stick"
                .to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stick_ids_are_readable_and_distinct() {
        let mut rng = rand::rng();
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| new_stick_id(&mut rng)).collect();
        assert!(ids.len() > 995);
        for id in ids.iter().take(10) {
            assert_eq!(id.len(), 12);
            assert!(id.starts_with("ST-"));
            assert!(!id.contains('0') && !id.contains('O') && !id.contains('1'));
        }
    }

    #[test]
    fn placeholders_number_rows_consecutively() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
