//! Encoding and decoding many rows on every core: a daily run reads and writes every account's
//! columns, and turning records into bytes and back is most of that work (the SQLite part is
//! done once on the connection's thread).

use std::num::NonZeroUsize;

/// Below this many items a second thread costs more than it saves.
const MIN_PER_THREAD: usize = 64;

/// `f` of each item, in order, the items split across the machine's cores (scoped threads:
/// no copy of the items); the first error wins.
pub(crate) fn map<T, U, E, F>(items: &[T], f: F) -> Result<Vec<U>, E>
where
    T: Sync,
    U: Send,
    E: Send,
    F: Fn(&T) -> Result<U, E> + Sync,
{
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = cores.min(items.len() / MIN_PER_THREAD).max(1);
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let per_thread = items.len().div_ceil(threads);
    let f = &f;
    let parts: Vec<Result<Vec<U>, E>> = std::thread::scope(|scope| {
        let mut parts = items.chunks(per_thread);
        // This thread takes the first part while the others take the rest.
        let first = parts.next().unwrap_or_default();
        let others: Vec<_> = parts
            .map(|part| scope.spawn(move || part.iter().map(f).collect()))
            .collect();
        let mut results = vec![first.iter().map(f).collect()];
        for other in others {
            // A panic in `f` is a bug: carry it to the caller as if `f` ran here.
            results.push(
                other
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            );
        }
        results
    });
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_keep_their_order_and_the_first_error_wins() {
        let items: Vec<u32> = (0..1000).collect();
        let doubled: Result<Vec<u32>, String> = map(&items, |n| Ok(n * 2));
        assert_eq!(doubled, Ok((0..1000).map(|n| n * 2).collect()));
        let failed: Result<Vec<u32>, String> = map(&items, |n| {
            if n % 300 == 299 {
                Err(format!("{n}"))
            } else {
                Ok(*n)
            }
        });
        assert_eq!(failed, Err("299".to_string()));
        let few: Result<Vec<u32>, String> = map(&items[..3], |n| Ok(n + 1));
        assert_eq!(few, Ok(vec![1, 2, 3]));
    }
}
