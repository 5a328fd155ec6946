//! The stamp: a small summary of what an index was built from, read before
//! anything else. When the settings, the inputs (codebooks, manual codings,
//! attribute sheets) and every transcript's size and modification time are
//! as recorded, the index is up to date and nothing else is loaded. Written
//! after the manifest; removed before a commit, so a crash leaves none.
//!
//! The stamp also records every corpus folder's modification time. A
//! folder's time changes whenever an entry is added to it, removed from it
//! or renamed in it, so a folder whose time is unchanged holds the same
//! entries: the commands that refresh the index before answering then `stat`
//! the recorded transcripts in place instead of listing every folder again.
//! A folder changed within [`RACY_NS`] of the listing (a change in the same
//! clock tick would leave its time as recorded) is listed again each time.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::codebook::Codebook;
use crate::corpus::{self, Discovery, Folder, FoundFile};

use super::Manifest;

/// How close to the listing a folder's time must be for the folder to be
/// listed again rather than trusted: more than the coarsest common file
/// system clock (two seconds on FAT).
pub(crate) const RACY_NS: u128 = 3_000_000_000;

/// What an index was built from (see the module documentation).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) settings: String,
    pub(crate) inputs: String,
    pub(crate) attributes: Vec<String>,
    /// The codebook's families and code paths.
    pub(crate) families: Vec<String>,
    pub(crate) codes: Vec<String>,
    /// When the listing the folder times come from started (nanoseconds
    /// since the epoch); 0 when the stamp has no folder times.
    pub(crate) listed_ns: u128,
    /// Every corpus folder, in path order (the corpus folder first, as `""`).
    pub(crate) folders: Vec<Folder>,
    /// (path, size, mtime in ns), sorted by path.
    pub(crate) files: Vec<(String, u64, u64)>,
}

impl Stamp {
    const HEADER: &'static str = "qualdex-stamp\t3";

    /// The stamp of an index whose documents are `manifest`'s, with the
    /// folder times of `listing` when it found exactly those documents.
    pub(crate) fn of(
        settings: &str,
        inputs: &str,
        manifest: &Manifest,
        cb: &Codebook,
        listing: &Discovery,
    ) -> Stamp {
        let mut stamp = Stamp {
            settings: settings.to_string(),
            inputs: inputs.to_string(),
            attributes: manifest.attribute_names().into_iter().collect(),
            families: cb.families.iter().map(|f| f.id.clone()).collect(),
            codes: cb.codes.iter().map(|c| c.path.clone()).collect(),
            files: manifest
                .documents
                .iter()
                .map(|(p, e)| (p.clone(), e.size, e.mtime_ns))
                .collect(),
            ..Default::default()
        };
        stamp.set_folders(listing);
        stamp
    }

    /// Takes the folder times of `listing`, or drops them when the listing
    /// did not find exactly the recorded files or its names cannot be
    /// written plainly. True when the folder records changed.
    pub(crate) fn set_folders(&mut self, listing: &Discovery) -> bool {
        let plain = |s: &str| !s.contains(['\t', '\n', '\r', ',', '=']);
        let usable = listing.files.len() == self.files.len()
            && listing
                .files
                .iter()
                .zip(&self.files)
                .all(|(f, (p, _, _))| f.rel == *p)
            && listing.folders.first().is_some_and(|f| f.rel.is_empty())
            && listing
                .folders
                .iter()
                .all(|f| plain(&f.rel) && f.skipped.keys().all(|e| plain(e)));
        let (listed_ns, folders) = if usable {
            (listing.started_ns, listing.folders.clone())
        } else {
            (0, Vec::new())
        };
        // A folder recorded too close to its listing is listed again on
        // every check until a later listing records it.
        let racy = self
            .folders
            .iter()
            .any(|f| f.mtime_ns + RACY_NS >= self.listed_ns);
        let changed = folders != self.folders || (racy && listed_ns != self.listed_ns);
        self.listed_ns = listed_ns;
        self.folders = folders;
        changed
    }

