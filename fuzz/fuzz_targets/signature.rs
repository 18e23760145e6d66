//! Fuzz target: see `fuzz/checks/signature.rs` for what it checks.

#![no_main]

#[path = "../checks/signature.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
