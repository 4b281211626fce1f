//! The access-rule filter around the TUN device: gotatun writes decrypted
//! packets through [`FilteredSend`] and reads packets for devices from
//! [`FilteredRecv`]; both ask the current [`policy::Filter`].

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use gotatun::packet::{Ip, Packet, PacketBufPool};
use gotatun::tun::{IpRecv, IpSend, MtuWatcher};
use policy::{Filter, Verdict};
use zerocopy::IntoBytes;

/// Counters of the filter, for metrics.
#[derive(Debug, Default)]
pub struct FilterCounters {
    pub allowed_out: AtomicU64,
    pub denied_out: AtomicU64,
    pub allowed_in: AtomicU64,
    pub denied_in: AtomicU64,
}

/// The live filter: swapped atomically when the configuration changes.
#[derive(Clone)]
pub struct SharedFilter {
    filter: Arc<ArcSwap<Filter>>,
    /// `false` skips filtering (benchmarks of the filter's cost only).
    enabled: bool,
    pub counters: Arc<FilterCounters>,
}

impl SharedFilter {
    pub fn new(enabled: bool) -> SharedFilter {
        SharedFilter {
            filter: Arc::new(ArcSwap::from_pointee(Filter::default())),
            enabled,
            counters: Arc::new(FilterCounters::default()),
        }
    }

    pub fn replace(&self, filter: Filter) {
        self.filter.store(Arc::new(filter));
    }
}

pub struct FilteredSend<T> {
    pub inner: T,
    pub filter: SharedFilter,
}

impl<T: IpSend> IpSend for FilteredSend<T> {
    async fn send(&mut self, packet: Packet<Ip>) -> io::Result<()> {
        if self.filter.enabled {
            let verdict = self.filter.filter.load().outbound(packet.as_bytes());
            if verdict != Verdict::Allow {
                self.filter
                    .counters
                    .denied_out
                    .fetch_add(1, Ordering::Relaxed);
                tracing::trace!(?verdict, "dropped a packet from a device");
                return Ok(());
            }
            self.filter
                .counters
                .allowed_out
                .fetch_add(1, Ordering::Relaxed);
        }
        self.inner.send(packet).await
    }
}

pub struct FilteredRecv<T> {
    pub inner: T,
    pub filter: SharedFilter,
}

impl<T: IpRecv> IpRecv for FilteredRecv<T> {
    async fn recv<'a>(
        &'a mut self,
        pool: &mut PacketBufPool,
    ) -> io::Result<impl Iterator<Item = Packet<Ip>> + Send + 'a> {
        let filter = self.filter.clone();
        let packets = self.inner.recv(pool).await?;
        let current = filter.filter.load_full();
        Ok(packets.filter(move |packet| {
            if !filter.enabled {
                return true;
            }
            let verdict = current.inbound(packet.as_bytes());
            if verdict == Verdict::Allow {
                filter.counters.allowed_in.fetch_add(1, Ordering::Relaxed);
                true
            } else {
                filter.counters.denied_in.fetch_add(1, Ordering::Relaxed);
                tracing::trace!(?verdict, "dropped a packet for a device");
                false
            }
        }))
    }

    fn mtu(&self) -> MtuWatcher {
        self.inner.mtu()
    }
}
