//! The index manifest: what was indexed, from which file version.
//!
//! The manifest records, per document, the file's size, modification time and
//! content hash (so an unchanged file is never re-read), its attributes (so
//! queries and tables need not reopen files), and counts for the corpus
//! table. It is a cache like the index beside it, written atomically after
//! each commit.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::corpus::Format;

/// One indexed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocEntry {
    /// Content hash (blake3) of the file's bytes.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: u64,
    /// Format.
    pub format: Format,
    /// Attributes from the file itself.
    pub front_matter: BTreeMap<String, String>,
    /// Resolved attributes (including `case`).
    pub attributes: BTreeMap<String, String>,
    /// Fingerprint of the sheet rows that applied.
    pub sheet_fp: String,
    /// Words in all turns.
    pub words: usize,
    /// Labelled turns.
    pub turns: usize,
    /// Words in respondents' turns.
    #[serde(default)]
    pub respondent_words: usize,
    /// Characters in the plain text.
    pub chars: usize,
    /// Fingerprint of the codebook and this document's manual codings.
    #[serde(default)]
    pub coding_fp: String,
}

impl DocEntry {
    /// The document's case.
    pub fn case(&self) -> &str {
        self.attributes.get("case").map_or("", String::as_str)
    }
}

/// The whole manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Schema version the index was built with.
    pub schema_version: u32,
    /// Fingerprint of the settings that shape the index.
    pub settings: String,
    /// Documents by path.
    pub documents: BTreeMap<String, DocEntry>,
    /// Hash of the codebook the codes were computed with.
    #[serde(default)]
    pub codebook: String,
}

impl Manifest {
    /// Reads a manifest; `None` if missing or unreadable (then we rebuild).
    pub fn read(path: &Path) -> Option<Manifest> {
        let bytes = crate::fsutil::read_cache(path)?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Writes atomically.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::fsutil::write_atomic(path, &json)
    }

    /// Every attribute name in use, sorted.
    pub fn attribute_names(&self) -> BTreeSet<String> {
        self.documents
            .values()
            .flat_map(|d| d.attributes.keys().cloned())
            .collect()
    }

    /// Every value of an attribute, sorted.
    pub fn attribute_values(&self, name: &str) -> BTreeSet<String> {
        self.documents
            .values()
            .filter_map(|d| d.attributes.get(name).cloned())
            .collect()
    }
}
