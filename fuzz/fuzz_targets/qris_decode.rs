//! Fuzz target: see `fuzz/checks/qris_decode.rs` for what it checks.

#![no_main]

#[path = "../checks/qris_decode.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
