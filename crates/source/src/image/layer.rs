//! Reading one layer as a tar stream: detecting its compression, bounding
//! what it may decompress to, and verifying both of its digests (the blob's
//! and the uncompressed `diff_id`) in the same single pass.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use crate::digest::{Algorithm, Digest, HashHandle, HashingReader};
use crate::error::{Result, SourceError};
use crate::limits::Limits;

/// How a layer blob is compressed, detected from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    fn detect(head: &[u8]) -> std::result::Result<Compression, &'static str> {
        match head {
            [0x1f, 0x8b, ..] => Ok(Compression::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Ok(Compression::Zstd),
            [b'B', b'Z', b'h', ..] => Err("bzip2"),
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Err("xz"),
            _ => Ok(Compression::None),
        }
    }
}

/// A limit that tripped while decompressing, remembered so the error the tar
/// reader surfaces can be replaced by a precise one.
#[derive(Debug, Clone, Copy)]
enum Tripped {
    Size(u64),
    Ratio(u64),
}

#[derive(Debug, Clone, Default)]
struct TripFlag(Arc<Mutex<Option<Tripped>>>);

impl TripFlag {
    fn set(&self, t: Tripped) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(t);
    }
    fn get(&self) -> Option<Tripped> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts decompressed bytes and stops a decompression bomb: an absolute
/// size limit, and a ratio limit against the compressed bytes read so far.
struct Bounded<R> {
    inner: R,
    read: u64,
    compressed: HashHandle,
    limits: Limits,
    flag: TripFlag,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limits.max_layer_bytes {
            self.flag.set(Tripped::Size(self.limits.max_layer_bytes));
            return Err(io::Error::other("layer size limit exceeded"));
        }
        if self.read > self.limits.ratio_check_after {
            let compressed = self.compressed.bytes().max(1);
            if self.read / compressed > self.limits.max_compression_ratio {
                self.flag
                    .set(Tripped::Ratio(self.limits.max_compression_ratio));
                return Err(io::Error::other("compression ratio limit exceeded"));
            }
        }
        Ok(n)
    }
}

enum Decoder<R: BufRead> {
    Plain(R),
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    Zstd(Box<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>),
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
            Decoder::Zstd(r) => r.read(buf),
        }
    }
}

/// A layer blob as stored, hashed as it is read.
type RawBlob = HashingReader<Box<dyn Read + Send>>;

/// The uncompressed tar stream of a layer, with the state needed to verify
/// it once it has been read to the end.
pub(crate) struct LayerStream {
    reader: HashingReader<Bounded<Decoder<BufReader<RawBlob>>>>,
    compressed: HashHandle,
    uncompressed: HashHandle,
    flag: TripFlag,
    pub compression: Compression,
    what: String,
}

impl std::fmt::Debug for LayerStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerStream")
            .field("what", &self.what)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

/// What the pass over a layer measured.
#[derive(Debug, Clone, Serialize)]
pub struct LayerStats {
    pub compression: Compression,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    pub blob_digest: Digest,
    pub diff_id: Digest,
}

impl LayerStream {
    /// Starts reading `blob` (the raw, possibly compressed, layer).
    pub(crate) fn open(
        blob: Box<dyn Read + Send>,
        blob_alg: Algorithm,
        diff_alg: Algorithm,
        what: String,
        limits: &Limits,
    ) -> Result<Self> {
        let (hashed, compressed) = HashingReader::new(blob, blob_alg);
        let mut buffered = BufReader::with_capacity(256 << 10, hashed);
        let head = buffered
            .fill_buf()
            .map_err(|e| SourceError::read(format!("reading {what}"), e))?;
        let compression = Compression::detect(head).map_err(|c| SourceError::Unsupported {
            what: what.clone(),
            detail: format!(
                "{c}-compressed layers are not supported (gzip, zstd or uncompressed tar)"
            ),
        })?;
        let decoder = match compression {
            Compression::None => Decoder::Plain(buffered),
            Compression::Gzip => {
                Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
            }
            Compression::Zstd => Decoder::Zstd(Box::new(
                ruzstd::decoding::StreamingDecoder::new(buffered)
                    .map_err(|e| SourceError::malformed(what.clone(), format!("zstd: {e}")))?,
            )),
        };
        let flag = TripFlag::default();
        let bounded = Bounded {
            inner: decoder,
            read: 0,
            compressed: compressed.clone(),
            limits: limits.clone(),
            flag: flag.clone(),
        };
        let (reader, uncompressed) = HashingReader::new(bounded, diff_alg);
        Ok(LayerStream {
            reader,
            compressed,
            uncompressed,
            flag,
            compression,
            what,
        })
    }

    /// Turns an I/O error met while reading the stream into the precise
    /// error: a tripped limit, or a read failure naming the layer.
    pub(crate) fn explain(&self, e: io::Error) -> SourceError {
        match self.flag.get() {
            Some(Tripped::Size(limit)) => SourceError::TooLarge {
                what: format!("{} (uncompressed)", self.what),
                limit,
                hint: " (raise limits.max_layer_bytes if this layer is genuine)",
            },
            Some(Tripped::Ratio(ratio)) => SourceError::CompressionRatio {
                what: self.what.clone(),
                ratio,
            },
            None => SourceError::read(format!("reading {} (corrupt or truncated?)", self.what), e),
        }
    }

    /// Reads whatever the tar reader left (padding, trailing blocks) and
    /// checks both digests.
    pub(crate) fn finish(
        mut self,
        expected_blob: Option<&Digest>,
        expected_diff: Option<&Digest>,
    ) -> Result<LayerStats> {
        if let Err(e) = io::copy(&mut self.reader, &mut io::sink()) {
            return Err(self.explain(e));
        }
        let blob_digest = self.compressed.digest();
        let diff_id = self.uncompressed.digest();
        if let Some(exp) = expected_blob {
            exp.check(&format!("{} (blob)", self.what), &blob_digest)?;
        }
        if let Some(exp) = expected_diff {
            exp.check(
                &format!("{} (uncompressed content vs config diff_id)", self.what),
                &diff_id,
            )?;
        }
        Ok(LayerStats {
            compression: self.compression,
            compressed_bytes: self.compressed.bytes(),
            uncompressed_bytes: self.uncompressed.bytes(),
            blob_digest,
            diff_id,
        })
    }
}

impl Read for LayerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}
