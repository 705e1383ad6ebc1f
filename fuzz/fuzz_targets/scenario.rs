//! The scenario reader (TOML, field paths, schema, workload) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ =
            cassim::scenario::Scenario::from_str(text, Path::new("f.toml"), &BTreeMap::new(), &[]);
    }
});
