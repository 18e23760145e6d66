//! Fuzz target: see `fuzz/checks/body_minify.rs` for what it checks.

#![no_main]

#[path = "../checks/body_minify.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
