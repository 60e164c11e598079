//! Map states (inline): the items, their ItemSelector inputs, iterations as concurrent
//! futures up to MaxConcurrency, and the tolerated-failure thresholds.

use std::collections::HashSet;

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::{json, Value};

use super::super::definition::{MapState, State};
use super::super::history::EventType;
use super::super::path::compact;
use super::super::template::Vars;
use super::failure::Failure;
use super::recorder::{OpenKind, Thread};
use super::scope::Scope;

/// An iteration that ended: its index, thread, MapIterationStarted event, last event and result.
struct IterationEnd {
    index: usize,
    tid: u64,
    it: u64,
    last: u64,
    result: Result<Value, Failure>,
}

/// When the iterations that failed fail the Map: ToleratedFailureCount / -Percentage.
struct Tolerance {
    count: Option<f64>,
    percentage: Option<f64>,
    total: usize,
}

impl Tolerance {
    fn tolerant(&self) -> bool {
        self.count.is_some() || self.percentage.is_some()
    }

    /// The failure that ends the Map after `failed` iterations failed, the last with `f`;
    /// `None` while the failures are tolerated.
    fn exceeded(&self, failed: usize, f: &Failure) -> Option<Failure> {
        let tolerant = self.tolerant();
        let exceeded = !tolerant
            || f.fatal
            || self.count.is_some_and(|c| failed as f64 > c)
            || self
                .percentage
                .is_some_and(|p| failed as f64 * 100.0 > p * self.total as f64);
        if !exceeded {
            return None;
        }
        Some(if tolerant && !f.fatal {
            Failure::new(
                "States.ExceedToleratedFailureThreshold",
                format!(
                    "The specified tolerated failure threshold was exceeded: {failed} of {} items failed",
                    self.total
                ),
            )
        } else {
            f.clone()
        })
    }
}

impl<'s> Scope<'s> {
    pub(crate) async fn map_attempt(
        &self,
        m: &MapState,
        state: &State,
        th: &mut Thread,
    ) -> Result<Value, Failure> {
        if let Some(feature) = m.unsupported.first() {
            return Err(Failure::runtime(format!(
                "{feature} (distributed Map) is not supported by the local engine"
            )));
        }
        let items = if state.jsonata {
            self.ata_items(m.items.as_ref())?
        } else {
            self.map_items(m)?
        };
        let concurrency = self
            .amount(m.max_concurrency.as_ref(), "MaxConcurrencyPath")?
            .map(|n| n as usize)
            .filter(|n| *n > 0)
            .unwrap_or(usize::MAX);
        let tolerance = Tolerance {
            percentage: self.amount(
                m.tolerated_percentage.as_ref(),
                "ToleratedFailurePercentagePath",
            )?,
            count: self.amount(m.tolerated_count.as_ref(), "ToleratedFailureCountPath")?,
            total: items.len(),
        };
        let total = items.len();
        let started =
            self.run
                .rec
                .record(th, EventType::MapStateStarted, || json!({"length": total}));
        let inputs = self.iteration_inputs(m, &items)?;
        drop(items);
        let (last, failure, live, results) = self
            .run_iterations(m, state, inputs, concurrency, &tolerance, th.id, started)
            .await;
        th.last = last;
        if let Some(f) = failure {
            self.run.rec.abort_threads(&live);
            self.run
                .rec
                .record(th, EventType::MapStateFailed, || Value::Null);
            return Err(f);
        }
        self.run
            .rec
            .record(th, EventType::MapStateSucceeded, || Value::Null);
        Ok(Value::Array(results))
    }

    /// The array the Map iterates over: ItemsPath, or `$`.
    fn map_items(&self, m: &MapState) -> Result<Vec<Value>, Failure> {
        let items = match &m.items_path {
            Some(p) => self.resolve(p)?,
            None => self.input.clone(),
        };
        match items {
            Value::Array(items) => Ok(items),
            other => Err(Failure::runtime(format!(
                "Items of the Map state must be a JSON array, got {}",
                compact(&other)
            ))),
        }
    }

