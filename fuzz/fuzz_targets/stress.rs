//! The cassandra-stress profile import (YAML, columnspec, insert, queries) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cassim::stress::import("f.yaml", text, None);
    }
});
