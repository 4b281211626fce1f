//! Reading a home-office stick's enrollment bundle.

use std::path::Path;

use anyhow::{Context, bail};
pub use api_types::sticks::Bundle;

/// Reads a bundle file, or `homegate-bundle.json` inside a folder (the
/// mounted stick).
pub fn read(path: &Path) -> anyhow::Result<Bundle> {
    let path = if path.is_dir() {
        path.join(Bundle::FILE_NAME)
    } else {
        path.to_owned()
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the bundle {}", path.display()))?;
    // The file is padded with spaces to a fixed size on the stick.
    let bundle: Bundle = serde_json::from_str(text.trim_end())
        .with_context(|| format!("{} is not a homegate bundle", path.display()))?;
    if bundle.version != Bundle::VERSION {
        bail!(
            "bundle version {} is not supported (this homegate reads version {})",
            bundle.version,
            Bundle::VERSION
        );
    }
    Ok(bundle)
}
