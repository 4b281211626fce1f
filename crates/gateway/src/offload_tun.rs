//! The TUN device with the kernel's segmentation offload (`IFF_VNET_HDR`,
//! TSO/USO): the kernel hands over TCP and UDP data for devices in
//! super-packets of up to 64 KiB instead of one packet per read, and tun-rs
//! splits them into MTU-sized packets in user space. One read then brings up
//! to ~45 packets instead of one; measured, this saves ~3 % CPU per GB, as
//! most of the time goes to hand-offs between gotatun's tasks and the kernel
//! (BENCHMARKS.md, "Where the time goes").
//!
//! Writes towards the network stay one packet per write (gotatun hands over
//! one packet at a time), each with an empty virtio header.

use std::io::{self, IoSlice};
use std::sync::Arc;

use anyhow::Context;
use gotatun::packet::{Ip, Packet, PacketBufPool};
use gotatun::tun::{IpRecv, IpSend, MtuWatcher};
use tokio::sync::watch;
use tun_rs::{AsyncDevice, DeviceBuilder, IDEAL_BATCH_SIZE, VIRTIO_NET_HDR_LEN};
use zerocopy::IntoBytes;

/// "No offload for this packet": the virtio header of every packet we write.
const PLAIN: [u8; VIRTIO_NET_HDR_LEN] = [0; VIRTIO_NET_HDR_LEN];
/// The largest super-packet the kernel hands over, with its header.
const SUPER_PACKET: usize = VIRTIO_NET_HDR_LEN + 65_535;

/// Creates (or takes over) the TUN interface with offload if the kernel
/// allows it (else without), and brings it up.
pub fn create(name: &str, mtu: u16) -> anyhow::Result<(OffloadSend, OffloadRecv)> {
    let build = |offload| {
        DeviceBuilder::new()
            .name(name)
            .mtu(mtu)
            .offload(offload)
            .enable(true)
            .build_async()
    };
    let device = match build(true) {
        Ok(device) => device,
        Err(error) => {
            tracing::warn!(%error, "the kernel refuses TUN offload; reading one packet at a time");
            build(false).with_context(|| {
                format!("cannot create TUN interface {name} (needs CAP_NET_ADMIN and /dev/net/tun)")
            })?
        }
    };
    let offload = device.tcp_gso();
    tracing::debug!(interface = name, offload, "TUN interface ready");
    let device = Arc::new(device);
    let (mtu_tx, mtu_rx) = watch::channel(mtu);
    let segment = usize::from(mtu).max(1500);
    Ok((
        OffloadSend {
            device: Arc::clone(&device),
            offload,
        },
        OffloadRecv {
            device,
            original: vec![0; SUPER_PACKET],
            segments: vec![vec![0; segment]; IDEAL_BATCH_SIZE],
            sizes: vec![0; IDEAL_BATCH_SIZE],
            ready: Vec::with_capacity(IDEAL_BATCH_SIZE),
            mtu: mtu_rx.into(),
            _mtu_source: Arc::new(mtu_tx),
        },
    ))
}

/// Writes decrypted packets from devices into the host's network stack.
pub struct OffloadSend {
    device: Arc<AsyncDevice>,
    offload: bool,
}

impl IpSend for OffloadSend {
    async fn send(&mut self, packet: Packet<Ip>) -> io::Result<()> {
        let bytes = packet.as_bytes();
        if self.offload {
            self.device
                .send_vectored(&[IoSlice::new(&PLAIN), IoSlice::new(bytes)])
                .await?;
        } else {
            self.device.send(bytes).await?;
        }
        Ok(())
    }
}

/// Reads packets for devices, split from the kernel's super-packets.
pub struct OffloadRecv {
    device: Arc<AsyncDevice>,
    original: Vec<u8>,
    segments: Vec<Vec<u8>>,
    sizes: Vec<usize>,
    ready: Vec<Packet<Ip>>,
    mtu: MtuWatcher,
    /// Keeps the MTU channel open (the MTU is set once, at creation).
    _mtu_source: Arc<watch::Sender<u16>>,
}

impl IpRecv for OffloadRecv {
    async fn recv<'a>(
        &'a mut self,
        pool: &mut PacketBufPool,
    ) -> io::Result<impl Iterator<Item = Packet<Ip>> + Send + 'a> {
        let count = self
            .device
            .recv_multiple(&mut self.original, &mut self.segments, &mut self.sizes, 0)
            .await?;
        self.ready.clear();
        for (segment, &size) in self.segments.iter().zip(&self.sizes).take(count) {
            let mut packet = pool.get();
            let Some(target) = packet.get_mut(..size) else {
                tracing::trace!(size, "dropped a packet larger than a buffer");
                continue;
            };
            target.copy_from_slice(&segment[..size]);
            packet.truncate(size);
            match packet.try_into_ip() {
                Ok(packet) => self.ready.push(packet),
                Err(error) => tracing::trace!(%error, "dropped a malformed packet from the host"),
            }
        }
        Ok(self.ready.drain(..))
    }

    fn mtu(&self) -> MtuWatcher {
        self.mtu.clone()
    }
}
