//! Fuzz target: see `fuzz/checks/fields.rs` for what it checks.

#![no_main]

#[path = "../checks/fields.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
