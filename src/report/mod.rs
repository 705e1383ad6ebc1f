//! Reports: turns results into text and JSON for people and machines. The library's analyses produce
//! data; only this module formats it.

mod check_text;

pub use check_text::render_check;
mod run_output;

pub use run_output::{queries_csv, render_run, render_size, summary_json, timeseries_csv};
