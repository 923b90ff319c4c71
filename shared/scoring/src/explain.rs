//! What changed since the previous run, in numbers and in a sentence a CSM can read:
//! "score fell 18: seat adoption 41% → 22%".

use crate::signals::Signal;
use crate::{HealthScore, SignalScore};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Movers named in a change, biggest first.
pub const MAX_MOVERS: usize = 3;
/// Smaller point changes than this are not movers.
pub const MIN_MOVE_POINTS: f64 = 0.5;

/// One signal's move between two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalMove {
    /// The signal's name ([`Signal::as_str`]); borrowed for known signals, so explaining a
    /// change allocates no names.
    pub name: Cow<'static, str>,
    /// Raw value before and after (see [`Signal::raw_meaning`]).
    pub from: Option<f64>,
    pub to: Option<f64>,
    /// Points the signal contributed now minus then.
    pub points_delta: f64,
}

/// The change of a score since the previous run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreChange {
    pub from: f64,
    pub to: f64,
    /// `to - from`, one decimal.
    pub delta: f64,
    /// The previous scorecard, when the account moved to another one.
    pub previous_scorecard: Option<String>,
    /// Biggest movers by points, at most [`MAX_MOVERS`].
    pub movers: Vec<SignalMove>,
}

impl ScoreChange {
    /// "score fell 18: seat adoption 41% → 22%, usage depth 20 active days → 9 active days".
    pub fn sentence(&self) -> String {
        let size = self.delta.abs();
        let amount = if size >= 1.0 {
            format!("{size:.0}")
        } else {
            format!("{size:.1}")
        };
        let mut s = if self.delta > 0.0 {
            format!("score rose {amount}")
        } else if self.delta < 0.0 {
            format!("score fell {amount}")
        } else {
            format!("score unchanged at {:.0}", self.to)
        };
        for (i, m) in self.movers.iter().enumerate() {
            s.push_str(if i == 0 { ": " } else { ", " });
            match Signal::from_name(&m.name) {
                Some(sig) => {
                    let (from, to) = (sig.format_raw(m.from), sig.format_raw(m.to));
                    s.push_str(sig.label());
                    if from == to {
                        // Scored against peers: the account's own measure held, the accounts
                        // it is compared with moved. Say so instead of "30 days → 30 days".
                        s.push_str(&format!(
                            " unchanged at {to} but {} against peers ({:+.1} points)",
                            if m.points_delta < 0.0 {
                                "lower"
                            } else {
                                "higher"
                            },
                            m.points_delta
                        ));
                    } else {
                        s.push_str(&format!(" {from} → {to}"));
                    }
                }
                // A learned signal: its raw value is the account's percentile among the
                // accounts it was learned from.
                None => match (m.from, m.to) {
                    (Some(from), Some(to)) => s.push_str(&format!(
                        "{} {} → {} percentile ({:+.1} points)",
                        m.name,
                        ordinal(from),
                        ordinal(to),
                        m.points_delta
                    )),
                    _ => s.push_str(&format!("{} {:+.1} points", m.name, m.points_delta)),
                },
            }
        }
        if let Some(prev) = &self.previous_scorecard {
            s.push_str(&format!(" (scorecard was {prev})"));
        }
        s
    }
}

/// 1st, 2nd, 3rd, 4th ... of a percentile.
fn ordinal(v: f64) -> String {
    let n = v.round().clamp(0.0, 100.0) as u32;
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

impl std::fmt::Display for ScoreChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sentence())
    }
}

/// Compares two runs' scores: the delta and the signals whose points moved most.
pub fn diff(previous: &HealthScore, current: &HealthScore) -> ScoreChange {
    // (points delta, index in current or previous, whether it is from previous only)
    let mut moves: Vec<(f64, usize, bool)> = Vec::with_capacity(current.signals.len());
    for (i, now) in current.signals.iter().enumerate() {
        let then = counterpart(&previous.signals, i, &now.name);
        moves.push((now.points - then.map_or(0.0, |t| t.points), i, false));
    }
    for (i, then) in previous.signals.iter().enumerate() {
        if !current.signals.iter().any(|s| s.name == then.name) {
            moves.push((-then.points, i, true));
        }
    }
    moves.retain(|m| m.0.abs() >= MIN_MOVE_POINTS);
    let name = |m: &(f64, usize, bool)| {
        let list = if m.2 {
            &previous.signals
        } else {
            &current.signals
        };
        list[m.1].name.as_str()
    };
    moves.sort_by(|a, b| {
        b.0.abs()
            .total_cmp(&a.0.abs())
            .then_with(|| name(a).cmp(name(b)))
    });
    moves.truncate(MAX_MOVERS);
    let movers = moves
        .iter()
        .map(|m| {
            let (then, now) = if m.2 {
                (Some(&previous.signals[m.1]), None)
            } else {
                let now = &current.signals[m.1];
                (
                    previous.signals.iter().find(|s| s.name == now.name),
                    Some(now),
                )
            };
            let name = name(m);
            SignalMove {
                name: Signal::from_name(name).map_or_else(
                    || Cow::Owned(name.to_string()),
                    |s| Cow::Borrowed(s.as_str()),
                ),
                from: then.and_then(|t| t.raw),
                to: now.and_then(|n| n.raw),
                points_delta: m.0,
            }
        })
        .collect();
    ScoreChange {
        from: previous.score,
        to: current.score,
        delta: crate::scorecard::round1(current.score - previous.score),
        previous_scorecard: (previous.scorecard != current.scorecard)
            .then(|| previous.scorecard.clone()),
        movers,
    }
}

/// The signal named `name` in `list`, looking first at position `at` (the same scorecard
/// lists signals in the same order).
fn counterpart<'a>(list: &'a [SignalScore], at: usize, name: &str) -> Option<&'a SignalScore> {
    match list.get(at) {
        Some(s) if s.name == name => Some(s),
        _ => list.iter().find(|s| s.name == name),
    }
}

#[cfg(test)]
mod tests;
