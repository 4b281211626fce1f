//! The routing table of published applications, reloaded when the
//! configuration version moves (every audited change bumps it, on every
//! replica through LISTEN/NOTIFY).

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use store::Store;
use store::proxy::PublishedApp;

type Table = HashMap<(String, String), Arc<PublishedApp>>;

#[derive(Default)]
pub struct Directory {
    /// The table and the configuration version it was read at; `None`
    /// until the first request.
    loaded: ArcSwap<Option<(u64, Table)>>,
    reload: tokio::sync::Mutex<()>,
}

impl Directory {
    /// The published application `app` of tenant `tenant` (slug and name).
    pub async fn find(
        &self,
        store: &Store,
        tenant: &str,
        app: &str,
    ) -> store::Result<Option<Arc<PublishedApp>>> {
        let version = *store.watch_config_version().borrow();
        let current =
            |loaded: &Option<(u64, Table)>| loaded.as_ref().is_some_and(|(at, _)| *at == version);
        let mut loaded = self.loaded.load_full();
        if !current(&loaded) {
            let _one_at_a_time = self.reload.lock().await;
            loaded = self.loaded.load_full();
            if !current(&loaded) {
                let table = store
                    .published_applications()
                    .await?
                    .into_iter()
                    .map(|app| {
                        let key = (
                            app.tenant.to_ascii_lowercase(),
                            app.application.to_ascii_lowercase(),
                        );
                        (key, Arc::new(app))
                    })
                    .collect();
                loaded = Arc::new(Some((version, table)));
                self.loaded.store(Arc::clone(&loaded));
            }
        }
        Ok(loaded.as_ref().as_ref().and_then(|(_, table)| {
            table
                .get(&(tenant.to_ascii_lowercase(), app.to_ascii_lowercase()))
                .cloned()
        }))
    }
}
