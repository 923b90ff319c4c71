//! `vitals backtest`: how well the health score, the churn model and a naive baseline predicted
//! the churns recorded in a date range, from the stored score history (what the daily run
//! computed each day from the events up to that day) and the accounts' outcomes.

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::Args;
use vitals_core::backtest::{
    run_backtest, BacktestOptions, BacktestReport, Observe, RankingReport, DEFAULT_HORIZON_DAYS,
};

use vitals_core::config::VitalsConfig;

use crate::context::Context;

/// The summary key the dashboard's "churn prediction accuracy" KPI reads.
const ACCURACY_KEY: &str = "churn_prediction_accuracy";

#[derive(Debug, Clone, Args)]
#[command(
    about = "Backtest churn prediction: the health score, a churn model and a baseline over a range"
)]
pub struct BacktestArgs {
    #[command(flatten)]
    pub evaluation: EvaluationArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Do not store the health score's ROC-AUC in the latest portfolio summary.
    #[arg(long)]
    pub no_store: bool,
}

/// How a range is evaluated, the same for `backtest` and `calibrate`.
#[derive(Debug, Clone, Args)]
pub struct EvaluationArgs {
    /// First evaluation day.
    #[arg(long)]
    pub from: NaiveDate,
    /// The last day whose outcomes are known (inclusive): nothing dated after it is read;
    /// evaluation days stop a horizon before it.
    #[arg(long)]
    pub to: NaiveDate,
    /// Prediction horizon, e.g. 90d (or a number of days); default: `[churn] horizon_days`
    /// of the configuration (90 days unless set).
    #[arg(long, value_parser = parse_days)]
    pub horizon: Option<u32>,
    /// Days between evaluation days.
    #[arg(long, default_value_t = 7)]
    pub step: u32,
    /// When each account is observed: every evaluation day, or each monthly anniversary of its
    /// start (the design of *Fighting Churn With Data*).
    #[arg(long, value_enum, default_value_t = ObserveArg::EveryStep)]
    pub observe: ObserveArg,
    /// Alert budget for precision@k: accounts worked per evaluation day.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
}

impl EvaluationArgs {
    /// The backtest options of these flags and the configuration's defaults.
    pub fn options(&self, config: &VitalsConfig) -> BacktestOptions {
        let mut opts = BacktestOptions::new(self.from, self.to);
        opts.horizon_days = self.horizon.unwrap_or(config.churn.horizon_days);
        opts.step_days = self.step.max(1);
        opts.alert_k = self.k.max(1);
        opts.observe = self.observe.into();
        opts.max_event_types = config.scoring.max_event_types;
        opts
    }
}

/// `--observe`: when each account is observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ObserveArg {
    EveryStep,
    Monthly,
}

impl From<ObserveArg> for Observe {
    fn from(o: ObserveArg) -> Observe {
        match o {
            ObserveArg::EveryStep => Observe::EveryStep,
            ObserveArg::Monthly => Observe::Monthly,
        }
    }
}

pub(crate) fn parse_days(s: &str) -> Result<u32, String> {
    let digits = s.strip_suffix('d').unwrap_or(s);
    match digits.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "invalid horizon `{s}`: use a number of days such as 90d (default {DEFAULT_HORIZON_DAYS}d)"
        )),
    }
}

pub async fn run(ctx: &Context, args: &BacktestArgs) -> anyhow::Result<()> {
    let storage = ctx.backend.storage.as_ref();
    let opts = args.evaluation.options(&ctx.config);
    let report = run_backtest(storage, &opts)
        .await
        .context("backtest failed")?;

    let stored = if args.no_store {
        None
    } else {
        store_accuracy(ctx, &report).await?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
        match stored {
            Some(day) => println!(
                "\nStored the health score's ROC-AUC as `{ACCURACY_KEY}` in the portfolio summary of {day}."
            ),
            None if !args.no_store => {
                println!("\nNothing stored: no portfolio summary yet, or no ROC-AUC (no churns).")
            }
            None => {}
        }
    }
    Ok(())
}

