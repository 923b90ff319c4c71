//! Normalisation against similar accounts: a signal's value becomes its percentile among the
//! accounts on the same scorecard. A run does it in two passes: measure every account and
//! collect [`PeerBenchmarks`], then score each account against them.

use crate::kernel::Measurement;
use crate::signals::{Measured, SIGNAL_COUNT};

/// The sorted values of one signal across a peer group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeerDistribution {
    sorted: Vec<f64>,
}

impl PeerDistribution {
    /// From any values; NaN is ignored.
    pub fn new(values: impl IntoIterator<Item = f64>) -> PeerDistribution {
        let mut sorted: Vec<f64> = values.into_iter().filter(|v| !v.is_nan()).collect();
        sorted.sort_unstable_by(f64::total_cmp);
        PeerDistribution { sorted }
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Percentile rank 0-100 of `value`: `(below + (equal - 1) / 2) / (n - 1) * 100`, so the
    /// lowest of distinct values is 0, the highest 100, ties share their mid rank, and a lone
    /// account sits at 50. A value not in the group is placed between its neighbours.
    pub fn percentile(&self, value: f64) -> Option<f64> {
        let n = self.sorted.len();
        if n == 0 || value.is_nan() {
            return None;
        }
        if n == 1 {
            return Some(50.0);
        }
        let below = self.sorted.partition_point(|v| *v < value);
        let up_to = self.sorted.partition_point(|v| *v <= value);
        let equal = (up_to - below) as f64;
        let rank = (below as f64 + (equal - 1.0) / 2.0) / (n - 1) as f64 * 100.0;
        Some(rank.clamp(0.0, 100.0))
    }
}

/// Percentile ranks (0-100) of each present value among the present values, as
/// [`PeerDistribution::percentile`] defines them; missing values stay missing.
pub fn percentile_ranks(values: &[Option<f64>]) -> Vec<Option<f64>> {
    let dist = PeerDistribution::new(values.iter().flatten().copied());
    values
        .iter()
        .map(|v| v.and_then(|v| dist.percentile(v)))
        .collect()
}

/// Per scorecard (by its index in the configuration) and signal, the peer distribution.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeerBenchmarks {
    groups: Vec<[PeerDistribution; SIGNAL_COUNT]>,
}

/// Collects measurements in the first pass of a run.
#[derive(Debug, Clone, Default)]
pub struct PeerCollector {
    groups: Vec<[Vec<f64>; SIGNAL_COUNT]>,
}

impl PeerCollector {
    pub fn add(&mut self, m: &Measurement) {
        self.add_signals(m.scorecard, &m.signals);
    }

    /// Adds one account's measured signals on scorecard `scorecard`.
    pub fn add_signals(&mut self, scorecard: usize, signals: &[Measured; SIGNAL_COUNT]) {
        let i = scorecard;
        if self.groups.len() <= i {
            self.groups.resize_with(i + 1, Default::default);
        }
        for (list, signal) in self.groups[i].iter_mut().zip(signals.iter()) {
            if let Some(k) = signal.rank_key {
                list.push(k);
            }
        }
    }

    /// Merges another collector (e.g. from another segment of the run).
    pub fn merge(&mut self, other: PeerCollector) {
        if self.groups.len() < other.groups.len() {
            self.groups
                .resize_with(other.groups.len(), Default::default);
        }
        for (mine, theirs) in self.groups.iter_mut().zip(other.groups) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                a.extend(b);
            }
        }
    }

    pub fn finish(self) -> PeerBenchmarks {
        PeerBenchmarks {
            groups: self
                .groups
                .into_iter()
                .map(|g| g.map(PeerDistribution::new))
                .collect(),
        }
    }
}

impl PeerBenchmarks {
    /// The distribution of `signal_index` on scorecard `scorecard`, when it has at least
    /// `min_peers` accounts.
    pub fn distribution(
        &self,
        scorecard: usize,
        signal_index: usize,
        min_peers: u32,
    ) -> Option<&PeerDistribution> {
        self.groups
            .get(scorecard)
            .and_then(|g| g.get(signal_index))
            .filter(|d| d.len() >= min_peers.max(1) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_values_rank_from_zero_to_one_hundred() {
        let r = percentile_ranks(&[Some(30.0), Some(10.0), Some(20.0)]);
        assert_eq!(r, vec![Some(100.0), Some(0.0), Some(50.0)]);
    }

    #[test]
    fn ties_share_their_mid_rank_and_missing_stays_missing() {
        let r = percentile_ranks(&[Some(5.0), None, Some(5.0), Some(1.0), Some(9.0)]);
        assert_eq!(
            r,
            vec![Some(50.0), None, Some(50.0), Some(0.0), Some(100.0)]
        );
    }

    #[test]
    fn a_lone_account_sits_at_the_median() {
        assert_eq!(percentile_ranks(&[Some(3.0)]), vec![Some(50.0)]);
        assert_eq!(percentile_ranks(&[None]), vec![None]);
    }

    #[test]
    fn collectors_from_two_segments_merge_into_one_group() {
        let m = |usage: f64| {
            let mut signals = [crate::signals::Measured::MISSING; SIGNAL_COUNT];
            signals[0].rank_key = Some(usage);
            signals[0].absolute = Some(usage);
            (0, signals)
        };
        let mut a = PeerCollector::default();
        let mut b = PeerCollector::default();
        for (i, v) in [1.0, 2.0, 3.0].into_iter().enumerate() {
            let (card, signals) = m(v);
            let target = if i == 0 { &mut a } else { &mut b };
            target.add_signals(card, &signals);
        }
        a.merge(b);
        let peers = a.finish();
        let d = peers.distribution(0, 0, 3).unwrap();
        assert_eq!(d.percentile(2.0), Some(50.0));
        assert!(peers.distribution(0, 0, 4).is_none());
        assert!(peers.distribution(0, 1, 1).is_none());
    }

    #[test]
    fn a_value_outside_the_group_is_placed_between_neighbours() {
        let d = PeerDistribution::new([0.0, 10.0, 20.0]);
        assert_eq!(d.percentile(15.0), Some(75.0));
        assert_eq!(d.percentile(-1.0), Some(0.0));
        assert_eq!(d.percentile(99.0), Some(100.0));
    }
}
