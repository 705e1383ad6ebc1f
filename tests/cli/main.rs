//! Integration tests: the real `cassim` binary on shipped scenarios, the corpus and bad input.

mod behaviour;
mod corpus;
mod drive;
mod errors;
mod findings;
mod hostile;
mod latency;
mod memory;
mod parser_props;
mod populations;
mod reference;
mod reports;
mod run;
mod scenarios;
mod sim_props;
mod sizing;
mod sweep;
mod tidy;
mod util;
