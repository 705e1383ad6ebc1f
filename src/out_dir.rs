//! Where a report goes: the default folder `out/<name>` with the scenario's name made a safe
//! folder name (a name such as `../../tmp/x` wrote outside `out/`), a check before a run that the
//! folder can be written (a bad `--out` failed only after the simulation), and the report written
//! whole into a staging folder beside the target and swapped in, so that an interrupted run never
//! leaves a mixed report and a new report never keeps an old one's files.

use std::path::{Path, PathBuf};

/// The file every report folder holds; a folder without it is not replaced.
const MARK: &str = "summary.json";

/// `out/<name><suffix>`, the name reduced to letters, digits, `-`, `_` and `.`, without leading
/// dots.
pub fn default_dir(name: &str, suffix: &str) -> PathBuf {
    let safe: String = format!("{name}{suffix}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    Path::new("out").join(if safe.is_empty() { "scenario" } else { safe })
}

/// A report folder being written: its target and its staging folder.
pub struct Staged {
    target: PathBuf,
    staging: PathBuf,
}

/// Checks that `target` can take a report, before any work: it is absent, an empty folder, or an
/// earlier report (it holds `summary.json`); its parent can be created and written. Creates the
/// staging folder beside it, and removes the staging folders interrupted runs left there.
pub fn prepare(target: &Path) -> Result<Staged, String> {
    if target.exists() {
        if !target.is_dir() {
            return Err("is a file, not a folder".into());
        }
        let mut entries = std::fs::read_dir(target).map_err(|e| e.to_string())?;
        let empty = entries.next().is_none();
        if !empty && !target.join(MARK).is_file() {
            return Err(
                "holds files that are not a cassim report; give a new or empty folder".into(),
            );
        }
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| format!("cannot create its parent: {e}"))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let prefix = format!(".{name}.partial-");
    remove_stale(&parent, &prefix);
    let staging = parent.join(format!("{prefix}{}", std::process::id()));
    std::fs::create_dir_all(&staging).map_err(|e| format!("cannot write beside it: {e}"))?;
    Ok(Staged {
        target: target.to_path_buf(),
        staging,
    })
}

/// Staging folders of runs that were killed (`.<name>.partial-<pid>`).
fn remove_stale(parent: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(prefix) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Staged {
    /// Writes `files` (paths relative to the report folder) into the staging folder, then puts it
    /// in the target's place; the earlier report, if any, is removed. Returns the paths written,
    /// charts summarised as one line per folder.
    pub fn commit(self, files: &[(String, Vec<u8>)]) -> std::io::Result<Vec<String>> {
        for (name, bytes) in files {
            let path = self.staging.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, bytes)?;
        }
        let old = self.staging.with_extension("old");
        if self.target.exists() {
            std::fs::rename(&self.target, &old)?;
        }
        if let Err(e) = std::fs::rename(&self.staging, &self.target) {
            let _ = std::fs::rename(&old, &self.target);
            return Err(e);
        }
        let _ = std::fs::remove_dir_all(&old);
        Ok(listing(&self.target, files))
    }

    /// Gives up: removes the staging folder.
    pub fn abandon(self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}

/// The first figure of a report's tables that is infinite or NaN (`file: column at row N`), so
/// that no such report is ever written: inputs are bounded so that none arises, and this is the
/// net under that.
pub fn non_finite(files: &[(String, Vec<u8>)]) -> Option<String> {
    let bad = |field: &str| matches!(field.trim(), "NaN" | "inf" | "-inf");
    for (name, bytes) in files.iter().filter(|(n, _)| n.ends_with(".csv")) {
        let text = String::from_utf8_lossy(bytes);
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        for (row, line) in lines.enumerate() {
            if let Some(col) = line.split(',').position(bad) {
                let column = header.get(col).copied().unwrap_or("?");
                return Some(format!("{name}: {column} at row {}", row + 1));
            }
        }
    }
    None
}

/// The paths written, files of subfolders counted as charts.
pub fn listing(dir: &Path, files: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut written = Vec::new();
    let mut charts = 0;
    for (name, _) in files {
        if name.contains('/') {
            charts += 1;
        } else {
            written.push(dir.join(name).display().to_string());
        }
    }
    if charts > 0 {
        written.push(format!(
            "{} ({charts} charts, SVG and PNG)",
            dir.join("charts").display()
        ));
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_never_leaves_out() {
        assert_eq!(default_dir("../../tmp/x", ""), Path::new("out/_.._tmp_x"));
        assert_eq!(default_dir("..", ""), Path::new("out/scenario"));
        assert_eq!(
            default_dir("m2m \u{1b}[31m", "-drive"),
            Path::new("out/m2m___31m-drive")
        );
    }

    #[test]
    fn a_new_report_replaces_an_old_one_whole() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("r");
        let files = |names: &[&str]| -> Vec<(String, Vec<u8>)> {
            names
                .iter()
                .map(|n| (n.to_string(), b"x".to_vec()))
                .collect()
        };
        prepare(&target)
            .unwrap()
            .commit(&files(&["summary.json", "charts/a.svg"]))
            .unwrap();
        prepare(&target)
            .unwrap()
            .commit(&files(&["summary.json", "summary.md"]))
            .unwrap();
        assert!(target.join("summary.md").is_file());
        assert!(!target.join("charts").exists());
        let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }

    #[test]
    fn a_table_with_an_infinite_figure_is_found() {
        let file = |text: &str| vec![("timeseries.csv".to_string(), text.as_bytes().to_vec())];
        assert_eq!(non_finite(&file("t_s,disk\n0,1\n3600,2\n")), None);
        assert_eq!(
            non_finite(&file("t_s,disk\n0,1\n3600,inf\n")),
            Some("timeseries.csv: disk at row 2".to_string())
        );
        assert!(non_finite(&file("t_s,disk\n0,NaN\n")).is_some());
    }

    #[test]
    fn a_folder_of_other_files_is_refused() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("notes.txt"), "mine").unwrap();
        assert!(prepare(root.path()).is_err());
        assert!(root.path().join("notes.txt").is_file());
    }
}
