//! Bytes to text: UTF-8 with or without BOM; anything else is an error that
//! names the byte offset, unless the study opts in to lossy replacement.

use std::path::Path;

use crate::diag::Diagnostic;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes a transcript's bytes. The BOM is dropped (offsets never count it).
pub fn decode(path: &Path, bytes: &[u8], lossy: bool) -> Result<String, Diagnostic> {
    let (body, skipped) = match bytes.strip_prefix(BOM) {
        Some(rest) => (rest, BOM.len()),
        None => (bytes, 0),
    };
    match std::str::from_utf8(body) {
        Ok(s) => Ok(s.to_string()),
        Err(_) if lossy => Ok(String::from_utf8_lossy(body).into_owned()),
        Err(e) => {
            let good = e.valid_up_to();
            let prefix = std::str::from_utf8(&body[..good]).unwrap_or_default();
            let (line, col) = crate::diag::line_col(prefix, good);
            Err(Diagnostic::error(format!(
                "the file is not valid UTF-8 (invalid byte 0x{:02X} at byte offset {})",
                body[good],
                good + skipped
            ))
            .in_file(path)
            .at(line, col)
            .with_help(
                "re-save the file as UTF-8 (most editors offer \"Save with encoding\"), \
                 or pass --lossy to replace invalid bytes with U+FFFD",
            ))
        }
    }
}

/// [`decode`], taking the bytes: valid UTF-8 without a BOM becomes the
/// text as it is, without a copy.
pub fn decode_owned(path: &Path, bytes: Vec<u8>, lossy: bool) -> Result<String, Diagnostic> {
    if bytes.starts_with(BOM) {
        return decode(path, &bytes, lossy);
    }
    String::from_utf8(bytes).or_else(|e| decode(path, e.as_bytes(), lossy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_bom_and_reports_invalid_offset() {
        assert_eq!(
            decode(Path::new("a"), b"\xEF\xBB\xBFhi", false).unwrap(),
            "hi"
        );
        let e = decode(Path::new("a.txt"), b"ok\nab\xFFc", false).unwrap_err();
        assert!(e.message.contains("byte offset 5"), "{}", e.message);
        assert_eq!((e.line, e.column), (Some(2), Some(3)));
        assert_eq!(
            decode(Path::new("a"), b"a\xFFb", true).unwrap(),
            "a\u{FFFD}b"
        );
    }

    #[test]
    fn owned_bytes_decode_alike() {
        for (bytes, lossy) in [
            (&b"\xEF\xBB\xBFhi"[..], false),
            (b"plain", false),
            (b"ok\nab\xFFc", false),
            (b"a\xFFb", true),
            (b"\xEF\xBB\xBFa\xFFb", true),
            (b"\xEF\xBB\xBFa\xFFb", false),
        ] {
            let path = Path::new("a.txt");
            let owned = decode_owned(path, bytes.to_vec(), lossy);
            match (decode(path, bytes, lossy), owned) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => {
                    assert_eq!((a.message, a.line, a.column), (b.message, b.line, b.column))
                }
                (a, b) => panic!("{bytes:?}: {a:?} against {b:?}"),
            }
        }
    }
}
