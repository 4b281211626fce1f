//! Raw disk images: an MBR with one FAT32 partition holding the stick's
//! bundle and read-me.
//!
//! All images of a batch are the same except the bundle's bytes. So the
//! file system is built once per batch with `fatfs` (a template), the bundle
//! file is written with a fixed size, and each image is the template's
//! non-zero sectors with the stick's bundle dropped in, written sparsely:
//! a 34 MiB image costs a few kilobytes of writes.

use std::io::{self, Cursor, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use sha2::{Digest, Sha256};

const SECTOR: usize = 512;
/// The partition starts at 1 MiB, as partitioning tools align it.
const PARTITION_START_SECTOR: u32 = 2048;
/// 33 MiB: just above the smallest FAT32 volume (65,525 clusters of 512
/// bytes), so images stay small and hash quickly.
const PARTITION_SECTORS: u32 = 67_584;
pub const IMAGE_BYTES: u64 = (PARTITION_START_SECTOR as u64 + PARTITION_SECTORS as u64) * 512;
/// The bundle file's fixed size on the stick: JSON padded with spaces.
pub const BUNDLE_BYTES: usize = 2048;
/// FAT type "FAT32 with LBA addressing".
const PARTITION_TYPE_FAT32_LBA: u8 = 0x0c;

/// A run of non-zero bytes of the image.
struct Extent {
    offset: u64,
    bytes: Vec<u8>,
}

/// The image of a batch, without a stick's bundle.
pub struct ImageTemplate {
    extents: Vec<Extent>,
    /// Where the bundle's bytes go: extent index and offset in it.
    bundle_at: (usize, usize),
}

/// The files on every stick of a batch besides the bundle.
pub struct StickFiles<'a> {
    pub readme_name: &'a str,
    pub readme: &'a str,
    pub volume_id: u32,
    /// The files' dates on the stick: when the batch was made (UTC).
    pub created_at: time::OffsetDateTime,
}

/// fatfs asks a `TimeProvider` for file dates; without one they are
/// 1980-00-00. This one answers the batch's time.
#[derive(Debug)]
struct BatchTime(fatfs::DateTime);

impl fatfs::TimeProvider for BatchTime {
    fn get_current_date(&self) -> fatfs::Date {
        self.0.date
    }

    fn get_current_date_time(&self) -> fatfs::DateTime {
        self.0
    }
}

fn dos_time(at: time::OffsetDateTime) -> fatfs::DateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    // FAT dates run from 1980 to 2107.
    let year = u16::try_from(at.year().clamp(1980, 2107)).unwrap_or(1980);
    fatfs::DateTime {
        date: fatfs::Date {
            year,
            month: u16::from(u8::from(at.month())),
            day: u16::from(at.day()),
        },
        time: fatfs::Time {
            hour: u16::from(at.hour()),
            min: u16::from(at.minute()),
            sec: u16::from(at.second()),
            millis: at.millisecond(),
        },
    }
}

fn other(message: impl Into<String>) -> io::Error {
    io::Error::other(message.into())
}

impl ImageTemplate {
    pub fn build(files: &StickFiles<'_>) -> io::Result<ImageTemplate> {
        let partition_bytes = PARTITION_SECTORS as usize * SECTOR;
        let mut partition = Cursor::new(vec![0u8; partition_bytes]);
        fatfs::format_volume(
            &mut partition,
            fatfs::FormatVolumeOptions::new()
                .fat_type(fatfs::FatType::Fat32)
                .bytes_per_cluster(SECTOR as u32)
                .volume_label(*b"HOMEGATE   ")
                .volume_id(files.volume_id),
        )?;
        partition.set_position(0);
        // A marker no real bundle contains, to find where the file's data landed.
        let marker: Vec<u8> = (0..BUNDLE_BYTES).map(|i| b"#HGBUNDLE"[i % 9]).collect();
        {
            // fatfs wants the provider for 'static: one small value per
            // batch (a template is built once per batch).
            let clock: &'static BatchTime =
                Box::leak(Box::new(BatchTime(dos_time(files.created_at))));
            let fs = fatfs::FileSystem::new(
                &mut partition,
                fatfs::FsOptions::new().time_provider(clock),
            )?;
            {
                let root = fs.root_dir();
                let mut bundle = root.create_file(api_types::sticks::Bundle::FILE_NAME)?;
                bundle.write_all(&marker)?;
                bundle.flush()?;
                let mut readme = root.create_file(files.readme_name)?;
                readme.write_all(files.readme.replace('\n', "\r\n").as_bytes())?;
                readme.flush()?;
            }
            fs.unmount()?;
        }
        let partition = partition.into_inner();

        let mut image = Cursor::new(vec![0u8; IMAGE_BYTES as usize]);
        let mut mbr = mbrman::MBR::new_from(&mut image, SECTOR as u32, *b"HGST")
            .map_err(|e| other(format!("cannot make the partition table: {e}")))?;
        mbr[1] = mbrman::MBRPartitionEntry {
            boot: mbrman::BOOT_INACTIVE,
            first_chs: mbrman::CHS::empty(),
            sys: PARTITION_TYPE_FAT32_LBA,
            last_chs: mbrman::CHS::empty(),
            starting_lba: PARTITION_START_SECTOR,
            sectors: PARTITION_SECTORS,
        };
        mbr.write_into(&mut image)
            .map_err(|e| other(format!("cannot write the partition table: {e}")))?;
        let mut image = image.into_inner();
        let start = PARTITION_START_SECTOR as usize * SECTOR;
        image[start..start + partition.len()].copy_from_slice(&partition);

        let bundle_offset = find(&image[start..], &marker)
            .map(|at| start + at)
            .ok_or_else(|| other("the bundle is not contiguous in the template"))?;
        let extents = non_zero_extents(&image);
        let bundle_at = extents
            .iter()
            .enumerate()
            .find_map(|(index, extent)| {
                let begin = extent.offset as usize;
                (begin <= bundle_offset
                    && bundle_offset + BUNDLE_BYTES <= begin + extent.bytes.len())
                .then_some((index, bundle_offset - begin))
            })
            .ok_or_else(|| other("the bundle spans extents"))?;
        Ok(ImageTemplate { extents, bundle_at })
    }

