//! Payloads the tests draw.

/// The public sample payloads in `testdata/qris-samples.txt` (at the repository root), as (label, payload).
pub(crate) fn samples() -> Vec<(String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/qris-samples.txt"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("reading {path}: {err}"));
    let samples: Vec<_> = text
        .lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            // Payloads can hold spaces ("Warung Sayur"); the label cannot.
            let (label, payload) = line.split_once(' ').expect("a line is `label payload`");
            (label.to_owned(), payload.to_owned())
        })
        .collect();
    assert!(!samples.is_empty(), "no samples in {path}");
    samples
}

/// 500 printable ASCII characters with lower case, so the encoder needs byte mode throughout.
pub(crate) fn long_ascii() -> String {
    let payload: String = (0..500u16)
        .map(|i| char::from(b' ' + (i % 95) as u8))
        .collect();
    assert_eq!(payload.len(), 500);
    payload
}
