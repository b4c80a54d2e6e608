//! Property: for random interleavings of keys, lanes and outcomes, the memory backend runs each
//! key's jobs one at a time, in enqueue order, whatever the runner's concurrency.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use proptest::prelude::*;
use workers::{Broker, Clock, Job, Lane, MemoryBroker, NewJob, Outcome, QueueConfig, Runner};

fn run_case(jobs: Vec<(u8, u8)>, concurrency: usize) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let broker = MemoryBroker::new(QueueConfig::default(), Clock::manual(crate::support::T0));
        let mut expected: HashMap<String, Vec<usize>> = HashMap::new();
        let mut batch = Vec::new();
        for (i, (key, lane)) in jobs.iter().enumerate() {
            let key = format!("k{key}");
            expected.entry(key.clone()).or_default().push(i);
            batch.push(NewJob::new(
                "p",
                Lane::ALL[*lane as usize % 3],
                key,
                i.to_string(),
            ));
        }
        broker.enqueue_many(batch).await.unwrap();
        let busy: Arc<Mutex<HashMap<String, bool>>> = Arc::default();
        let log: Arc<Mutex<HashMap<String, Vec<usize>>>> = Arc::default();
        let overlap = Arc::new(Mutex::new(false));
        let (b, l, o) = (busy.clone(), log.clone(), overlap.clone());
        let runner = Runner::new(broker, move |job: Job| {
            let (busy, log, overlap) = (b.clone(), l.clone(), o.clone());
            async move {
                if busy.lock().unwrap().insert(job.key.clone(), true) == Some(true) {
                    *overlap.lock().unwrap() = true;
                }
                tokio::task::yield_now().await;
                let seq: usize = String::from_utf8(job.payload).unwrap().parse().unwrap();
                log.lock().unwrap().entry(job.key.clone()).or_default().push(seq);
                busy.lock().unwrap().insert(job.key, false);
                Outcome::Done
            }
        })
        .concurrency(concurrency);
        runner.run_pending().await.unwrap();
        prop_assert!(!*overlap.lock().unwrap(), "two jobs of one key overlapped");
        prop_assert_eq!(&*log.lock().unwrap(), &expected);
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn each_key_runs_in_enqueue_order_one_at_a_time(
        jobs in prop::collection::vec((0u8..12, 0u8..3), 1..300),
        concurrency in 1usize..16,
    ) {
        run_case(jobs, concurrency)?;
    }
}
