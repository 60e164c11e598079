//! Parallel states: every branch runs as a concurrent future on the same task, with its own
//! variable scope; the first failure aborts the branches still running.

use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::Value;

use super::super::definition::Parallel;
use super::super::history::EventType;
use super::super::template::Vars;
use super::failure::Failure;
use super::recorder::Thread;
use super::scope::Scope;

impl<'s> Scope<'s> {
    pub(crate) async fn parallel_attempt(
        &self,
        p: &Parallel,
        th: &mut Thread,
    ) -> Result<Value, Failure> {
        let input = match &p.arguments {
            Some(a) => self.ata(a)?,
            None => self.template_or_input(p.parameters.as_ref())?,
        };
        let run = self.run;
        let vars = self.vars;
        let started = run
            .rec
            .record(th, EventType::ParallelStateStarted, || Value::Null);
        let mut pending: Vec<u64> = Vec::with_capacity(p.branches.len());
        let mut running = FuturesUnordered::new();
        for (i, branch) in p.branches.iter().enumerate() {
            let tid = run.rec.new_thread(th.id);
            pending.push(tid);
            let input = input.clone();
            running.push(async move {
                let mut t = Thread {
                    id: tid,
                    last: started,
                };
                let mut scope = Vars::child(vars);
                let r = run.run_machine(branch, input, &mut scope, &mut t).await;
                (i, tid, t.last, r)
            });
        }
        let mut results = vec![Value::Null; p.branches.len()];
        let mut failure = None;
        let mut last = started;
        while let Some((i, tid, branch_last, r)) = running.next().await {
            pending.retain(|t| *t != tid);
            last = last.max(branch_last);
            match r {
                Ok(v) => results[i] = v,
                Err(f) => {
                    failure = Some(f);
                    break;
                }
            }
        }
        drop(running);
        th.last = last;
        if let Some(f) = failure {
            run.rec.abort_threads(&pending);
            run.rec
                .record(th, EventType::ParallelStateFailed, || Value::Null);
            return Err(f);
        }
        run.rec
            .record(th, EventType::ParallelStateSucceeded, || Value::Null);
        Ok(Value::Array(results))
    }
}
