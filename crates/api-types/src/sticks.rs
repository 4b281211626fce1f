//! Home-office sticks: batches of prepared devices shipped to employees.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::Language;
use crate::tenancy::DeviceState;

pub const MAX_BATCH_SIZE: u32 = 10_000;
pub const DEFAULT_TOKEN_DAYS: u32 = 60;
pub const MAX_TOKEN_DAYS: u32 = 365;

/// Who a stick's letter is addressed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// Full name printed on the letter.
    pub name: String,
    /// Postal address lines (street, postcode and city, …).
    #[serde(default)]
    pub address: Vec<String>,
    #[serde(default)]
    pub email: String,
    /// Username of an existing employee of the tenant who gets the stick.
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStickBatch {
    /// Number of sticks, 1 to 10,000. With recipients, defaults to their number.
    #[serde(default)]
    pub count: Option<u32>,
    /// One recipient per stick, in order; sticks beyond the list are spares.
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// Language of letters and the stick's read-me [default: the tenant's].
    #[serde(default)]
    pub language: Option<Language>,
    /// Days the enrollment tokens stay valid [default: 60].
    #[serde(default)]
    pub valid_days: Option<u32>,
    /// Group (name or id) whose applications the sticks reach, besides
    /// what their owners' groups reach; needed for spare sticks.
    #[serde(default)]
    pub group: Option<String>,
}

/// `generating`: files are being written, sticks cannot enroll yet.
/// `ready`: complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    Generating,
    Ready,
}

impl BatchState {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Generating => "generating",
            BatchState::Ready => "ready",
        }
    }

    pub fn parse(text: &str) -> Option<BatchState> {
        match text {
            "generating" => Some(BatchState::Generating),
            "ready" => Some(BatchState::Ready),
            _ => None,
        }
    }
}

/// Counts of a batch's sticks per state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StickCounts {
    pub prepared: u32,
    pub shipped: u32,
    pub enrolled: u32,
    pub revoked: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StickBatch {
    pub id: String,
    pub tenant: String,
    pub state: BatchState,
    pub language: Language,
    pub count: u32,
    /// Group whose applications the batch's sticks reach.
    pub group: Option<String>,
    pub sticks: StickCounts,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub token_expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Stick {
    /// Printed on the stick and its letter, e.g. `ST-7KQM-3XPA`.
    pub stick_id: String,
    pub device_id: String,
    pub batch_id: String,
    pub tenant: String,
    /// `prepared`, `shipped`, `enrolled` or `revoked`.
    pub state: DeviceState,
    pub recipient: Option<Recipient>,
    pub tunnel_address: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub shipped_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub enrolled_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A stick's one-time token, returned once when the batch is created or its
/// tokens are reissued. Stored only as a hash.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct StickCredential {
    pub stick_id: String,
    pub device_id: String,
    pub token: String,
    pub recipient: Option<Recipient>,
}

impl std::fmt::Debug for StickCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StickCredential")
            .field("stick_id", &self.stick_id)
            .finish_non_exhaustive()
    }
}

/// Everything needed to write a batch's files.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StickBatchIssued {
    pub batch: StickBatch,
    /// Display name of the municipality for letters.
    pub tenant_name: String,
    /// Where sticks enroll.
    pub control_plane: String,
    /// SHA-256 of the control plane's TLS certificate (hex), when it serves TLS.
    pub certificate_pin: Option<String>,
    /// The employee portal, printed as a QR code on each letter.
    pub portal_url: String,
    pub sticks: Vec<StickCredential>,
}

/// Change of one stick's state by an operator.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStick {
    /// `shipped` or `revoked`.
    pub state: DeviceState,
}

/// What a stick carries: how to reach the control plane and the stick's
/// one-time enrollment token. Never a private key. Written as
/// `homegate-bundle.json` on the stick's FAT32 partition.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    pub version: u32,
    /// The control plane's public URL.
    pub control_plane: String,
    /// SHA-256 of the control plane's TLS certificate (DER, hex), for https.
    pub certificate_pin: Option<String>,
    /// The stick's one-time enrollment token.
    pub token: String,
    pub stick_id: String,
    pub tenant: String,
}

impl Bundle {
    pub const VERSION: u32 = 1;
    pub const FILE_NAME: &'static str = "homegate-bundle.json";
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("control_plane", &self.control_plane)
            .field("stick_id", &self.stick_id)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}
