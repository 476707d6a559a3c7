//! Fuzz target: see `rampart_source::fuzzing::layer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart_source::fuzzing::layer(data);
});
