//! The CQL reader (templates, lexer, parser, schema checks) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cassim::cql::parse("f.cql", text, &BTreeMap::new());
        let _ = cassim::schema::Schema::from_cql("f.cql", text, &BTreeMap::new(), None);
    }
});