/// Adds the health score's ROC-AUC to the latest portfolio summary; answers its day.
async fn store_accuracy(
    ctx: &Context,
    report: &BacktestReport,
) -> anyhow::Result<Option<NaiveDate>> {
    let Some(auc) = report.health_roc_auc() else {
        return Ok(None);
    };
    let storage = ctx.backend.storage.as_ref();
    let Some(mut summary) = storage
        .latest_summary()
        .await
        .context("reading the latest portfolio summary")?
    else {
        return Ok(None);
    };
    summary
        .extra
        .insert(ACCURACY_KEY.to_string(), serde_json::json!(auc));
    storage
        .put_summary(&summary)
        .await
        .context("storing the portfolio summary")?;
    Ok(summary.as_of)
}

pub(crate) fn fmt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

/// The median days of warning and warned/churned accounts of a ranking ("-" without one).
pub(crate) fn lead(r: Option<&RankingReport>) -> String {
    match r {
        Some(r) => match r.median_lead_days {
            Some(d) => format!("{d:.0}d {}/{}", r.warned_churns, r.churns),
            None => format!("- {}/{}", r.warned_churns, r.churns),
        },
        None => "-".into(),
    }
}

fn row(r: &RankingReport) -> String {
    format!(
        "{:<20} {:<6} {:>7} {:>5} {:>7} {:>7} {:>6} {:>7} {:>6} {:>9}",
        r.ranking,
        r.period,
        r.samples,
        r.positives,
        fmt(r.roc_auc, 3),
        fmt(r.pr_auc, 3),
        fmt(r.top_decile_lift, 2),
        fmt(r.brier, 3),
        fmt(r.precision_at_k, 2),
        lead(Some(r)),
    )
}

/// The text table.
pub fn render(report: &BacktestReport) -> String {
    let mut out = String::new();
    let span = |days: &[NaiveDate]| match (days.first(), days.last()) {
        (Some(a), Some(b)) => format!("{a}..{b} ({} days)", days.len()),
        _ => "none".to_string(),
    };
    out.push_str(&format!(
        "Backtest {}..{}, horizon {} days, evaluated every {} days\n",
        report.from, report.to, report.horizon_days, report.step_days
    ));
    out.push_str(&format!(
        "{} accounts, {} churned within a horizon; model trained on {}, tested on {}\n\n",
        report.accounts,
        report.churned_accounts,
        span(&report.train_days),
        span(&report.test_days)
    ));
    out.push_str(&format!(
        "{:<20} {:<6} {:>7} {:>5} {:>7} {:>7} {:>6} {:>7} {:>6} {:>9}\n",
        "ranking",
        "period",
        "samples",
        "churn",
        "ROC-AUC",
        "PR-AUC",
        "lift10",
        "Brier",
        format!("P@{}", report.alert_k),
        "lead"
    ));
    for r in &report.rankings {
        out.push_str(&row(r));
        out.push('\n');
    }
    // The strongest standardised weights: what moves churn per typical difference.
    let mut weights = report.model.standardised_weights();
    weights.retain(|(_, w)| w.abs() > 1e-9);
    weights.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    let top: Vec<String> = weights
        .iter()
        .take(8)
        .map(|(f, w)| format!("{} {w:+.2}", vitals_scoring::labels::label(f)))
        .collect();
    out.push_str(&format!(
        "\nchurn model, strongest of {} non-zero weights (log-odds per standard deviation): {}\n",
        weights.len(),
        if top.is_empty() {
            "none (no training samples)".to_string()
        } else {
            top.join(", ")
        }
    ));
    if let Some(h) = report
        .rankings
        .iter()
        .find(|r| r.ranking == vitals_core::backtest::HEALTH_SCORE && r.period == "test")
    {
        let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.0}%", v * 100.0));
        out.push_str(&format!(
            "at-risk band on the test days: {} of its accounts churned within the horizon (precision), it held {} of the churners (recall)\n",
            pct(h.at_risk_precision),
            pct(h.at_risk_recall)
        ));
    }
    if !report.purged_days.is_empty() {
        out.push_str(&format!(
            "purged between training and test (their labels would look into the test days): {}\n",
            span(&report.purged_days)
        ));
    }
    out.push_str(
        "lead = median days of warning before churn: the first evaluation day in the horizon \
         before it that the ranking put the account in its riskiest decile; warned/churned accounts\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizon_parses_days() {
        assert_eq!(parse_days("90d"), Ok(90));
        assert_eq!(parse_days("30"), Ok(30));
        assert!(parse_days("0d").is_err());
        assert!(parse_days("3w").is_err());
    }
}
