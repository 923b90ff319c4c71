//! The score trail: the last [`TRAIL_DAYS`] days of an account's score, kept on the account
//! record so the dashboard draws the score chart without reading the score history.
//!
//! One point per day, oldest first. Recording a day that is already there replaces it, so a
//! re-run or resumed day never duplicates a point, and a backfilled earlier day slots into place.
//! Scores are kept in whole points: a chart needs no more, and it keeps the account item small
//! (DynamoDB bills the daily run's update per KB of the item).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::Band;

/// Days of score the trail keeps, counted back from its newest point.
pub const TRAIL_DAYS: u64 = 180;

/// One day's score on the trail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrailPoint {
    pub day: NaiveDate,
    /// 0-100, the day's health score rounded to whole points.
    pub score: u8,
    pub band: Band,
}

/// An account's recent daily scores, oldest first, at most one per day, none older than
/// [`TRAIL_DAYS`] before the newest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(into = "TrailWire", try_from = "TrailWire")]
pub struct ScoreTrail {
    points: Vec<TrailPoint>,
}

impl ScoreTrail {
    /// Sets the score of `day`, replacing that day's point if there is one, then drops the
    /// points that fall out of the window. A day already older than the window is ignored.
    pub fn record(&mut self, day: NaiveDate, score: f64, band: Band) {
        let point = TrailPoint {
            day,
            // In 0-100 after the clamp, so the cast cannot truncate.
            score: score.clamp(0.0, 100.0).round() as u8,
            band,
        };
        match self.points.binary_search_by_key(&day, |p| p.day) {
            Ok(i) => self.points[i] = point,
            Err(i) => self.points.insert(i, point),
        }
        if let Some(newest) = self.points.last().map(|p| p.day) {
            let oldest_kept = newest - chrono::Days::new(TRAIL_DAYS - 1);
            self.points.retain(|p| p.day >= oldest_kept);
        }
    }

    /// The points, oldest first.
    pub fn points(&self) -> &[TrailPoint] {
        &self.points
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }
}

/// The stored form, in columns so it packs small: the first day, the gap in days before each
/// later point, the first score then each change from the previous one (small numbers deflate
/// better than scores), and bands as one letter each (`a`t risk, `m`onitor, `h`ealthy).
#[derive(Serialize, Deserialize)]
struct TrailWire {
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    first: Option<NaiveDate>,
    #[serde(rename = "g", default)]
    gaps: Vec<u16>,
    #[serde(rename = "s", default)]
    score_changes: Vec<i8>,
    #[serde(rename = "b", default)]
    bands: String,
}

impl From<ScoreTrail> for TrailWire {
    fn from(trail: ScoreTrail) -> Self {
        let days = trail.points.iter().map(|p| p.day);
        let gaps = days
            .clone()
            .zip(days.skip(1))
            .map(|(a, b)| u16::try_from((b - a).num_days()).unwrap_or(u16::MAX))
            .collect();
        TrailWire {
            first: trail.points.first().map(|p| p.day),
            gaps,
            score_changes: trail
                .points
                .iter()
                .scan(0i8, |previous, p| {
                    // Scores are 0-100, so a score and a change between two fit an i8.
                    let score = p.score.min(100) as i8;
                    let change = score - *previous;
                    *previous = score;
                    Some(change)
                })
                .collect(),
            bands: trail.points.iter().map(|p| band_letter(p.band)).collect(),
        }
    }
}

impl TryFrom<TrailWire> for ScoreTrail {
    type Error = String;
    fn try_from(wire: TrailWire) -> Result<Self, String> {
        let bands: Vec<Band> = wire
            .bands
            .chars()
            .map(band_of_letter)
            .collect::<Result<_, _>>()?;
        let n = wire.score_changes.len();
        if bands.len() != n || wire.gaps.len() != n.saturating_sub(1) {
            return Err(format!(
                "score trail columns disagree: {n} scores, {} bands, {} gaps",
                bands.len(),
                wire.gaps.len()
            ));
        }
        let Some(mut day) = wire.first else {
            return match n {
                0 => Ok(ScoreTrail::default()),
                _ => Err("score trail has scores but no first day".into()),
            };
        };
        let mut points = Vec::with_capacity(n);
        let mut score: i16 = 0;
        for (i, (change, band)) in wire.score_changes.into_iter().zip(bands).enumerate() {
            if i > 0 {
                let gap = wire.gaps[i - 1];
                if gap == 0 {
                    return Err("score trail has two points on one day".into());
                }
                day = day + chrono::Days::new(u64::from(gap));
            }
            score += i16::from(change);
            let Some(whole) = u8::try_from(score).ok().filter(|s| *s <= 100) else {
                return Err(format!("score trail has a score of {score} on {day}"));
            };
            points.push(TrailPoint {
                day,
                score: whole,
                band,
            });
        }
        Ok(ScoreTrail { points })
    }
}