    pub(crate) fn write(&self, path: &Path) -> std::io::Result<()> {
        use std::fmt::Write;
        let mut out = String::with_capacity(64 * (self.files.len() + self.folders.len() + 6));
        let _ = writeln!(out, "{}", Self::HEADER);
        let _ = writeln!(out, "settings\t{}", self.settings);
        let _ = writeln!(out, "inputs\t{}", self.inputs);
        let _ = writeln!(out, "attributes\t{}", self.attributes.join("\t"));
        let _ = writeln!(out, "families\t{}", self.families.join("\t"));
        let _ = writeln!(out, "codes\t{}", self.codes.join("\t"));
        let _ = writeln!(out, "listed\t{}", self.listed_ns);
        for f in &self.folders {
            let skipped: Vec<String> = f.skipped.iter().map(|(e, n)| format!("{e}={n}")).collect();
            let skipped = if skipped.is_empty() {
                "-".to_string()
            } else {
                skipped.join(",")
            };
            let _ = writeln!(out, "folder\t{}\t{skipped}\t{}", f.mtime_ns, f.rel);
        }
        for (p, size, mtime) in &self.files {
            let _ = writeln!(out, "{size}\t{mtime}\t{p}");
        }
        crate::fsutil::write_atomic(path, out.as_bytes())
    }

    /// Reads a stamp (its folders and files only when `with_files`); `None`
    /// if missing or not understood.
    pub(crate) fn read(path: &Path, with_files: bool) -> Option<Stamp> {
        let text = crate::fsutil::read_cache_text(path)?;
        Self::parse(&text, with_files)
    }

    fn parse(text: &str, with_files: bool) -> Option<Stamp> {
        let mut lines = text.lines();
        if lines.next()? != Self::HEADER {
            return None;
        }
        let mut field = |name: &str| -> Option<&str> {
            let line = lines.next()?;
            line.strip_prefix(name)?.strip_prefix('\t')
        };
        let settings = field("settings")?.to_string();
        let inputs = field("inputs")?.to_string();
        let list = |line: &str| -> Vec<String> {
            line.split('\t')
                .filter(|a| !a.is_empty())
                .map(String::from)
                .collect()
        };
        let attributes = list(field("attributes")?);
        let families = list(field("families")?);
        let codes = list(field("codes")?);
        let mut stamp = Stamp {
            settings,
            inputs,
            attributes,
            families,
            codes,
            ..Default::default()
        };
        if !with_files {
            return Some(stamp);
        }
        stamp.listed_ns = field("listed")?.parse().ok()?;
        stamp.files.reserve(text.len() / 48);
        for line in lines {
            if let Some(rest) = line.strip_prefix("folder\t") {
                let mut parts = rest.splitn(3, '\t');
                let mtime_ns = parts.next()?.parse().ok()?;
                let skipped = parts.next()?;
                let skipped = if skipped == "-" {
                    BTreeMap::new()
                } else {
                    skipped
                        .split(',')
                        .map(|s| {
                            let (e, n) = s.rsplit_once('=')?;
                            Some((e.to_string(), n.parse().ok()?))
                        })
                        .collect::<Option<_>>()?
                };
                stamp.folders.push(Folder {
                    rel: parts.next()?.to_string(),
                    mtime_ns,
                    skipped,
                });
                continue;
            }
            let mut parts = line.splitn(3, '\t');
            let size = parts.next()?.parse().ok()?;
            let mtime = parts.next()?.parse().ok()?;
            stamp.files.push((parts.next()?.to_string(), size, mtime));
        }
        Some(stamp)
    }

    /// True when the discovered files are exactly the recorded ones.
    pub(crate) fn same_files(&self, found: &[FoundFile]) -> bool {
        self.files.len() == found.len()
            && self.files.iter().zip(found).all(|((p, size, mtime), f)| {
                *p == f.rel && *size == f.size && u128::from(*mtime) == f.mtime_ns
            })
    }

