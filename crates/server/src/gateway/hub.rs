//! Connected gateways of this control-plane process, for pushing messages
//! (ending sessions) to them from API handlers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use api_types::gateway::ToGateway;
use tokio::sync::mpsc;

struct Connection {
    id: u64,
    sender: mpsc::UnboundedSender<ToGateway>,
    applied_version: u64,
}

#[derive(Default)]
pub struct Hub {
    connections: Mutex<HashMap<String, Connection>>,
    next_id: AtomicU64,
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Connection>> {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers the newest connection of a gateway; returns its id.
    pub fn register(&self, gateway_id: &str, sender: mpsc::UnboundedSender<ToGateway>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(
            gateway_id.to_owned(),
            Connection {
                id,
                sender,
                applied_version: 0,
            },
        );
        id
    }

    /// Forgets a connection unless a newer one replaced it.
    pub fn unregister(&self, gateway_id: &str, connection: u64) {
        let mut connections = self.lock();
        if connections
            .get(gateway_id)
            .is_some_and(|c| c.id == connection)
        {
            connections.remove(gateway_id);
        }
    }

    /// Sends to a gateway if it is connected to this process.
    pub fn send(&self, gateway_id: &str, message: ToGateway) -> bool {
        self.lock()
            .get(gateway_id)
            .is_some_and(|c| c.sender.send(message).is_ok())
    }

    pub fn applied(&self, gateway_id: &str, version: u64) {
        if let Some(connection) = self.lock().get_mut(gateway_id) {
            connection.applied_version = version;
        }
    }

    /// `(gateway id, applied config version)` of connected gateways.
    pub fn connected(&self) -> Vec<(String, u64)> {
        let mut list: Vec<(String, u64)> = self
            .lock()
            .iter()
            .map(|(id, c)| (id.clone(), c.applied_version))
            .collect();
        list.sort();
        list
    }
}
