//! The account space is split into a fixed number of segments by a stable hash of the account
//! id. Event chunks and account records are stored per segment, so the daily run can score one
//! segment at a time, checkpoint per segment, and fan segments out through a queue.

use crate::model::AccountId;
use serde::{Deserialize, Serialize};

/// Number of segments. Fixed: changing it would move accounts between stored partitions.
pub const SEGMENT_COUNT: u16 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Segment(pub u16);

impl Segment {
    pub fn of(account: &AccountId) -> Segment {
        // FNV-1a's low bits depend only on the low bits of each byte (`% 64` would put `acme!`
        // and `acmea` together every time) and its high bits mix poorly on short ids: a
        // murmur3 finaliser spreads every bit, then multiply-shift takes the high bits.
        let hash = u128::from(fmix64(fnv1a64(account.as_str().as_bytes())));
        Segment(((hash * u128::from(SEGMENT_COUNT)) >> 64) as u16)
    }

    pub fn all() -> impl Iterator<Item = Segment> {
        (0..SEGMENT_COUNT).map(Segment)
    }
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

/// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// FNV-1a: tiny, stable across platforms and releases (unlike `std`'s hasher).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_of_an_account_never_changes() {
        // Pinned: stored data is partitioned by this value.
        let seg = |id: &str| Segment::of(&AccountId::new(id).unwrap()).0;
        assert_eq!([seg("acme"), seg("acct-0001"), seg("globex")], [14, 60, 11]);
        assert_ne!(seg("acme!"), seg("acmea"));
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn segments_spread_accounts() {
        let mut counts = [0u32; SEGMENT_COUNT as usize];
        for i in 0..6400 {
            counts[Segment::of(&AccountId::new(format!("acct-{i}")).unwrap()).0 as usize] += 1;
        }
        assert!(counts.iter().all(|c| *c > 50 && *c < 150), "{counts:?}");
    }
}