    /// Checks the corpus under `root` against the stamp without listing the
    /// folders whose times are as recorded: returns the files skipped for
    /// their extension, as a full listing would count them, when every
    /// folder holds the recorded entries and every transcript has its
    /// recorded size and time; `None` when anything differs or cannot be
    /// told (the caller then lists the corpus).
    pub(crate) fn still_current(&self, root: &Path) -> Option<BTreeMap<String, usize>> {
        if self.listed_ns == 0 || self.folders.first().is_none_or(|f| !f.rel.is_empty()) {
            return None;
        }
        let mut by_folder: HashMap<&str, Vec<(&str, u64, u64)>> =
            HashMap::with_capacity(self.folders.len());
        for (p, size, mtime) in &self.files {
            let (dir, name) = p.rsplit_once('/').unwrap_or(("", p.as_str()));
            by_folder
                .entry(dir)
                .or_default()
                .push((name, *size, *mtime));
        }
        let mut skipped = BTreeMap::new();
        for folder in &self.folders {
            let files = by_folder.remove(folder.rel.as_str()).unwrap_or_default();
            let dir = if folder.rel.is_empty() {
                root.to_path_buf()
            } else {
                root.join(&folder.rel)
            };
            let same = if folder.mtime_ns + RACY_NS >= self.listed_ns {
                self.relisted_same(&dir, folder, &files)
            } else {
                same_entries(&dir, folder.mtime_ns, &files)
            };
            if !same {
                return None;
            }
            for (ext, n) in &folder.skipped {
                *skipped.entry(ext.clone()).or_default() += n;
            }
        }
        // A recorded file outside every recorded folder: not a stamp this
        // module wrote.
        by_folder.is_empty().then_some(skipped)
    }

    /// Lists a folder too recently changed to trust its time and compares
    /// its transcripts, skipped files and subfolders with the record.
    fn relisted_same(&self, dir: &Path, folder: &Folder, files: &[(&str, u64, u64)]) -> bool {
        let mut listed = corpus::read_folder(dir, folder.rel.clone());
        if !listed.problems.is_empty()
            || listed.folder.mtime_ns != folder.mtime_ns
            || listed.folder.skipped != folder.skipped
            || listed.files.len() != files.len()
        {
            return false;
        }
        listed.files.sort_by(|a, b| a.rel.cmp(&b.rel));
        let same_files = listed
            .files
            .iter()
            .zip(files)
            .all(|(f, (name, size, mtime))| {
                f.rel.rsplit_once('/').map_or(f.rel.as_str(), |(_, n)| n) == *name
                    && f.size == *size
                    && f.mtime_ns == u128::from(*mtime)
            });
        let mut subfolders: Vec<&str> = listed.subfolders.iter().map(|(_, r)| r.as_str()).collect();
        subfolders.sort_unstable();
        let recorded: Vec<&str> = self
            .folders
            .iter()
            .filter(|f| parent(&f.rel) == Some(folder.rel.as_str()))
            .map(|f| f.rel.as_str())
            .collect();
        same_files && subfolders == recorded
    }
}

/// The folder holding a corpus path (`None` for the corpus folder itself).
fn parent(rel: &str) -> Option<&str> {
    if rel.is_empty() {
        None
    } else {
        Some(rel.rsplit_once('/').map_or("", |(p, _)| p))
    }
}

/// True when the folder's time is `mtime_ns` and each file in it is a
/// regular file with the given size and time. The files are examined
/// relative to the open folder, one `stat` each.
#[cfg(unix)]
fn same_entries(dir: &Path, mtime_ns: u128, files: &[(&str, u64, u64)]) -> bool {
    use rustix::fs::{AtFlags, FileType, Mode, OFlags};
    let ns = |st: &rustix::fs::Stat| {
        let ns = i128::from(st.st_mtime) * 1_000_000_000 + i128::from(st.st_mtime_nsec);
        u128::try_from(ns).unwrap_or(0)
    };
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let Ok(fd) = rustix::fs::open(dir, flags, Mode::empty()) else {
        return false;
    };
    rustix::fs::fstat(&fd).is_ok_and(|st| ns(&st) == mtime_ns)
        && files.iter().all(|(name, size, mtime)| {
            rustix::fs::statat(&fd, *name, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|st| {
                FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
                    && u64::try_from(st.st_size).ok() == Some(*size)
                    && ns(&st) == u128::from(*mtime)
            })
        })
}

