use serde::{Deserialize, Serialize};

/// Bounds that keep hostile input from exhausting memory, disk or time.
///
/// Every limit has a default suited to real images and trees; each can be
/// raised in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest JSON document read (manifest, index, config, manifest.json).
    pub max_metadata_bytes: u64,
    /// Largest blob (compressed layer) downloaded or read.
    pub max_blob_bytes: u64,
    /// Largest uncompressed size of one layer.
    pub max_layer_bytes: u64,
    /// Past `ratio_check_after` uncompressed bytes, a layer whose uncompressed
    /// size exceeds this many times its compressed size is refused.
    pub max_compression_ratio: u64,
    /// Uncompressed bytes read before the ratio check starts.
    pub ratio_check_after: u64,
    /// Most tar entries in one layer.
    pub max_entries_per_layer: u64,
    /// Longest path (bytes) kept; longer entries are skipped.
    pub max_path_bytes: usize,
    /// Deepest directory nesting kept; deeper entries are skipped.
    pub max_depth: usize,
    /// Most layers in one image.
    pub max_layers: usize,
    /// Most nested image indexes followed.
    pub max_index_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        const GIB: u64 = 1 << 30;
        Limits {
            max_metadata_bytes: 16 << 20,
            max_blob_bytes: 32 * GIB,
            max_layer_bytes: 64 * GIB,
            max_compression_ratio: 200,
            ratio_check_after: 512 << 20,
            max_entries_per_layer: 5_000_000,
            max_path_bytes: 4096,
            max_depth: 256,
            max_layers: 512,
            max_index_depth: 4,
        }
    }
}
