//! Byte comparisons for the hot path, without a call to `memcmp`: its branches on the length
//! mispredict when the strings compared change from event to event, and the strings compared
//! (event values against rules' keys) are short.

/// The eight bytes of `bytes` at `at`, little-endian.
pub(crate) fn word(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// The four bytes of `bytes` at `at`, little-endian.
pub(crate) fn half(bytes: &[u8], at: usize) -> u32 {
    let mut half = [0; 4];
    half.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(half)
}

/// True when `a` and `b` (of the same length) hold the same bytes, compared a word at a time
/// without a call (`==` on slices calls `memcmp`, whose branches on the length mispredict
/// when lengths vary from event to event).
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let length = a.len();
    if length != b.len() {
        return false;
    }
    if length >= 8 {
        let mut at = 0;
        while at + 8 < length {
            if word(a, at) != word(b, at) {
                return false;
            }
            at += 8;
        }
        word(a, length - 8) == word(b, length - 8)
    } else if length >= 4 {
        half(a, 0) == half(b, 0) && half(a, length - 4) == half(b, length - 4)
    } else {
        a == b
    }
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn bytes_are_the_same_only_when_every_one_is() {
        let text = b"abcdefghijklmnopqrstuvwxyz0123456789";
        for length in 0..=text.len() {
            let a = &text[..length];
            assert!(same(a, a), "{length}");
            for at in 0..length {
                let mut b = a.to_vec();
                b[at] ^= 1;
                assert!(!same(a, &b), "{length} {at}");
            }
        }
        assert!(!same(b"abc", b"abcd"));
    }
}