    /// Writes the image with `bundle` (at most [`BUNDLE_BYTES`]) to `path`
    /// and returns its SHA-256 (hex).
    pub fn write(&self, bundle: &[u8], path: &Path) -> io::Result<String> {
        if bundle.len() > BUNDLE_BYTES {
            return Err(other(format!(
                "the bundle is {} bytes, more than {BUNDLE_BYTES}",
                bundle.len()
            )));
        }
        let mut padded = [b' '; BUNDLE_BYTES];
        padded[..bundle.len()].copy_from_slice(bundle);
        let file = crate::create_private(path)?;
        let mut hasher = Sha256::new();
        let mut position = 0u64;
        for (index, extent) in self.extents.iter().enumerate() {
            hash_zeros(&mut hasher, extent.offset - position);
            if index == self.bundle_at.0 {
                let mut bytes = extent.bytes.clone();
                let at = self.bundle_at.1;
                bytes[at..at + BUNDLE_BYTES].copy_from_slice(&padded);
                file.write_all_at(&bytes, extent.offset)?;
                hasher.update(&bytes);
            } else {
                file.write_all_at(&extent.bytes, extent.offset)?;
                hasher.update(&extent.bytes);
            }
            position = extent.offset + extent.bytes.len() as u64;
        }
        hash_zeros(&mut hasher, IMAGE_BYTES - position);
        // The rest stays a hole: zeros that take no disk space.
        file.set_len(IMAGE_BYTES)?;
        Ok(hex::encode(hasher.finalize()))
    }
}

fn hash_zeros(hasher: &mut Sha256, mut count: u64) {
    static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
    while count > 0 {
        let now = count.min(ZEROS.len() as u64) as usize;
        hasher.update(&ZEROS[..now]);
        count -= now as u64;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Runs of sectors that hold anything but zeros.
fn non_zero_extents(image: &[u8]) -> Vec<Extent> {
    let mut extents: Vec<Extent> = Vec::new();
    for (index, sector) in image.chunks(SECTOR).enumerate() {
        if sector.iter().all(|&b| b == 0) {
            continue;
        }
        let offset = (index * SECTOR) as u64;
        match extents.last_mut() {
            Some(last) if last.offset + last.bytes.len() as u64 == offset => {
                last.bytes.extend_from_slice(sector);
            }
            _ => extents.push(Extent {
                offset,
                bytes: sector.to_vec(),
            }),
        }
    }
    extents
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn template() -> ImageTemplate {
        ImageTemplate::build(&StickFiles {
            readme_name: "READ-ME.TXT",
            readme: "hello\nstick\n",
            volume_id: 0x1234_5678,
            // 2025-11-24 16:00:00 UTC
            created_at: time::OffsetDateTime::from_unix_timestamp(1_764_000_000).unwrap(),
        })
        .unwrap()
    }

    #[test]
    fn images_are_sparse_fat32_with_the_bundle_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stick.img");
        let bundle = br#"{"stick_id":"ST-AAAA-BBBB"}"#;
        let checksum = template().write(bundle, &path).unwrap();

        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, IMAGE_BYTES);
        assert_eq!(hex::encode(Sha256::digest(&bytes)), checksum);
        assert_eq!(&bytes[510..512], &[0x55, 0xaa], "MBR signature");
        assert_eq!(bytes[446 + 4], PARTITION_TYPE_FAT32_LBA);

        // Read it back through a FAT implementation.
        let slice = Cursor::new(bytes[PARTITION_START_SECTOR as usize * 512..].to_vec());
        let fs = fatfs::FileSystem::new(slice, fatfs::FsOptions::new()).unwrap();
        assert_eq!(fs.fat_type(), fatfs::FatType::Fat32);
        let mut content = String::new();
        fs.root_dir()
            .open_file(api_types::sticks::Bundle::FILE_NAME)
            .unwrap()
            .read_to_string(&mut content)
            .unwrap();
        assert_eq!(content.trim_end(), std::str::from_utf8(bundle).unwrap());
        let mut readme = String::new();
        fs.root_dir()
            .open_file("READ-ME.TXT")
            .unwrap()
            .read_to_string(&mut readme)
            .unwrap();
        assert_eq!(readme, "hello\r\nstick\r\n");
        // Files are dated when the batch was made, not 1980-00-00.
        for entry in fs.root_dir().iter() {
            let entry = entry.unwrap();
            let expected = fatfs::Date {
                year: 2025,
                month: 11,
                day: 24,
            };
            assert_eq!(entry.modified().date, expected, "{}", entry.file_name());
            assert_eq!(entry.created().date, expected, "{}", entry.file_name());
            assert_eq!(entry.modified().time.hour, 16, "{}", entry.file_name());
        }

        let blocks = std::os::unix::fs::MetadataExt::blocks(&std::fs::metadata(&path).unwrap());
        assert!(
            blocks * 512 < 2 * 1024 * 1024,
            "image is sparse: {} bytes allocated",
            blocks * 512
        );
    }

    #[test]
    fn oversized_bundles_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let error = template().write(&[b'x'; BUNDLE_BYTES + 1], &dir.path().join("x.img"));
        assert!(error.is_err());
    }
}