/// True when the folder's time is `mtime_ns` and each file in it is a
/// regular file with the given size and time.
#[cfg(not(unix))]
fn same_entries(dir: &Path, mtime_ns: u128, files: &[(&str, u64, u64)]) -> bool {
    corpus::time_ns(std::fs::metadata(dir).and_then(|m| m.modified())) == mtime_ns
        && files.iter().all(|(name, size, mtime)| {
            std::fs::symlink_metadata(dir.join(name)).is_ok_and(|m| {
                m.is_file()
                    && m.len() == *size
                    && corpus::time_ns(m.modified()) == u128::from(*mtime)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn set_time(path: &Path, t: SystemTime) {
        std::fs::File::open(path).unwrap().set_modified(t).unwrap();
    }

    fn mtime(path: &Path) -> SystemTime {
        std::fs::metadata(path).unwrap().modified().unwrap()
    }

    /// A corpus of transcripts in the root, a folder and a nested folder,
    /// with a file of an unknown kind and a hidden one; every folder's time
    /// is set an hour back, as for a corpus left alone since.
    fn corpus() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("top.md"), "Interviewer: hello\n").unwrap();
        std::fs::write(root.join("a/one.md"), "Ana: one\n").unwrap();
        std::fs::write(root.join("a/two.txt"), "Ana: two\n").unwrap();
        std::fs::write(root.join("a/notes.pdf"), "pdf").unwrap();
        std::fs::write(root.join("a/b/three.md"), "Ben: three\n").unwrap();
        std::fs::write(root.join("a/.one.md.swp"), "swap").unwrap();
        age(root);
        dir
    }

    fn age(root: &Path) {
        let old = SystemTime::now() - Duration::from_secs(3600);
        for d in ["", "a", "a/b"] {
            set_time(&root.join(d), old);
        }
    }

    /// The stamp a full listing of `root` would record.
    fn stamp_of(root: &Path) -> (Stamp, Discovery) {
        let listing = corpus::discover(root).unwrap();
        let mut stamp = Stamp {
            settings: "s".into(),
            inputs: "i".into(),
            files: listing
                .files
                .iter()
                .map(|f| (f.rel.clone(), f.size, u64::try_from(f.mtime_ns).unwrap()))
                .collect(),
            ..Default::default()
        };
        assert!(stamp.set_folders(&listing));
        (stamp, listing)
    }

    #[test]
    fn writes_and_reads_back_folders_and_files() {
        let dir = corpus();
        let (mut stamp, _) = stamp_of(dir.path());
        stamp.attributes = vec!["case".into(), "role".into()];
        stamp.codes = vec!["risk/legal".into()];
        assert_eq!(
            stamp
                .folders
                .iter()
                .map(|f| f.rel.as_str())
                .collect::<Vec<_>>(),
            ["", "a", "a/b"]
        );
        assert_eq!(stamp.folders[1].skipped.get(".pdf"), Some(&1));
        let path = dir.path().join("stamp.tsv");
        stamp.write(&path).unwrap();
        assert_eq!(Stamp::read(&path, true).unwrap(), stamp);
        let head = Stamp::read(&path, false).unwrap();
        assert!(head.files.is_empty() && head.folders.is_empty() && head.listed_ns == 0);
        assert_eq!(head.codes, stamp.codes);
        // A damaged folder line is not understood, so the corpus is listed.
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[6].starts_with("listed\t") && lines[7].starts_with("folder\t"));
        let with = |extra: &str| [&lines[..7], &[extra], &lines[7..]].concat().join("\n");
        assert_eq!(
            Stamp::parse(&with("folder\t1\t-\tz"), true)
                .unwrap()
                .folders
                .len(),
            4
        );
        for bad in [
            "folder\tsoon\t-\tz",
            "folder\t1\t.pdf=x\tz",
            "folder\t1\t.pdf\tz",
        ] {
            assert_eq!(Stamp::parse(&with(bad), true), None, "{bad}");
        }
    }

    #[test]
    fn an_untouched_corpus_is_current_with_the_listing_s_skipped_files() {
        let dir = corpus();
        let (stamp, listing) = stamp_of(dir.path());
        assert_eq!(stamp.still_current(dir.path()), Some(listing.skipped));
    }

    #[test]
    fn every_change_to_a_transcript_or_a_folder_is_seen() {
        type Change = fn(&Path);
        let changes: [(&str, Change); 7] = [
            ("appended, time kept", |r| {
                let t = mtime(&r.join("a/one.md"));
                std::fs::write(r.join("a/one.md"), "Ana: one more\n").unwrap();
                set_time(&r.join("a/one.md"), t);
            }),
            ("rewritten, same size", |r| {
                std::thread::sleep(Duration::from_millis(20));
                std::fs::write(r.join("a/b/three.md"), "Ben: THREE\n").unwrap();
            }),
            ("added", |r| {
                std::fs::write(r.join("a/b/four.md"), "x").unwrap()
            }),
            ("removed", |r| {
                std::fs::remove_file(r.join("top.md")).unwrap()
            }),
            ("folder added", |r| {
                std::fs::create_dir(r.join("a/c")).unwrap()
            }),
            ("folder removed", |r| {
                std::fs::remove_dir_all(r.join("a/b")).unwrap();
            }),
            ("replaced by a folder", |r| {
                std::fs::remove_file(r.join("a/two.txt")).unwrap();
                std::fs::create_dir(r.join("a/two.txt")).unwrap();
                set_time(&r.join("a"), mtime(&r.join("a/b")));
            }),
        ];
        for (what, change) in changes {
            let dir = corpus();
            let (stamp, _) = stamp_of(dir.path());
            change(dir.path());
            assert_eq!(stamp.still_current(dir.path()), None, "{what}");
        }
    }

    #[test]
    fn a_recently_changed_folder_is_listed_again() {
        let dir = corpus();
        let root = dir.path();
        let (mut stamp, _) = stamp_of(root);
        // A file added in the clock tick the folder was recorded in leaves
        // the folder's time as recorded.
        let a = mtime(&root.join("a"));
        std::fs::write(root.join("a/five.md"), "x").unwrap();
        set_time(&root.join("a"), a);
        // An old time is trusted: the folder is not listed.
        assert!(stamp.still_current(root).is_some());
        // The same time recorded just before the listing is not.
        stamp.listed_ns = stamp.folders[1].mtime_ns + RACY_NS / 2;
        assert_eq!(stamp.still_current(root), None);
        // Listed again, an unchanged recent folder is still current.
        std::fs::remove_file(root.join("a/five.md")).unwrap();
        set_time(&root.join("a"), a);
        assert!(stamp.still_current(root).is_some());
        // A new subfolder or skipped file there is seen too.
        std::fs::create_dir(root.join("a/c")).unwrap();
        set_time(&root.join("a"), a);
        assert_eq!(stamp.still_current(root), None);
        std::fs::remove_dir(root.join("a/c")).unwrap();
        std::fs::write(root.join("a/more.pdf"), "x").unwrap();
        set_time(&root.join("a"), a);
        assert_eq!(stamp.still_current(root), None);
    }

    #[test]
    fn folder_times_are_dropped_when_the_listing_is_not_the_index() {
        let dir = corpus();
        let (mut stamp, listing) = stamp_of(dir.path());
        stamp.files.pop();
        assert!(stamp.set_folders(&listing));
        assert!(stamp.folders.is_empty() && stamp.listed_ns == 0);
        assert_eq!(stamp.still_current(dir.path()), None);
        // Unchanged, the records are kept and nothing needs writing.
        let (mut stamp, listing) = stamp_of(dir.path());
        assert!(!stamp.set_folders(&listing));
    }
}
