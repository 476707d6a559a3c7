//! Fuzz target: see `rampart_source::fuzzing::archive`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart_source::fuzzing::archive(data);
});
