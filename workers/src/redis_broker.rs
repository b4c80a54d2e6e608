//! The skeleton Redis broker: one list per lane, dedupe by explicit id.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::AsyncCommands;

use crate::{BrokerError, Enqueued, Job, Lane, NewJob, Outcome};

/// How long an explicit job id is remembered for deduplication.
const DEDUPE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// A broker on Redis, with every key under `prefix`.
#[derive(Clone)]
pub struct RedisBroker {
    client: redis::Client,
    conn: redis::aio::MultiplexedConnection,
    prefix: String,
}

impl RedisBroker {
    /// Connects to Redis at `url`; every key lives under `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, BrokerError> {
        let client = redis::Client::open(url)?;
        let conn = client.get_multiplexed_async_connection().await?;
        Ok(Self {
            client,
            conn,
            prefix: prefix.to_owned(),
        })
    }

    fn lane_key(&self, lane: Lane) -> String {
        format!("{}:lane:{}", self.prefix, lane)
    }

    /// Queues a job. An explicit id seen within the dedupe window is reported as a duplicate.
    pub async fn enqueue(&self, job: NewJob) -> Result<Enqueued, BrokerError> {
        let mut conn = self.conn.clone();
        let id = match job.id {
            Some(id) => {
                let fresh: bool = redis::cmd("SET")
                    .arg(format!("{}:seen:{id}", self.prefix))
                    .arg(1)
                    .arg("NX")
                    .arg("EX")
                    .arg(DEDUPE_WINDOW.as_secs())
                    .query_async::<Option<String>>(&mut conn)
                    .await?
                    .is_some();
                if !fresh {
                    return Ok(Enqueued::Duplicate);
                }
                id
            }
            None => {
                let n: u64 = conn.incr(format!("{}:seq", self.prefix), 1).await?;
                n.to_string()
            }
        };
        let record = Job {
            id: id.clone(),
            kind: job.kind,
            lane: job.lane,
            key: job.key,
            payload: job.payload,
            attempts: 0,
            enqueued_at_ms: now_ms(),
        };
        let body = serde_json::to_vec(&record).map_err(|e| BrokerError::Corrupt(e.to_string()))?;
        let _: () = conn.lpush(self.lane_key(job.lane), body).await?;
        Ok(Enqueued::Queued(id))
    }

    /// Takes the next job, highest lane first, waiting up to `wait` for one to arrive.
    pub async fn lease(&self, wait: Duration) -> Result<Option<Job>, BrokerError> {
        // A blocking read needs its own connection: redis 1.x cuts multiplexed responses at 500 ms.
        let mut conn = self
            .client
            .get_multiplexed_async_connection_with_config(
                &redis::AsyncConnectionConfig::new()
                    .set_response_timeout(Some(wait + Duration::from_secs(5))),
            )
            .await?;
        let keys: Vec<String> = Lane::ALL.iter().map(|l| self.lane_key(*l)).collect();
        let popped: Option<(String, Vec<u8>)> = conn.brpop(keys, wait.as_secs_f64()).await?;
        popped
            .map(|(_, body)| {
                let mut job: Job =
                    serde_json::from_slice(&body).map_err(|e| BrokerError::Corrupt(e.to_string()))?;
                job.attempts += 1;
                Ok(job)
            })
            .transpose()
    }

    /// Records how a job ended.
    pub async fn finish(&self, _job: &Job, _outcome: Outcome) -> Result<(), BrokerError> {
        Ok(())
    }

    /// Number of jobs waiting in `lane`.
    pub async fn depth(&self, lane: Lane) -> Result<u64, BrokerError> {
        let mut conn = self.conn.clone();
        Ok(conn.llen(self.lane_key(lane)).await?)
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
