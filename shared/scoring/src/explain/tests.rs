use super::*;
use crate::{Band, SignalScore};

fn signal(name: &str, raw: f64, points: f64) -> SignalScore {
    SignalScore {
        name: name.into(),
        raw: Some(raw),
        value: Some(points),
        weight: 1.0,
        points,
    }
}

fn health(score: f64, signals: Vec<SignalScore>) -> HealthScore {
    HealthScore {
        score,
        band: Band::Monitor,
        confidence: 1.0,
        scorecard: "default".into(),
        signals,
    }
}

#[test]
fn names_the_biggest_movers_first_in_a_sentence() {
    let before = health(
        70.0,
        vec![
            signal("seat_adoption", 0.41, 30.0),
            signal("usage_depth", 20.0, 25.0),
            signal("contract", 200.0, 15.0),
        ],
    );
    let after = health(
        52.0,
        vec![
            signal("seat_adoption", 0.22, 16.0),
            signal("usage_depth", 15.0, 21.0),
            signal("contract", 199.0, 15.0),
        ],
    );
    let c = diff(&before, &after);
    assert_eq!(c.delta, -18.0);
    let names: Vec<&str> = c.movers.iter().map(|m| &*m.name).collect();
    assert_eq!(names, vec!["seat_adoption", "usage_depth"]);
    assert_eq!(c.movers[0].points_delta, -14.0);
    assert_eq!((c.movers[0].from, c.movers[0].to), (Some(0.41), Some(0.22)));
    assert_eq!(
        c.sentence(),
        "score fell 18: seat adoption 41% → 22%, usage depth 20 active days → 15 active days"
    );
}

#[test]
fn keeps_at_most_three_movers() {
    let names = [
        "usage_depth",
        "breadth",
        "seat_adoption",
        "trend",
        "sentiment",
    ];
    let before = health(50.0, names.iter().map(|n| signal(n, 1.0, 10.0)).collect());
    let after = health(
        80.0,
        names
            .iter()
            .enumerate()
            .map(|(i, n)| signal(n, 2.0, 10.0 + i as f64 + 1.0))
            .collect(),
    );
    let c = diff(&before, &after);
    assert_eq!(c.movers.len(), MAX_MOVERS);
    assert_eq!(c.movers[0].name, "sentiment");
    assert!(c.sentence().starts_with("score rose 30: sentiment"));
}

#[test]
fn a_signal_that_lost_its_data_is_a_mover() {
    let before = health(60.0, vec![signal("sentiment", 80.0, 8.0)]);
    let mut gone = signal("sentiment", 0.0, 0.0);
    gone.raw = None;
    let after = health(55.0, vec![gone]);
    let c = diff(&before, &after);
    assert_eq!(c.movers[0].to, None);
    assert_eq!(c.sentence(), "score fell 5: sentiment 80/100 → no data");
}

#[test]
fn an_unchanged_score_says_so_and_notes_a_scorecard_change() {
    let before = health(60.0, vec![]);
    let mut after = health(60.0, vec![]);
    after.scorecard = "enterprise".into();
    let c = diff(&before, &after);
    assert_eq!(
        c.sentence(),
        "score unchanged at 60 (scorecard was default)"
    );
}

#[test]
fn small_changes_read_with_one_decimal() {
    let c = diff(&health(60.0, vec![]), &health(59.6, vec![]));
    assert_eq!(c.sentence(), "score fell 0.4");
}

#[test]
fn a_measure_that_held_while_its_peers_moved_says_so_instead_of_30_to_30() {
    let before = health(60.0, vec![signal("usage_depth", 30.0, 20.0)]);
    let after = health(55.0, vec![signal("usage_depth", 30.0, 15.0)]);
    assert_eq!(
        diff(&before, &after).sentence(),
        "score fell 5: usage depth unchanged at 30 active days but lower against peers (-5.0 points)"
    );
}
