//! `vitals calibrate`: learns a scorecard from the outcomes of a date range (groups of usage
//! features weighed by how much they moved churn) and shows the backtest of the current
//! configuration against the proposal side by side. Nothing is written unless `--apply` is
//! given; then the proposal becomes the next configuration version, as `vitals config apply`
//! would store it (who, when, what changed), and `vitals score --from --to --rescore`
//! recomputes past days with it.

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::Args;
use vitals_core::backtest::{BacktestReport, RankingReport, HEALTH_SCORE, PERIOD_ALL, PERIOD_TEST};
use vitals_core::calibrate::{apply_proposal, calibrate_weights, CalibrationReport};
use vitals_core::clock::SystemClock;
use vitals_core::config::ApplyError;

use crate::backtest_cmd::{fmt, lead, EvaluationArgs};
use crate::context::Context;

#[derive(Debug, Clone, Args)]
#[command(
    about = "Learn a scorecard from churn outcomes, with the backtest of current vs proposed"
)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub evaluation: EvaluationArgs,
    /// Store the proposed scorecard as a new configuration version.
    #[arg(long)]
    pub apply: bool,
    /// Who applies it (default: $USER).
    #[arg(long, requires = "apply")]
    pub author: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(ctx: &Context, args: &CalibrateArgs) -> anyhow::Result<()> {
    let storage = ctx.backend.storage.as_ref();
    let opts = args.evaluation.options(&ctx.config);
    let report = calibrate_weights(storage, &ctx.config, &opts)
        .await
        .context("calibration failed")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    if !args.apply {
        if !args.json {
            println!("\nNothing written. Run again with --apply to store this scorecard as a new configuration version, then `vitals score --from D1 --to D2 --rescore` to recompute past days with it.");
        }
        return Ok(());
    }
    let author = args
        .author
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into());
    match apply_proposal(storage, &SystemClock, &report, &author).await {
        Ok(v) => eprintln!(
            "Applied the learned scorecard as configuration version {} ({}) by {}; `vitals score --from D1 --to D2 --rescore` recomputes past days with it",
            v.version, v.summary, v.author
        ),
        Err(ApplyError::Unchanged(v)) => {
            eprintln!("Nothing to apply: the proposal is identical to version {v}")
        }
        Err(e) => return Err(anyhow::Error::new(e).context("cannot apply the proposed scorecard")),
    }
    Ok(())
}

/// One figure of the health score's ranking, current vs proposed.
fn side_by_side(
    out: &mut String,
    name: &str,
    current: &BacktestReport,
    proposed: &BacktestReport,
    period: &str,
) {
    let pick = |r: &BacktestReport| r.ranking(HEALTH_SCORE, period).cloned();
    let (c, p) = (pick(current), pick(proposed));
    let row = |label: &str, f: &dyn Fn(&RankingReport) -> String| {
        format!(
            "  {label:<22} {:>12} {:>12}\n",
            c.as_ref().map_or("-".into(), f),
            p.as_ref().map_or("-".into(), f)
        )
    };
    out.push_str(&format!("{name}\n"));
    out.push_str(&format!(
        "  {:<22} {:>12} {:>12}\n",
        "", "current", "proposed"
    ));
    out.push_str(&row("ROC-AUC", &|r| fmt(r.roc_auc, 3)));
    out.push_str(&row("PR-AUC", &|r| fmt(r.pr_auc, 3)));
    out.push_str(&row("top-decile lift", &|r| fmt(r.top_decile_lift, 2)));
    out.push_str(&row(&format!("precision@{}", current.alert_k), &|r| {
        fmt(r.precision_at_k, 2)
    }));
    out.push_str(&format!(
        "  {:<22} {:>12} {:>12}\n",
        "lead (median, warned)",
        lead(c.as_ref()),
        lead(p.as_ref())
    ));
}

/// The text report.
pub fn render(report: &CalibrationReport) -> String {
    let mut out = String::new();
    let r = &report.current;
    out.push_str(&format!(
        "Calibration {}..{}, horizon {} days: {} accounts, {} churned within a horizon\n",
        r.from, r.to, r.horizon_days, r.accounts, r.churned_accounts
    ));
    let span = |days: &[NaiveDate]| match (days.first(), days.last()) {
        (Some(a), Some(b)) => format!("{a}..{b}"),
        _ => "none".to_string(),
    };
    out.push_str(&format!(
        "Scorecard fitted on {} ({} samples, {} churning, {} with usage features), compared on \
         every day and on the held-out days {}\n\n",
        span(&r.train_days),
        report.training_samples,
        report.training_positives,
        report.training_with_usage,
        span(&r.test_days)
    ));
    if report.training_positives == 0 {
        out.push_str("No churn among the training samples: nothing to learn from.\n\n");
    } else if report.signals.is_empty() {
        out.push_str(
            "No usage feature ranked the churns on the later training days better than the \
             base rate: nothing to propose.\n\n",
        );
    } else {
        if let Some(reason) = report.selection.as_ref().and_then(|s| s.fallback.as_ref()) {
            out.push_str(&format!(
                "Penalty not chosen on later days ({reason}): a fixed ridge penalty was used; \
                 a longer range gives the scorecard days to be checked on\n"
            ));
        } else if let Some(chosen) = report.selection.as_ref().and_then(|s| s.chosen.as_ref()) {
            out.push_str(&format!(
                "Penalty chosen on the later training days: λ {:.4}, {:.0} % L1 \
                 (validation ROC-AUC {}); signals it zeroed are left out\n",
                chosen.lambda,
                chosen.l1_ratio * 100.0,
                fmt(chosen.roc_auc, 3)
            ));
        }
        out.push_str(&format!(
            "  {:<60} {:>8} {:>14}\n",
            "signal (correlated features together)", "weight", "points 15-85%"
        ));
        for s in &report.signals {
            out.push_str(&format!(
                "  {:<60} {:>8.3} {:>14.1}\n",
                truncate(&s.name, 60),
                s.weight,
                s.points_spread
            ));
        }
        out.push('\n');
    }
    side_by_side(
        &mut out,
        "health score, every evaluation day",
        &report.current,
        &report.proposed,
        PERIOD_ALL,
    );
    side_by_side(
        &mut out,
        "health score, held-out days (not used to fit the proposal)",
        &report.current,
        &report.proposed,
        PERIOD_TEST,
    );
    if !report.changes_anything() {
        out.push_str("\nThe proposal keeps the current configuration.\n");
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}
