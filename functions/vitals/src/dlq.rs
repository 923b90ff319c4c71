//! `vitals dlq`: list and replay the alert dead-letter queue, on the embedded queue or on SQS
//! (`--backend dynamodb`).

use clap::{Args, Subcommand};

use crate::context::Context;

#[derive(Debug, Clone, Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    pub command: DlqCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum DlqCommand {
    /// Show dead letters (id, attempts, what they are about) without removing them.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        max: u32,
        /// Print the message bodies as JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Move dead letters back to the alert queue with a fresh attempt count.
    Replay {
        /// At most this many.
        #[arg(long, default_value_t = 1000)]
        max: u32,
    },
}

pub async fn run(ctx: &Context, args: &DlqArgs) -> anyhow::Result<()> {
    let queue = ctx.backend.alert_queue.as_ref();
    match args.command {
        DlqCommand::List { max, json } => {
            let letters = queue.dead_letters(max).await?;
            if json {
                for m in &letters {
                    println!("{}", m.body);
                }
                return Ok(());
            }
            if letters.is_empty() {
                println!("The alert dead-letter queue is empty.");
                return Ok(());
            }
            println!("{:<60} {:>8}  about", "id", "attempts");
            for m in &letters {
                println!("{:<60} {:>8}  {}", m.id, m.receive_count, about(&m.body));
            }
            println!(
                "{} dead letter(s). Fix the cause (channel URL, secret, receiver), then run `vitals dlq replay`.",
                letters.len()
            );
        }
        DlqCommand::Replay { max } => {
            let moved = queue.replay_dead_letters(max).await?;
            println!("Replayed {moved} dead letter(s) to the alert queue.");
        }
    }
    Ok(())
}

/// A one-line description of a message body.
fn about(body: &str) -> String {
    match vitals_core::alerts::dispatch::DispatchMessage::parse(body) {
        Ok(vitals_core::alerts::dispatch::DispatchMessage::Score(e)) => {
            format!("{} {} {}", e.as_of, e.kind.as_str(), e.account_id)
        }
        Ok(vitals_core::alerts::dispatch::DispatchMessage::FollowUp(f)) => {
            format!("follow-up {}", f.intervention_id)
        }
        Ok(vitals_core::alerts::dispatch::DispatchMessage::SnoozeEnded(s)) => {
            format!("snooze ended {}", s.alert_id)
        }
        Err(e) => format!("unreadable: {e}"),
    }
}
