//! Column encodings shared by all modules.

use time::OffsetDateTime;

pub(crate) fn timestamp(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn opt_timestamp(ms: Option<i64>) -> Option<OffsetDateTime> {
    ms.map(timestamp)
}

pub(crate) fn to_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(crate) fn opt_u32(value: Option<i64>) -> Option<u32> {
    value.and_then(|v| u32::try_from(v).ok())
}

pub(crate) fn u32_or_zero(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(0)
}
