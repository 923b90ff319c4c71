//! Test input damaged at random, deterministically: a few bytes of a seed text replaced,
//! inserted or removed, drawn from an alphabet of the bytes that matter to the parser under test.
//! The parsers' differential tests (fast path against the reference) run on many such texts.

/// A xorshift stream of edits.
pub(crate) struct Damage {
    state: u64,
}

impl Damage {
    pub(crate) fn new(seed: u64) -> Self {
        Damage { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    /// `seed` with 1 to `max_edits` random edits from `alphabet`, or `None` when the result is
    /// not UTF-8 (the parsers take `&str`).
    pub(crate) fn apply(&mut self, seed: &str, alphabet: &[u8], max_edits: u64) -> Option<String> {
        let mut b = seed.as_bytes().to_vec();
        for _ in 0..=(self.next() % max_edits) {
            if b.is_empty() {
                break;
            }
            let at = (self.next() % b.len() as u64) as usize;
            let c = alphabet[(self.next() % alphabet.len() as u64) as usize];
            match self.next() % 3 {
                0 => b[at] = c,
                1 => b.insert(at, c),
                _ => {
                    b.remove(at);
                }
            }
        }
        String::from_utf8(b).ok()
    }
}
