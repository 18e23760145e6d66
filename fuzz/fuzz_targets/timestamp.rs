//! Fuzz target: see `fuzz/checks/timestamp.rs` for what it checks.

#![no_main]

#[path = "../checks/timestamp.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