    /// Iteration inputs: ItemSelector (or legacy Parameters) with $$.Map.Item.
    fn iteration_inputs(&self, m: &MapState, items: &[Value]) -> Result<Vec<Value>, Failure> {
        let mut inputs = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let input = match (&m.item_selector, &m.ata_selector) {
                (Some(t), _) => self.item_selector(t, index, item)?,
                (None, Some(t)) => self.ata_item(t, index, item)?,
                (None, None) => item.clone(),
            };
            if m.item_selector.is_some() || m.ata_selector.is_some() {
                self.run.ex.limits.check_payload(&self.state.name, &input)?;
            }
            inputs.push(input);
        }
        Ok(inputs)
    }

    /// Starts iteration `index` on a thread of its own: its MapIterationStarted event, and the
    /// future that runs the ItemProcessor on `input`.
    fn launch(
        &self,
        m: &'s MapState,
        state: &'s State,
        parent: u64,
        started: u64,
        index: usize,
        input: Value,
    ) -> (u64, BoxFuture<'s, IterationEnd>) {
        let run = self.run;
        let vars = self.vars;
        let tid = run.rec.new_thread(parent);
        let it = run.rec.record_at(
            EventType::MapIterationStarted,
            started,
            || json!({"index": index, "name": state.name}),
        );
        let kind = OpenKind::Iteration {
            name: state.name.to_string(),
            index,
        };
        run.rec.open(tid, kind, it);
        let fut = async move {
            let mut t = Thread { id: tid, last: it };
            let mut scope = Vars::child(vars);
            let r = run
                .run_machine(&m.processor, input, &mut scope, &mut t)
                .await;
            IterationEnd {
                index,
                tid,
                it,
                last: t.last,
                result: r,
            }
        };
        (tid, Box::pin(fut))
    }

    /// Runs the iterations, at most `concurrency` at a time. Returns the last event, the
    /// failure that ended the Map (if any), the iterations still running then, and the
    /// results by index.
    #[allow(clippy::too_many_arguments)]
    async fn run_iterations(
        &self,
        m: &MapState,
        state: &State,
        inputs: Vec<Value>,
        concurrency: usize,
        tolerance: &Tolerance,
        parent: u64,
        started: u64,
    ) -> (u64, Option<Failure>, Vec<u64>, Vec<Value>) {
        let run = self.run;
        let total = inputs.len();
        let mut results = vec![Value::Null; total];
        let mut queue = inputs.into_iter().enumerate();
        let mut running = FuturesUnordered::new();
        // Iterations still running, by thread id.
        let mut live: HashSet<u64> = HashSet::new();
        let mut failed = 0usize;
        let mut failure: Option<Failure> = None;
        let mut last = started;
        let launch =
            |index: usize, input: Value| self.launch(m, state, parent, started, index, input);
        loop {
            // Up to MaxConcurrency iterations run at once; a finished one makes room for the next.
            while running.len() < concurrency {
                let Some((i, input)) = queue.next() else {
                    break;
                };
                let (tid, fut) = launch(i, input);
                live.insert(tid);
                running.push(fut);
            }
            let Some(IterationEnd {
                index,
                tid,
                it,
                last: it_last,
                result: r,
            }) = running.next().await
            else {
                break;
            };
            live.remove(&tid);
            run.rec.close(it);
            let ended = match &r {
                Ok(_) => EventType::MapIterationSucceeded,
                Err(_) => EventType::MapIterationFailed,
            };
            last = run.rec.record_at(
                ended,
                it_last,
                || json!({"index": index, "name": state.name}),
            );
            match r {
                Ok(v) => results[index] = v,
                Err(f) => {
                    failed += 1;
                    if let Some(end) = tolerance.exceeded(failed, &f) {
                        failure = Some(end);
                        break;
                    }
                    results[index] = json!({"Error": f.error, "Cause": f.cause});
                }
            }
        }
        // Thread ids ascend in launch order: abort the iterations in the order they started.
        let mut live: Vec<u64> = live.into_iter().collect();
        live.sort_unstable();
        (last, failure, live, results)
    }
}
