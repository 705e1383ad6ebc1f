//! Every source file opens with a module doc comment saying what it owns.

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().and_then(|e| e.to_str()) == Some("rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_file_has_a_module_doc_comment() {
    let mut files = Vec::new();
    rust_files(&super::util::root().join("src"), &mut files);
    rust_files(&super::util::root().join("tests"), &mut files);
    assert!(files.len() > 20);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} has no module doc comment",
            f.display()
        );
    }
}
