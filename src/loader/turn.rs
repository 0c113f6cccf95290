//! A turnstile: batches pass a point (taking in-flight bytes, taking a ring slot) one at a time, in batch
//! order, so a later batch never holds what an earlier one waits for.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::watch;

/// The gate: the index of the next batch to pass, and those that passed (or gave up) out of order.
#[derive(Debug)]
pub(crate) struct Turnstile(watch::Sender<(u64, BTreeSet<u64>)>);

impl Turnstile {
    /// A gate where batch 0 goes first.
    pub(crate) fn new() -> Arc<Turnstile> {
        Arc::new(Turnstile(watch::Sender::new((0, BTreeSet::new()))))
    }

    /// Batch `index`'s place in line.
    pub(crate) fn ticket(self: &Arc<Self>, index: u64) -> Turn {
        Turn {
            gate: self.clone(),
            index,
        }
    }
}

/// One batch's place in line; dropping it lets the next batch through (also when the batch gives up).
#[derive(Debug)]
pub(crate) struct Turn {
    gate: Arc<Turnstile>,
    index: u64,
}

impl Turn {
    /// Wait until every earlier batch has passed.
    pub(crate) async fn wait(&self) {
        let mut rx = self.gate.0.subscribe();
        // The sender lives in `self.gate`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|(next, _)| *next >= self.index).await;
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let index = self.index;
        self.gate.0.send_modify(|(next, passed)| {
            passed.insert(index);
            while passed.remove(next) {
                *next += 1;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn batches_pass_in_order_whatever_order_they_arrive() {
        let gate = Turnstile::new();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for index in [3u64, 1, 4, 0, 2] {
            let (turn, order) = (gate.ticket(index), order.clone());
            tasks.push(tokio::spawn(async move {
                turn.wait().await;
                order.lock().unwrap().push(index);
                drop(turn);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_batch_that_gives_up_early_lets_the_next_through() {
        let gate = Turnstile::new();
        let (zero, one) = (gate.ticket(0), gate.ticket(1));
        drop(one);
        let two = gate.ticket(2);
        drop(zero);
        tokio::time::timeout(std::time::Duration::from_secs(5), two.wait())
            .await
            .expect("batch 2 passes once 0 and 1 are gone");
    }
}
