//! Rendering results as tables (for people) or JSON (for scripts).

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;
use time::OffsetDateTime;

/// `println!` that ends the process quietly when stdout is closed
/// (`homegate devices list | head -1`) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// Writes one line to stdout; a closed pipe ends the process with success,
/// as the reader has all it wanted.
pub(crate) fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
        && error.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// A role as it is typed on the command line (`tenant-admin`).
pub(crate) fn role(role: api_types::Role) -> String {
    role.as_str().replace('_', "-")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    Table,
    Json,
}

/// A record that can be shown as a table row.
pub(crate) trait Tabular: Serialize {
    fn headers() -> &'static [&'static str];
    fn row(&self) -> Vec<String>;
}

pub(crate) fn list<T: Tabular>(format: OutputFormat, items: &[T]) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(items)?),
        OutputFormat::Table => {
            if items.is_empty() {
                outln!("(none)");
                return Ok(());
            }
            let mut table = new_table();
            table.set_header(T::headers().iter().copied());
            for item in items {
                table.add_row(item.row());
            }
            outln!("{table}");
        }
    }
    Ok(())
}

/// One record, as a two-column field/value table.
pub(crate) fn one<T: Tabular>(format: OutputFormat, item: &T) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(item)?),
        OutputFormat::Table => {
            let mut table = new_table();
            for (header, value) in T::headers().iter().zip(item.row()) {
                table.add_row(vec![(*header).to_owned(), value]);
            }
            outln!("{table}");
        }
    }
    Ok(())
}

/// A record that comes with a one-time secret: the whole response as JSON,
/// or the record as a table followed by the secret line.
pub(crate) fn with_secret<W: Serialize, T: Tabular>(
    format: OutputFormat,
    whole: &W,
    record: &T,
    secret_line: &str,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(whole)?),
        OutputFormat::Table => {
            one(format, record)?;
            outln!("{secret_line}");
        }
    }
    Ok(())
}

/// A plain message in table mode, a JSON object in JSON mode.
pub(crate) fn done(format: OutputFormat, message: &str) {
    match format {
        OutputFormat::Json => outln!("{}", serde_json::json!({ "ok": true, "message": message })),
        OutputFormat::Table => outln!("{message}"),
    }
}

fn new_table() -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table
}

pub(crate) fn time(at: &OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(crate) fn opt_time(at: Option<&OffsetDateTime>) -> String {
    at.map(time).unwrap_or_else(|| "-".to_owned())
}

pub(crate) fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

pub(crate) fn limit(value: Option<u32>) -> String {
    value.map_or_else(|| "unlimited".to_owned(), |v| v.to_string())
}
