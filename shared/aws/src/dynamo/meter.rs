//! Counting what DynamoDB bills: requests, read units and write units, as DynamoDB reports them
//! (`ReturnConsumedCapacity::Total`). Attached to a store only when measuring (benchmarks, the
//! cost figures in docs/architecture.md); otherwise no capacity is requested.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::types::ConsumedCapacity;

/// Totals since creation (or the last [`CapacityMeter::take`]). Units are kept in thousandths
/// so atomics can add them.
#[derive(Debug, Default)]
pub struct CapacityMeter {
    requests: AtomicU64,
    read_milli: AtomicU64,
    write_milli: AtomicU64,
}

/// A snapshot of a meter.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Capacity {
    pub requests: u64,
    pub read_units: f64,
    pub write_units: f64,
}

impl CapacityMeter {
    pub(crate) fn record_read(&self, consumed: Option<&ConsumedCapacity>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.read_milli
            .fetch_add(milli(consumed), Ordering::Relaxed);
    }

    pub(crate) fn record_write(&self, consumed: Option<&ConsumedCapacity>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.write_milli
            .fetch_add(milli(consumed), Ordering::Relaxed);
    }

    pub(crate) fn record_writes(&self, consumed: &[ConsumedCapacity]) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let total: u64 = consumed.iter().map(|c| milli(Some(c))).sum();
        self.write_milli.fetch_add(total, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Capacity {
        Capacity {
            requests: self.requests.load(Ordering::Relaxed),
            read_units: self.read_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            write_units: self.write_milli.load(Ordering::Relaxed) as f64 / 1000.0,
        }
    }

    /// The totals so far, resetting the meter.
    pub fn take(&self) -> Capacity {
        Capacity {
            requests: self.requests.swap(0, Ordering::Relaxed),
            read_units: self.read_milli.swap(0, Ordering::Relaxed) as f64 / 1000.0,
            write_units: self.write_milli.swap(0, Ordering::Relaxed) as f64 / 1000.0,
        }
    }
}

fn milli(consumed: Option<&ConsumedCapacity>) -> u64 {
    consumed
        .and_then(ConsumedCapacity::capacity_units)
        .map_or(0, |u| (u * 1000.0).round() as u64)
}
