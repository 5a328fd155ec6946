//! Test harness: a temporary study folder, the real `qualdex` binary run in
//! it, and helpers to read its JSON output. Fixtures are written by the
//! tests themselves.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A study in a temporary folder.
pub struct TestStudy {
    dir: tempfile::TempDir,
}

/// The result of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TestStudy {
    /// `qualdex init` in a fresh folder.
    pub fn new() -> TestStudy {
        let dir = tempfile::tempdir().expect("temp dir");
        let s = TestStudy { dir };
        s.ok(&["init", "."]);
        s
    }

    /// The study folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a codebook at `rel` and lists it as the study's only codebook.
    pub fn use_codebook(&self, rel: &str, yaml: impl AsRef<[u8]>) {
        let config = String::from_utf8(self.read("qualdex.yaml")).expect("UTF-8 config");
        self.write(
            "qualdex.yaml",
            config.replace("codebooks: []", &format!("codebooks: [{rel}]")),
        );
        self.write(rel, yaml);
    }

    /// Writes a file (parents created) relative to the study folder.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// Appends to a file.
    pub fn append(&self, rel: &str, contents: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join(rel))
            .unwrap();
        f.write_all(contents.as_bytes()).unwrap();
    }

    /// Reads a file.
    pub fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(rel)).unwrap()
    }

    /// Runs qualdex in the study folder.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(self.dir.path(), args)
    }

    /// Runs qualdex in a given folder.
    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let out: Output = Command::new(env!("CARGO_BIN_EXE_qualdex"))
            .args(args)
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .output()
            .expect("run qualdex");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "qualdex {args:?} failed\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    /// Runs and asserts exit code 2 (error); returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, 2,
            "qualdex {args:?} should fail\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        );
        assert!(
            r.stdout.is_empty(),
            "an error must print no data: {}",
            r.stdout
        );
        r.stderr
    }

    /// JSON lines of a search.
    pub fn hits(&self, query: &str, extra: &[&str]) -> Vec<Value> {
        let mut args = vec!["search", query, "--format", "json", "--limit", "0"];
        args.extend_from_slice(extra);
        let r = self.run(&args);
        assert!(r.code == 0 || r.code == 1, "search failed: {}", r.stderr);
        r.stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect()
    }
}

impl TestStudy {
    /// One string field of every hit of a search in `unit`, sorted.
    pub fn sorted_field(&self, query: &str, unit: &str, field: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .hits(query, &["--unit", unit])
            .iter()
            .map(|h| h[field].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    }
}

/// A minimal .docx with one paragraph per entry (text XML-escaped).
pub fn docx(paragraphs: &[&str]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let o = SimpleFileOptions::default();
        z.start_file("[Content_Types].xml", o).unwrap();
        z.write_all(br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#).unwrap();
        z.start_file("_rels/.rels", o).unwrap();
        z.write_all(br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#).unwrap();
        z.start_file("word/document.xml", o).unwrap();
        let mut xml = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#,
        );
        let esc = |t: &str| {
            t.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        for p in paragraphs {
            // Split runs mid-paragraph, as Word does.
            let mid = p
                .char_indices()
                .nth(p.chars().count() / 2)
                .map_or(0, |(i, _)| i);
            let (a, b) = (esc(&p[..mid]), esc(&p[mid..]));
            xml.push_str(&format!(
                r#"<w:p><w:r><w:t xml:space="preserve">{a}</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">{b}</w:t></w:r></w:p>"#
            ));
        }
        xml.push_str("<w:sectPr/></w:body></w:document>");
        z.write_all(xml.as_bytes()).unwrap();
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// `text[start..end]` in characters.
pub fn slice_chars(text: &str, start: usize, end: usize) -> String {
    text.chars().skip(start).take(end - start).collect()
}