fn band_letter(band: Band) -> char {
    match band {
        Band::AtRisk => 'a',
        Band::Monitor => 'm',
        Band::Healthy => 'h',
    }
}

fn band_of_letter(letter: char) -> Result<Band, String> {
    match letter {
        'a' => Ok(Band::AtRisk),
        'm' => Ok(Band::Monitor),
        'h' => Ok(Band::Healthy),
        other => Err(format!("score trail has an unknown band {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(n)
    }

    fn days_of(trail: &ScoreTrail) -> Vec<NaiveDate> {
        trail.points().iter().map(|p| p.day).collect()
    }

    #[test]
    fn recording_the_same_day_again_replaces_its_point() {
        let mut trail = ScoreTrail::default();
        trail.record(day(0), 50.0, Band::Monitor);
        trail.record(day(1), 55.5, Band::Monitor);
        trail.record(day(1), 35.2, Band::AtRisk);
        assert_eq!(days_of(&trail), [day(0), day(1)]);
        assert_eq!(trail.points()[1].score, 35);
        assert_eq!(trail.points()[1].band, Band::AtRisk);
    }

    #[test]
    fn an_earlier_day_is_inserted_in_order() {
        let mut trail = ScoreTrail::default();
        trail.record(day(0), 50.0, Band::Monitor);
        trail.record(day(5), 60.0, Band::Monitor);
        trail.record(day(2), 90.0, Band::Healthy);
        assert_eq!(days_of(&trail), [day(0), day(2), day(5)]);
        assert_eq!(trail.points()[1].score, 90);
    }

    #[test]
    fn backfill_out_of_order_gives_the_same_trail_as_daily_runs() {
        let mut daily = ScoreTrail::default();
        let mut backfilled = ScoreTrail::default();
        for d in 0..10 {
            daily.record(day(d), d as f64 * 7.5, Band::Monitor);
        }
        for d in (0..10).rev() {
            backfilled.record(day(d), d as f64 * 7.5, Band::Monitor);
        }
        assert_eq!(daily, backfilled);
    }

    #[test]
    fn points_older_than_the_window_are_dropped() {
        let mut trail = ScoreTrail::default();
        trail.record(day(0), 50.0, Band::Monitor);
        trail.record(day(179), 51.0, Band::Monitor);
        assert_eq!(trail.len(), 2, "day 0 is still within 180 days of day 179");
        trail.record(day(180), 52.0, Band::Monitor);
        assert_eq!(days_of(&trail), [day(179), day(180)]);
        trail.record(day(0), 10.0, Band::AtRisk);
        assert_eq!(days_of(&trail), [day(179), day(180)], "too old to keep");
    }

    #[test]
    fn a_year_of_daily_runs_keeps_the_last_180_days() {
        let mut trail = ScoreTrail::default();
        for d in 0..365 {
            trail.record(day(d), 70.0, Band::Monitor);
        }
        assert_eq!(trail.len(), 180);
        assert_eq!(trail.points()[0].day, day(185));
        assert_eq!(trail.points()[179].day, day(364));
    }

    #[test]
    fn the_stored_form_round_trips_with_gaps_and_whole_points() {
        let mut trail = ScoreTrail::default();
        trail.record(day(0), 12.3, Band::AtRisk);
        trail.record(day(1), 64.5, Band::Monitor);
        trail.record(day(9), 100.0, Band::Healthy);
        trail.record(day(10), 0.0, Band::AtRisk);
        let scores: Vec<u8> = trail.points().iter().map(|p| p.score).collect();
        assert_eq!(scores, [12, 65, 100, 0]);
        let json = serde_json::to_string(&trail).unwrap();
        assert_eq!(
            json,
            r#"{"d":"2026-01-01","g":[1,8,1],"s":[12,53,35,-100],"b":"amha"}"#
        );
        let back: ScoreTrail = serde_json::from_str(&json).unwrap();
        assert_eq!(back, trail);
        let empty: ScoreTrail = serde_json::from_str("{}").unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn a_damaged_stored_trail_is_refused() {
        for bad in [
            r#"{"d":"2026-01-01","g":[],"s":[50,10],"b":"mm"}"#,
            r#"{"d":"2026-01-01","g":[0],"s":[50,10],"b":"mm"}"#,
            r#"{"d":"2026-01-01","g":[],"s":[50],"b":"x"}"#,
            r#"{"g":[],"s":[50],"b":"m"}"#,
            r#"{"d":"2026-01-01","g":[1],"s":[90,20],"b":"hh"}"#,
            r#"{"d":"2026-01-01","g":[1],"s":[10,-20],"b":"aa"}"#,
        ] {
            assert!(serde_json::from_str::<ScoreTrail>(bad).is_err(), "{bad}");
        }
    }
}
