//! Reading an input file (scenario, schema, stress profile): a regular file of at most
//! [`MAX_INPUT_BYTES`], in UTF-8. A FIFO, `/dev/zero` or a file of gigabytes would otherwise hang
//! the read or exhaust memory, and invalid UTF-8 is located by line and byte.

use std::io::Read;
use std::path::Path;

/// The largest input read: the corpus's largest schema is some 40 KiB, so 16 MiB leaves room for
/// generated ones.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// The text of `path`, or why it cannot be read, in words.
pub fn read_text(path: &Path) -> Result<String, String> {
    regular_file(path)?;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| not_utf8(e.as_bytes(), e.utf8_error().valid_up_to()))
}

/// Whether `path` is a regular file cassim may read: not a directory, FIFO or device, and not
/// above [`MAX_INPUT_BYTES`].
pub fn regular_file(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(format!(
            "is {what}; give a scenario (.toml), schema (.cql) or stress profile (.yaml) file"
        ));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(too_large());
    }
    Ok(())
}

fn too_large() -> String {
    format!(
        "is larger than {} MiB, the most cassim reads",
        MAX_INPUT_BYTES / 1024 / 1024
    )
}

/// Where the first byte that is not UTF-8 lies: its line, and its byte within the line.
fn not_utf8(bytes: &[u8], at: usize) -> String {
    let before = &bytes[..at];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    format!(
        "is not UTF-8: line {line}, byte {} (0x{:02x}); save the file as UTF-8",
        at - line_start + 1,
        bytes[at]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_located_by_line_and_byte() {
        let m = not_utf8(b"ab\ncd\xffe", 5);
        assert!(m.contains("line 2, byte 3 (0xff)"), "{m}");
    }
}
