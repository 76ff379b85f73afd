//! One execution in progress: the template every state runs through
//! (InputPath → Parameters → work → ResultSelector → ResultPath → OutputPath), with
//! Retry and Catch around the work, and the events it reports.

mod activity;

use super::context::{ExecutionContext, StateContext};
use super::{execution_arn, state_machine_arn, Outcome, Resume, Services, StartRequest, Status};
use crate::definition::model::*;
use crate::definition::Definition;
use crate::expr::jsonata::Prepared;
use crate::expr::jtemplate::JTemplate;
use crate::expr::template::compact;
use crate::expr::{ContextProvider, Env, EvalError};
use crate::failure::{names, Failure};
use crate::history::codec::DetailsWriter;
use crate::history::store::Memo;
use crate::history::{json_text, EventKind, MemoEntry};
use crate::resources::{resource_parts, TaskCall};
use crate::states;
use chrono::{DateTime, Utc};
use futures_util::stream::StreamExt;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The DISTRIBUTED Map (a Map Run of child executions), beside `run_map`.
#[path = "distributed.rs"]
mod distributed;

/// The internal marker of a stopped execution (never seen by a workflow).
const ABORTED: &str = "asl.Aborted";

/// Step Functions' payload quota: 256 KiB.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

enum Step {
    Next(usize, Value),
    End(Value),
}

pub(super) struct Run<'a> {
    def: &'a Definition,
    services: &'a Services,
    ctx: ExecutionContext,
    /// Whether state instances get keys (the history persists them, so a run can resume).
    durable: bool,
    resume: Option<Resume>,
    memo: Memo,
    /// While a Map or Parallel drops the work still in flight because an iteration or branch
    /// failed: the id of that failure's last event, which the aborted events point back to.
    cutting: std::cell::Cell<Option<u64>>,
    /// The last event of the chain that made the transition a deleted machine's execution
    /// fails at: its ExecutionFailed follows it, in whatever branch or iteration it was.
    doomed_at: std::cell::Cell<Option<u64>>,
    /// An EXPRESS execution, which runs five minutes at most.
    express: bool,
    /// The variables it starts with (TestState's `variables`; none for an execution).
    variables: serde_json::Map<String, Value>,
}

/// Records, when its work is dropped by a cut (see `Run::cutting`), what AWS records for work
/// cut short: `MapIterationAborted` for an iteration, `<Type>StateAborted` for a state. Work that
/// ends on its own, or is dropped for another reason (a stop, a time-out), records nothing.
struct AbortNotice<'r, 'a> {
    run: &'r Run<'a>,
    what: Aborted<'r>,
}

enum Aborted<'r> {
    State(&'static str),
    Iteration(&'r str, usize),
}

impl Drop for AbortNotice<'_, '_> {
    fn drop(&mut self) {
        let Some(mut p) = self.run.cutting.get() else {
            return;
        };
        match self.what {
            Aborted::State(state_type) => {
                self.run.emit(&mut p, || {
                    EventKind::other(format!("{state_type}StateAborted"))
                });
            }
            Aborted::Iteration(name, i) => {
                self.run.emit(&mut p, || {
                    EventKind::with_stored_details(
                        "MapIterationAborted",
                        "mapIterationAbortedEventDetails",
                        iteration_details(name, i),
                    )
                });
            }
        }
    }
}

impl<'a> Run<'a> {
    pub fn new(def: &'a Definition, req: StartRequest, services: &'a Services) -> Self {
        let mut resume = req.resume;
        let start_time = resume
            .as_ref()
            .map(|r| r.start_time)
            .or(req.start_time)
            .unwrap_or_else(|| services.clock.now());
        let memo = resume
            .as_mut()
            .map(|r| std::mem::take(&mut r.memo))
            .unwrap_or_default();
        let redrive_count = resume
            .as_ref()
            .map_or(0, |r| r.redrive_count.unwrap_or(r.redrives_before));
        let express = req.express_arn.is_some();
        let ctx = ExecutionContext {
            execution_arn: req
                .express_arn
                .unwrap_or_else(|| execution_arn(&req.state_machine_name, &req.execution_name)),
            execution_name: req.execution_name,
            input: req.input,
            role_arn: req
                .role_arn
                .unwrap_or_else(|| format!("arn:aws:iam::{}:role/asl-local", super::ACCOUNT)),
            start_time,
            redrive_count,
            redrive_time: resume.as_ref().and_then(|r| r.redrive_time),
            state_machine_arn: state_machine_arn(&req.state_machine_name),
            state_machine_name: req.state_machine_name,
            given: services.test_state.as_ref().and_then(|t| t.context.clone()),
        };
        Run {
            def,
            services,
            ctx,
            durable: services.history.durable(),
            resume,
            memo,
            variables: req.variables.unwrap_or_default(),
            cutting: std::cell::Cell::new(None),
            doomed_at: std::cell::Cell::new(None),
            express,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.services.clock.now()
    }

    /// Tells TestState's inspector a step's value, when there is one.
    fn inspect(&self, step: &'static str, v: &Value) {
        if let Some(i) = &self.services.inspect {
            i(step, v);
        }
    }

    /// The machine's `TimeoutSeconds`; for an EXPRESS execution, five minutes at most.
    fn time_limit(&self) -> Option<u64> {
        let own = self.def.machine.timeout_seconds;
        if self.express {
            Some(own.map_or(super::EXPRESS_MAX_SECONDS, |s| {
                s.min(super::EXPRESS_MAX_SECONDS)
            }))
        } else {
            own
        }
    }

    /// How a raised stop ends the execution: aborted (StopExecution, its error and cause
    /// recorded from the signal), or failed at a state transition after DeleteStateMachine.
    fn stopped(&self) -> Failure {
        match self.services.stop.as_ref().and_then(|s| s.failure()) {
            Some((error, cause)) => Failure::new(error, cause),
            None => Failure::new(ABORTED, ""),
        }
    }

    /// Reports an event; `kind` is built only when the history keeps events.
    fn emit<'k>(&self, prev: &mut u64, kind: impl FnOnce() -> EventKind<'k>) -> u64 {
        self.emit_when(prev, || self.now(), kind)
    }

    /// Reports an event that happened at `at`.
    fn emit_at<'k>(
        &self,
        prev: &mut u64,
        at: DateTime<Utc>,
        kind: impl FnOnce() -> EventKind<'k>,
    ) -> u64 {
        self.emit_when(prev, || at, kind)
    }

    /// The clock is read only when the history keeps events.
    fn emit_when<'k>(
        &self,
        prev: &mut u64,
        at: impl FnOnce() -> DateTime<Utc>,
        kind: impl FnOnce() -> EventKind<'k>,
    ) -> u64 {
        let h = &self.services.history;
        let id = if h.keeps_events() {
            h.record(*prev, at(), kind())
        } else {
            h.skip()
        };
        *prev = id;
        id
    }

    /// Reports the event of a task attempt's failure; on a durable history, under `mark`
    /// (the state instance and attempt), with what a resumed run needs to count the retry.
    fn emit_failure<'k>(
        &self,
        prev: &mut u64,
        mark: Option<(&str, u32)>,
        f: &Failure,
        kind: impl FnOnce() -> EventKind<'k>,
    ) {
        match mark {
            Some((key, attempt)) if self.durable => {
                let k = failure_mark(self.ctx.redrive_count, key, attempt);
                let at = self.now();
                let what = json!({"error": f.error, "heartbeat": f.heartbeat,
                                  "fromTask": f.from_task, "atMs": at.timestamp_millis()});
                let memo = MemoEntry {
                    key: &k,
                    next: None,
                    output: Some(&what),
                };
                *prev = self
                    .services
                    .history
                    .record_with_memo(*prev, at, kind(), memo);
            }
            _ => {
                self.emit(prev, kind);
            }
        }
    }

    /// After a resume: the retries a state instance already made before the interruption
    /// (from the failures recorded under its marks), counted against its retriers again, and
    /// what is left of the back-off after the last of them.
    fn replayed_retries(
        &self,
        st: &State,
        key: Option<&str>,
        used: &mut [u32],
    ) -> (u32, Option<Duration>) {
        let Some(key) = key.filter(|_| !self.memo.is_empty() && !st.retry.is_empty()) else {
            return (0, None);
        };
        let mut retried = 0;
        let mut next_attempt = None;
        // Marks of this redrive only: a redrive starts the retries afresh.
        let redrive = self.ctx.redrive_count;
        while let Some((what, ..)) = self.memo.get(&failure_mark(redrive, key, retried)) {
            let f = Failure {
                heartbeat: what["heartbeat"] == true,
                from_task: what["fromTask"] == true,
                ..Failure::new(what["error"].as_str().unwrap_or(""), "")
            };
            match st.retry.iter().position(|r| f.matches(&r.error_equals)) {
                Some(i) if used[i] < st.retry[i].max_attempts => {
                    let delay = self
                        .services
                        .clock
                        .scaled(retry_delay(&st.retry[i], used[i]));
                    used[i] += 1;
                    next_attempt = what["atMs"]
                        .as_i64()
                        .and_then(chrono::DateTime::from_timestamp_millis)
                        .and_then(|at| {
                            at.checked_add_signed(chrono::TimeDelta::from_std(delay).ok()?)
                        });
                }
                // A failure no retrier took would have ended the state.
                _ => break,
            }
            retried += 1;
        }
        let left = next_attempt.and_then(|t| (t - self.now()).to_std().ok());
        (retried, left)
    }

    pub async fn execute(self) -> Outcome {
        let mut prev = self.resume.as_ref().map(|r| r.last_event_id).unwrap_or(0);
        match &self.resume {
            None => {
                // At the execution's startDate exactly, as AWS has it.
                self.emit_at(&mut prev, self.ctx.start_time, || {
                    EventKind::with_details(
                        "ExecutionStarted",
                        "executionStartedEventDetails",
                        json!({"input": json_text(&self.ctx.input), "inputDetails": {"truncated": false},
                               "roleArn": self.ctx.role_arn}),
                    )
                });
                // As AWS records it, the first state's Entered event points back to 0, not to
                // ExecutionStarted.
                prev = 0;
            }
            Some(Resume {
                redrive_count: Some(n),
                ..
            }) => {
                self.emit(&mut prev, || {
                    EventKind::with_details(
                        "ExecutionRedriven",
                        "executionRedrivenEventDetails",
                        json!({"redriveCount": n}),
                    )
                });
            }
            Some(_) => {}
        }
        let machine = &self.def.machine;
        let input = self.ctx.input.clone();
        let result = if payload_size(&input) > MAX_PAYLOAD_BYTES {
            Err(Failure::new(
                names::DATA_LIMIT_EXCEEDED,
                "The execution input exceeds the maximum number of bytes service limit.",
            ))
        } else {
            let scope = self.durable.then_some("");
            // The execution's variables: none, or TestState's.
            let vars: Vars = std::rc::Rc::new(std::cell::RefCell::new(self.variables.clone()));
            let timeout = async {
                match self.time_limit() {
                    Some(secs) if self.resume.is_some() => {
                        // A resumed execution has what is left of its time since it started
                        // (or was last redriven), as an uninterrupted one would.
                        let full = Duration::from_secs(secs);
                        let clock = &self.services.clock;
                        let scaled = clock.scaled(full);
                        // A limit keeps its real length when sleeps take no time (see `limit`).
                        let wall = if scaled.is_zero() { full } else { scaled };
                        let since = self.ctx.redrive_time.unwrap_or(self.ctx.start_time);
                        let elapsed = (self.now() - since).to_std().unwrap_or_default();
                        clock
                            .sleep_as_now_counts(wall.saturating_sub(elapsed))
                            .await
                    }
                    Some(secs) => self.services.clock.limit(Duration::from_secs(secs)).await,
                    None => std::future::pending().await,
                }
            };
            let stop = async {
                match &self.services.stop {
                    Some(s) => s.wait().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                r = self.run_machine(machine, input, &mut prev, scope, vars) => r.map(Some),
                _ = timeout => Ok(None),
                _ = stop => Err(self.stopped()),
            }
        };
        // Events of a timed-out run chain from the last one recorded.
        let mut last = self.doomed_at.get().unwrap_or(prev);
        let (status, output, error, cause) = match result {
            Ok(Some(output)) => {
                self.emit(
                    &mut last, || EventKind::with_details(
                        "ExecutionSucceeded",
                        "executionSucceededEventDetails",
                        json!({"output": json_text(&output), "outputDetails": {"truncated": false}}),
                    ));
                (Status::Succeeded, Some(output), None, None)
            }
            Ok(None) => {
                let cause = format!(
                    "The execution timed out after {} seconds",
                    self.time_limit().unwrap_or(0)
                );
                self.emit(&mut last, || {
                    EventKind::with_details(
                        "ExecutionTimedOut",
                        "executionTimedOutEventDetails",
                        json!({"error": names::TIMEOUT, "cause": cause}),
                    )
                });
                // DescribeExecution of a timed-out execution has no error or cause (as
                // recorded against AWS); the event above says why.
                (Status::TimedOut, None, None, None)
            }
            Err(f) if f.error == ABORTED && f.cause.is_empty() => {
                let (error, cause) = self
                    .services
                    .stop
                    .as_ref()
                    .map(|s| s.reason())
                    .unwrap_or_default();
                // As recorded against AWS (StopExecution during a Wait): ExecutionAborted
                // points back to 0, not to the last event.
                last = 0;
                self.emit(&mut last, || {
                    let mut d = serde_json::Map::new();
                    if let Some(e) = &error {
                        d.insert("error".into(), json!(e));
                    }
                    if let Some(c) = &cause {
                        d.insert("cause".into(), json!(c));
                    }
                    EventKind::with_details(
                        "ExecutionAborted",
                        "executionAbortedEventDetails",
                        Value::Object(d),
                    )
                });
                (Status::Aborted, None, error, cause)
            }
            Err(f) => {
                let mut details = serde_json::Map::new();
                if !f.error.is_empty() {
                    details.insert("error".into(), json!(f.error));
                }
                if !f.cause.is_empty() {
                    details.insert("cause".into(), json!(f.cause));
                }
                self.emit(&mut last, || {
                    EventKind::with_details(
                        "ExecutionFailed",
                        "executionFailedEventDetails",
                        Value::Object(details),
                    )
                });
                (
                    Status::Failed,
                    None,
                    Some(f.error).filter(|e| !e.is_empty()),
                    Some(f.cause).filter(|c| !c.is_empty()),
                )
            }
        };
        Outcome {
            execution_arn: self.ctx.execution_arn.clone(),
            state_machine_arn: self.ctx.state_machine_arn.clone(),
            name: self.ctx.execution_name.clone(),
            status,
            start_date: self.ctx.start_time,
            stop_date: self.now(),
            input: self.ctx.input,
            output,
            error,
            cause,
        }
    }

    /// Runs a machine (or branch, or iteration) to its end. `scope` names it among the
    /// execution's state instances when the history is durable.
    fn run_machine<'b>(
        &'b self,
        sm: &'b StateMachine,
        input: Value,
        prev: &'b mut u64,
        scope: Option<&'b str>,
        vars: Vars,
    ) -> BoxFut<'b, Result<Value, Failure>> {
        Box::pin(async move {
            let mut idx = sm.start_at;
            let mut input = input;
            let mut visits = vec![0u32; if scope.is_some() { sm.states.len() } else { 0 }];
            // Whether the last event of this chain is the exit whose output `input` is.
            let mut follows_exit = false;
            // Whether this chain finished work (a task, or a Map or Parallel with tasks) since
            // it last made sure its events are committed.
            let mut work_done = false;
            loop {
                let st = &sm.states[idx];
                // A task acts outside only once the work finished before it in its chain is
                // committed: after a crash the resume replays that work instead of doing it
                // again (only the task in flight runs twice). Commits group the waiting tasks.
                if work_done && follows_exit && self.durable && matches!(st.kind, Kind::Task(_)) {
                    self.services.history.until_durable(*prev).await;
                    work_done = false;
                }
                let key = scope.map(|s| {
                    visits[idx] += 1;
                    instance_key(s, &st.name, visits[idx])
                });
                let replayed = match &key {
                    Some(k) if !self.memo.is_empty() => self.memo.get(k),
                    _ => None,
                };
                if let Some((output, next, assigned)) = replayed {
                    // Done before the interruption: replay, do not run again (its variables too).
                    if let Some(a) = assigned {
                        let mut v = vars.borrow_mut();
                        for (k, x) in a {
                            v.insert(k.clone(), x.clone());
                        }
                    }
                    match next {
                        None => return Ok(output.clone()),
                        Some(n) => {
                            if let Some(&i) = sm.names.get(n) {
                                idx = i;
                                input = output.clone();
                                follows_exit = false;
                                continue;
                            }
                        }
                    }
                }
                match self
                    .run_state(sm, st, input, prev, key.as_deref(), follows_exit, &vars)
                    .await?
                {
                    Step::Next(next, output) => {
                        if let Some(stop) = self.services.stop.as_ref().filter(|s| s.is_doomed()) {
                            // The machine was deleted: the execution ends here, whatever
                            // branch or iteration this is (see `execute`).
                            self.doomed_at.set(Some(*prev));
                            stop.fail_now();
                            std::future::pending::<()>().await;
                        }
                        work_done |= does_work(st);
                        idx = next;
                        input = output;
                        follows_exit = true;
                    }
                    Step::End(output) => return Ok(output),
                }
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_state(
        &self,
        sm: &StateMachine,
        st: &State,
        raw: Value,
        prev: &mut u64,
        key: Option<&str>,
        follows_exit: bool,
        vars: &Vars,
    ) -> Result<Step, Failure> {
        if !matches!(
            st.kind,
            Kind::Task(_) | Kind::Wait(_) | Kind::Map(_) | Kind::Parallel { .. }
        ) {
            // Never suspended: nothing to cut short.
            return self
                .run_state_work(sm, st, raw, prev, key, follows_exit, vars)
                .await;
        }
        let notice = AbortNotice {
            run: self,
            what: Aborted::State(st.kind.type_name()),
        };
        // Dropped after the work (declared before it): what the state ran records its own
        // aborted events first.
        let r = self
            .run_state_work(sm, st, raw, prev, key, follows_exit, vars)
            .await;
        std::mem::forget(notice);
        r
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_state_work(
        &self,
        sm: &StateMachine,
        st: &State,
        raw: Value,
        prev: &mut u64,
        key: Option<&str>,
        follows_exit: bool,
        vars: &Vars,
    ) -> Result<Step, Failure> {
        let state_type = st.kind.type_name();
        let before_entered = *prev;
        // One reading of the clock: the Entered event's time is the state's `EnteredTime`.
        let now = self.now();
        let entered = || EventKind::StateEntered {
            state_type,
            name: Cow::Borrowed(&st.name),
            // A durable history stores a state's input once, as the previous state's output.
            input: if follows_exit && self.durable {
                None
            } else {
                Some(Cow::Borrowed(&raw))
            },
        };
        let (entered_id, entered_time) = match key {
            // A Wait keeps when it was first entered (under a mark on its Entered event): a
            // resumed one waits what is left, as an uninterrupted one would.
            Some(k) if self.durable && matches!(st.kind, Kind::Wait(_)) => {
                let mark = entered_mark(self.ctx.redrive_count, k);
                let first = self
                    .memo
                    .get(&mark)
                    .and_then(|(what, ..)| what["atMs"].as_i64())
                    .and_then(DateTime::from_timestamp_millis)
                    .unwrap_or(now);
                let what = json!({"atMs": first.timestamp_millis()});
                let memo = MemoEntry {
                    key: &mark,
                    next: None,
                    output: Some(&what),
                };
                let id = self
                    .services
                    .history
                    .record_with_memo(*prev, now, entered(), memo);
                *prev = id;
                (id, first)
            }
            _ => (self.emit_at(prev, now, entered), now),
        };
        let mut retries_used = vec![0u32; st.retry.len()];
        let (mut retry_count, back_off_left) = self.replayed_retries(st, key, &mut retries_used);
        // Interrupted during a retry's back-off: what is left of it, then the next attempt.
        if let Some(left) = back_off_left {
            self.services.history.sync();
            self.services.clock.sleep_as_now_counts(left).await;
        }
        loop {
            let attempt = self
                .attempt(st, &raw, entered_time, retry_count, prev, key, vars)
                .await
                .and_then(|(result, assigned)| {
                    let out = Output {
                        raw: &raw,
                        entered_time,
                        assigned: assigned.as_ref(),
                        scope: vars,
                    };
                    self.finish(sm, st, out, result, prev, key)
                });
            let mut failure = match attempt {
                Ok(step) => return Ok(step),
                Err(f) => in_state(f, &st.name, entered_id),
            };
            let own_evaluation = st.jsonata
                && failure.error == names::QUERY_EVALUATION_ERROR
                && !failure.started
                && !failure.from_task;
            // Whether the state failed before recording anything of its own (Items, Arguments),
            // rather than after its work (Output, Assign).
            let before_work = *prev == entered_id;
            if own_evaluation {
                self.evaluation_failed(st, &failure, before_entered, before_work, prev);
            }
            if let Some(i) = st
                .retry
                .iter()
                .position(|r| failure.matches(&r.error_equals))
            {
                let r = &st.retry[i];
                if retries_used[i] < r.max_attempts {
                    let delay = retry_delay(r, retries_used[i]);
                    retries_used[i] += 1;
                    retry_count += 1;
                    self.services.history.sync();
                    self.services.clock.sleep(delay).await;
                    continue;
                }
            }
            // A Map or Parallel that failed for good (no Retrier took it) ends here.
            if matches!(st.kind, Kind::Map(_) | Kind::Parallel { .. })
                && (failure.started || (own_evaluation && before_work))
            {
                self.emit(prev, || {
                    EventKind::other(format!("{state_type}StateFailed"))
                });
            }
            failure.started = false;
            if let Some(c) = st.catch.iter().find(|c| failure.matches(&c.error_equals)) {
                let (output, assigned) = if st.jsonata {
                    self.catch_jsonata(st, c, &raw, &failure, entered_time, vars)
                } else {
                    self.catch_jsonpath(st, c, &raw, &failure, entered_time, vars)
                }
                .map_err(|f| in_state(f, &st.name, entered_id))?;
                self.emit_exit(sm, st, &output, Some(c.next), assigned.as_ref(), prev, key);
                return Ok(Step::Next(c.next, output));
            }
            return Err(failure);
        }
    }

    /// `EvaluationFailed`, for a JSONata expression of the state that failed. As recorded
    /// against AWS, when the state failed before recording anything of its own it points back
    /// to what the state's Entered event points back to (to the Entered event itself for a
    /// Wait state); after its work, it follows the work's last event.
    fn evaluation_failed(
        &self,
        st: &State,
        f: &Failure,
        before_entered: u64,
        before_work: bool,
        prev: &mut u64,
    ) {
        if before_work && !matches!(st.kind, Kind::Wait(_)) {
            *prev = before_entered;
        }
        self.emit(prev, || {
            let mut d = serde_json::Map::new();
            d.insert("cause".into(), json!(f.cause));
            d.insert("error".into(), json!(f.error));
            if let Some(l) = &f.location {
                d.insert("location".into(), json!(l));
            }
            d.insert("state".into(), json!(st.name));
            EventKind::with_details(
                "EvaluationFailed",
                "evaluationFailedEventDetails",
                Value::Object(d),
            )
        });
    }

    /// Applies ResultPath and OutputPath to the state's result and reports the exit.
    fn finish(
        &self,
        sm: &StateMachine,
        st: &State,
        o: Output<'_>,
        result: Outcome1,
        prev: &mut u64,
        key: Option<&str>,
    ) -> Result<Step, Failure> {
        let ctx = StateContext::new(&self.ctx, &st.name, o.entered_time, None);
        let (out, chosen) = {
            // `$name` in OutputPath: the variables as they were when the state was entered
            // (its own Assign is applied below).
            let visible = o.scope.borrow();
            let output_path = |v| apply_output_path(&st.output_path, v, &ctx, &visible);
            match result {
                // Choice, Wait, Succeed: no ResultPath.
                Outcome1::Output(v, next) => (output_path(v)?, next),
                Outcome1::Chose(v, next, _) => (output_path(v)?, Some(next)),
                Outcome1::Result(v) => {
                    let combined = apply_result_path(&st.result_path, o.raw, v)?;
                    self.inspect("afterResultPath", &combined);
                    (output_path(combined)?, None)
                }
            }
        };
        self.check_size(st, &out)?;
        // Variables change only once the state has succeeded (a failure here goes to the
        // catchers with the variables as they were).
        if let Some(a) = o.assigned {
            commit_assign(o.scope, a)?;
        }
        let next = chosen.or(match st.transition {
            Transition::Next(n) => Some(n),
            _ => None,
        });
        self.emit_exit(sm, st, &out, next, o.assigned, prev, key);
        Ok(match next {
            Some(n) => Step::Next(n, out),
            None => Step::End(out),
        })
    }

    /// Reports a state's exit; on a durable history, with what a resumed run replays.
    #[allow(clippy::too_many_arguments)]
    fn emit_exit(
        &self,
        sm: &StateMachine,
        st: &State,
        out: &Value,
        next: Option<usize>,
        assigned: Option<&Map<String, Value>>,
        prev: &mut u64,
        key: Option<&str>,
    ) {
        let kind = || EventKind::StateExited {
            state_type: st.kind.type_name(),
            name: Cow::Borrowed(&st.name),
            output: Cow::Borrowed(out),
            assigned: assigned.map(Cow::Borrowed),
        };
        match key {
            Some(k) if self.durable => {
                let memo = MemoEntry {
                    key: k,
                    next: next.map(|n| sm.states[n].name.as_str()),
                    output: None,
                };
                *prev = self
                    .services
                    .history
                    .record_with_memo(*prev, self.now(), kind(), memo);
            }
            _ => {
                self.emit(prev, kind);
            }
        }
    }

    fn check_size(&self, st: &State, out: &Value) -> Result<(), Failure> {
        if payload_size(out) > MAX_PAYLOAD_BYTES {
            return Err(Failure::new(
                names::DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                    st.name
                ),
            ));
        }
        Ok(())
    }

    /// One try of the state's work, from InputPath to ResultSelector.
    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        st: &State,
        raw: &Value,
        entered_time: DateTime<Utc>,
        retry_count: u32,
        prev: &mut u64,
        key: Option<&str>,
        vars: &Vars,
    ) -> Result<(Outcome1, Assigned), Failure> {
        let can_retry = matches!(
            st.kind,
            Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_)
        );
        let mut ctx = StateContext::new(
            &self.ctx,
            &st.name,
            entered_time,
            can_retry.then_some(retry_count),
        );
        if let Kind::Task(t) = &st.kind {
            if t.resource.ends_with(".waitForTaskToken") {
                ctx = ctx.with_task_token(task_token());
            }
        }
        if st.jsonata {
            return self.attempt_jsonata(st, raw, &ctx, prev, key, vars).await;
        }
        let (outcome, assigned) = {
            // `$name` paths read the variables as they were when the state was entered.
            let visible = vars.borrow().clone();
            let effective = apply_input_path(&st.input_path, raw, &ctx, &visible)?;
            self.inspect("afterInputPath", &effective);
            let env = Env::new(&effective, &ctx).with_vars(&visible);
            let mut unselected = None;
            let outcome = self
                .attempt_jsonpath(
                    st,
                    raw,
                    &effective,
                    &env,
                    &ctx,
                    prev,
                    key,
                    vars,
                    &mut unselected,
                )
                .await?;
            // A JSONPath state's `Assign` reads its result as `$` (before ResultSelector, as
            // ResultSelector reads it; the input, for states without one).
            // A Choice's own Assign applies whichever way it goes; the matched rule's Assign
            // is evaluated too, and wins where both set a variable.
            let rule_assign = match (&st.kind, &outcome) {
                (Kind::Choice { choices, .. }, Outcome1::Chose(_, _, Some(i))) => {
                    choices[*i].assign.as_ref()
                }
                _ => None,
            };
            let result = match (&unselected, &outcome) {
                (Some(v), _) => v,
                (None, Outcome1::Result(v) | Outcome1::Output(v, _) | Outcome1::Chose(v, ..)) => v,
            };
            let renv = Env::new(result, &ctx).with_vars(&visible);
            let mut assigned = None;
            for field in [st.assign.as_ref(), rule_assign].into_iter().flatten() {
                if let Assign::JsonPath(t) = field {
                    assigned = Some(merge_assign(assigned, t.eval(&renv)?));
                }
            }
            (outcome, assigned)
        };
        let assigned = match assigned {
            Some(values) => checked_assign(values)?,
            None => None,
        };
        Ok((outcome, assigned))
    }

    #[allow(clippy::too_many_arguments)]
    async fn attempt_jsonpath(
        &self,
        st: &State,
        raw: &Value,
        effective: &Value,
        env: &Env<'_>,
        ctx: &StateContext<'_>,
        prev: &mut u64,
        key: Option<&str>,
        vars: &Vars,
        unselected: &mut Option<Value>,
    ) -> Result<Outcome1, Failure> {
        match &st.kind {
            Kind::Pass { result } => {
                let r = match (result, &st.parameters) {
                    (Some(r), _) => {
                        self.inspect("result", r);
                        r.clone()
                    }
                    (None, Some(p)) => p.eval(env)?,
                    (None, None) => effective.clone(),
                };
                if result.is_none() {
                    self.inspect("afterParameters", &r);
                }
                self.inspect("afterResultSelector", &r);
                Ok(Outcome1::Result(r))
            }
            Kind::Succeed => Ok(Outcome1::Output(effective.clone(), None)),
            Kind::Fail { error, cause } => {
                // The state's input, with what else the state sees: variables in `ErrorPath`
                // and `CausePath` (recorded against AWS), its JSONata bindings.
                let env = Env { input: raw, ..*env };
                let e = states::fail::text(error.as_ref(), "ErrorPath", &env)?;
                let c = states::fail::text(cause.as_ref(), "CausePath", &env)?;
                Err(Failure::new(e, c))
            }
            Kind::Choice { choices, default } => {
                match states::choice::choose(choices, env)? {
                    Some(i) => Ok(Outcome1::Chose(effective.clone(), choices[i].next, Some(i))),
                    None => match default {
                        Some(d) => Ok(Outcome1::Chose(effective.clone(), *d, None)),
                        None => Err(Failure::new(
                            names::NO_CHOICE_MATCHED,
                            format!(
                                "No Matches! Choice state '{}' found no rule matching its input and has no Default",
                                st.name
                            ),
                        )),
                    },
                }
            }
            Kind::Wait(w) => {
                self.wait(states::wait::delay(w, env, ctx.entered_time)?, ctx)
                    .await;
                Ok(Outcome1::Output(effective.clone(), None))
            }
            Kind::Task(task) => {
                let params = match &st.parameters {
                    Some(p) => p.eval(env)?,
                    None => effective.clone(),
                };
                self.inspect("afterParameters", &params);
                let token = ctx.task_token.clone();
                let mark = key.zip(ctx.retry_count);
                let result = self
                    .run_task(st, task, &params, env, prev, token, mark)
                    .await?;
                self.select(st, result, env, unselected)
            }
            Kind::Parallel { branches } => {
                let params = match &st.parameters {
                    Some(p) => p.eval(env)?,
                    None => effective.clone(),
                };
                let result = self.run_parallel(&st.name, branches, params, prev, key, vars).await?;
                self.select(st, result, env, unselected)
            }
            Kind::Map(map) => {
                let result = self.run_map(st, map, env, ctx, prev, key, vars).await?;
                self.select(st, result, env, unselected)
            }
        }
    }

    /// A JSONata catcher: its `Output` (default: the error output) and `Assign`, over
    /// `$states.input`, `$states.errorOutput` and the variables.
    fn catch_jsonata(
        &self,
        st: &State,
        c: &Catcher,
        raw: &Value,
        failure: &Failure,
        entered_time: DateTime<Utc>,
        vars: &Vars,
    ) -> Result<(Value, Assigned), Failure> {
        let ctx = StateContext::new(&self.ctx, &st.name, entered_time, None);
        let error = failure.to_output();
        let b = bindings(
            vars,
            json!({"input": raw, "context": ctx.context(), "errorOutput": error}),
        );
        let b = Prepared::new(b);
        let output = match &c.output {
            Some(t) => t.eval(&b, "Output")?,
            None => error,
        };
        let assigned = match &c.assign {
            Some(Assign::Jsonata(t)) => assign(vars, t.eval(&b, "Assign")?)?,
            _ => None,
        };
        Ok((output, assigned))
    }

    /// A JSONPath catcher: the error output put at its `ResultPath`, and its `Assign` over the
    /// error output as `$`.
    fn catch_jsonpath(
        &self,
        st: &State,
        c: &Catcher,
        raw: &Value,
        failure: &Failure,
        entered_time: DateTime<Utc>,
        vars: &Vars,
    ) -> Result<(Value, Assigned), Failure> {
        let error = failure.to_output();
        let assigned = match &c.assign {
            Some(Assign::JsonPath(t)) => {
                let ctx = StateContext::new(&self.ctx, &st.name, entered_time, None);
                let visible = vars.borrow().clone();
                let values = t.eval(&Env::new(&error, &ctx).with_vars(&visible))?;
                assign(vars, values)?
            }
            _ => None,
        };
        Ok((apply_result_path(&c.result_path, raw, error)?, assigned))
    }

    /// A JSONata state: `Arguments` in, the work, then `Output` and `Assign` over
    /// `$states.input`, `$states.result` and the variables (no JSONPath processing).
    async fn attempt_jsonata(
        &self,
        st: &State,
        raw: &Value,
        ctx: &StateContext<'_>,
        prev: &mut u64,
        key: Option<&str>,
        vars: &Vars,
    ) -> Result<(Outcome1, Assigned), Failure> {
        // The context object is built only for states whose expressions read it.
        let reads = |t: &Option<JTemplate>| t.as_ref().is_some_and(|t| t.reads_context());
        let needs_context = reads(&st.arguments)
            || reads(&st.output)
            || matches!(&st.assign, Some(Assign::Jsonata(t)) if t.reads_context())
            || match &st.kind {
                Kind::Choice { choices, .. } => choices.iter().any(|c| {
                    matches!(&c.rule, ChoiceRule::Condition(t) if t.reads_context())
                        || reads(&c.output)
                        || matches!(&c.assign, Some(Assign::Jsonata(t)) if t.reads_context())
                }),
                Kind::Map(m) => reads(&m.items),
                _ => false,
            };
        let states = if needs_context {
            json!({"input": raw, "context": ctx.context()})
        } else {
            json!({"input": raw})
        };
        let prepared = Prepared::new(bindings(vars, states));
        let args = |p: &Prepared| match &st.arguments {
            Some(t) => t.eval(p, "Arguments"),
            None => Ok(raw.clone()),
        };
        let env = Env::new(raw, ctx).with_bindings(&prepared);
        // The Choice rule that matched, whose Output and Assign replace the state's.
        let mut rule: Option<&crate::definition::model::Choice> = None;
        let (result, next): (Option<Value>, Option<usize>) = match &st.kind {
            Kind::Pass { result } => (result.clone(), None),
            Kind::Succeed => (None, None),
            Kind::Fail { error, cause } => {
                let e = states::fail::text(error.as_ref(), "Error", &env)?;
                let c = states::fail::text(cause.as_ref(), "Cause", &env)?;
                return Err(Failure::new(e, c));
            }
            Kind::Wait(w) => {
                self.wait(states::wait::delay(w, &env, ctx.entered_time)?, ctx)
                    .await;
                (None, None)
            }
            Kind::Choice { choices, default } => {
                let mut chosen = None;
                for choice in choices {
                    let ChoiceRule::Condition(c) = &choice.rule else {
                        continue;
                    };
                    match c.eval(&prepared, "Condition")? {
                        Value::Bool(true) => {
                            chosen = Some(choice.next);
                            rule = Some(choice);
                            break;
                        }
                        Value::Bool(false) => {}
                        other => {
                            let source = match c {
                                JTemplate::Expr { source, .. } => source.as_str(),
                                _ => "",
                            };
                            return Err(crate::expr::jtemplate::query_error_at(
                                format!(
                                    "The JSONata expression '{source}' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '{}' for value: {}",
                                    json_type(&other),
                                    other
                                ),
                                "Condition",
                            ));
                        }
                    }
                }
                match chosen.or(*default) {
                    Some(n) => (None, Some(n)),
                    None => {
                        return Err(Failure::new(
                            names::NO_CHOICE_MATCHED,
                            format!(
                                "No Matches! Choice state '{}' found no rule matching its input and has no Default",
                                st.name
                            ),
                        ))
                    }
                }
            }
            Kind::Task(task) => {
                let params = args(&prepared)?;
                let token = ctx.task_token.clone();
                let mark = key.zip(ctx.retry_count);
                let r = self
                    .run_task(st, task, &params, &env, prev, token, mark)
                    .await?;
                (Some(r), None)
            }
            Kind::Parallel { branches } => {
                let params = args(&prepared)?;
                let r = self
                    .run_parallel(&st.name, branches, params, prev, key, vars)
                    .await?;
                (Some(r), None)
            }
            Kind::Map(map) => {
                // Items read by an ItemReader are selected as they are read; the items of the
                // input are all evaluated and selected before the Map starts.
                let array;
                let input = if map.item_reader.is_some() {
                    raw
                } else {
                    array = Value::Array(self.jsonata_items(map, raw, ctx, &prepared, args)?);
                    &array
                };
                let r = self
                    .run_map(
                        st,
                        map,
                        &Env::new(input, ctx).with_bindings(&prepared),
                        ctx,
                        prev,
                        key,
                        vars,
                    )
                    .await?;
                (Some(r), None)
            }
        };
        let after = if result.is_some() && (st.output.is_some() || st.assign.is_some()) {
            let mut b = prepared.into_json();
            if let (Some(r), Some(Value::Object(states))) = (&result, b.get_mut("states")) {
                states.insert("result".into(), r.clone());
            }
            Prepared::new(b)
        } else {
            prepared
        };
        // A matched Choice rule's Output replaces the state's; its Assign adds to the state's
        // (which applies whichever way the Choice goes) and wins where both set a variable.
        let output_field = rule.and_then(|c| c.output.as_ref()).or(st.output.as_ref());
        let output = match output_field {
            Some(t) => t.eval(&after, "Output")?,
            None => result.unwrap_or_else(|| raw.clone()),
        };
        let mut values = None;
        for field in [st.assign.as_ref(), rule.and_then(|c| c.assign.as_ref())]
            .into_iter()
            .flatten()
        {
            if let Assign::Jsonata(t) = field {
                values = Some(merge_assign(values, t.eval(&after, "Assign")?));
            }
        }
        let assigned = match values {
            Some(v) => checked_assign(v)?,
            None => None,
        };
        Ok((Outcome1::Output(output, next), assigned))
    }

    /// A JSONata Map's items: `Items` (else its input), each through `ItemSelector`.
    fn jsonata_items(
        &self,
        map: &MapState,
        raw: &Value,
        ctx: &StateContext<'_>,
        prepared: &Prepared,
        args: impl Fn(&Prepared) -> Result<Value, Failure>,
    ) -> Result<Vec<Value>, Failure> {
        let items = match &map.items {
            Some(t) => t.eval(prepared, "Items")?,
            None => args(prepared)?,
        };
        let Value::Array(list) = items else {
            if map.items.is_none() {
                return Err(crate::expr::jtemplate::query_error(format!(
                    "Map state input must be an array but was: {}",
                    compact(&items)
                )));
            }
            let source = match &map.items {
                Some(JTemplate::Expr { source, .. }) => source.clone(),
                _ => String::new(),
            };
            return Err(crate::expr::jtemplate::query_error_at(
                format!(
                    "The JSONata expression '{source}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {}",
                    json_type(&items),
                    items
                ),
                "Items",
            ));
        };
        let Some(sel) = &map.item_selector_jsonata else {
            return Ok(list);
        };
        let mut out = Vec::with_capacity(list.len());
        for (i, item) in list.into_iter().enumerate() {
            let ictx = StateContext::new(
                ctx.execution,
                ctx.state_name,
                ctx.entered_time,
                ctx.retry_count,
            )
            .with_item(i, &item);
            let mut ib = prepared.json().clone();
            ib.insert(
                "states".into(),
                json!({"input": raw, "context": ictx.context()}),
            );
            out.push(sel.eval(&Prepared::new(ib), "ItemSelector")?);
        }
        Ok(out)
    }

    /// ResultSelector over the state's result (`$name` reads the variables `env` sees). The
    /// result before it is kept in `unselected` when the state's `Assign` needs it: Assign
    /// reads the state's result as ResultSelector does, not what ResultSelector made of it.
    fn select(
        &self,
        st: &State,
        result: Value,
        env: &Env<'_>,
        unselected: &mut Option<Value>,
    ) -> Result<Outcome1, Failure> {
        self.inspect("result", &result);
        match &st.result_selector {
            None => {
                self.inspect("afterResultSelector", &result);
                Ok(Outcome1::Result(result))
            }
            Some(t) => {
                let renv = Env::new(&result, env.context);
                let renv = match env.vars {
                    Some(v) => renv.with_vars(v),
                    None => renv,
                };
                let selected = t.eval(&renv)?;
                self.inspect("afterResultSelector", &selected);
                if st.assign.is_some() {
                    *unselected = Some(result);
                }
                Ok(Outcome1::Result(selected))
            }
        }
    }

    /// Runs a task: `mark` is the state instance and attempt, under which a durable history
    /// records the attempt's failure so that a resumed run goes on counting its retries.
    #[allow(clippy::too_many_arguments)]
    async fn run_task(
        &self,
        st: &State,
        task: &Task,
        params: &Value,
        env: &Env<'_>,
        prev: &mut u64,
        token: Option<String>,
        mark: Option<(&str, u32)>,
    ) -> Result<Value, Failure> {
        if crate::history::activities::activity_name(&task.resource).is_some() {
            return self.run_activity(st, task, params, env, prev, mark).await;
        }
        let (resource_type, resource) = resource_parts(&task.resource);
        let timeout = resolve_seconds(task.timeout.as_ref(), env)?;
        let heartbeat = resolve_seconds(task.heartbeat.as_ref(), env)?;
        // A Lambda function ARN as Resource reports LambdaFunction* events, as AWS does.
        let legacy = crate::resources::is_legacy_lambda(&task.resource);
        // Scheduled and Started are recorded together: one reading of the clock for both
        // (none when the history keeps no events).
        let at = std::cell::OnceCell::new();
        let at = || *at.get_or_init(|| self.now());
        if legacy {
            self.emit_when(prev, at, || {
                let mut d = json!({"resource": task.resource, "input": json_text(params),
                                   "inputDetails": {"truncated": false}});
                if let Some(t) = timeout {
                    d["timeoutInSeconds"] = json!(t);
                }
                EventKind::with_details(
                    "LambdaFunctionScheduled",
                    "lambdaFunctionScheduledEventDetails",
                    d,
                )
            });
            self.emit_when(prev, at, || EventKind::other("LambdaFunctionStarted"));
        } else {
            self.emit_when(prev, at, || {
                let mut d = DetailsWriter::new()
                    .str("resourceType", resource_type)
                    .str("resource", resource)
                    .str("region", super::REGION)
                    .text("parameters", params);
                if let Some(t) = timeout {
                    d = d.num("timeoutInSeconds", t);
                }
                if let Some(h) = heartbeat {
                    d = d.num("heartbeatInSeconds", h);
                }
                EventKind::with_stored_details(
                    "TaskScheduled",
                    "taskScheduledEventDetails",
                    d.finish(),
                )
            });
            self.emit_when(prev, at, || {
                EventKind::with_stored_details(
                    "TaskStarted",
                    "taskStartedEventDetails",
                    DetailsWriter::new()
                        .str("resourceType", resource_type)
                        .str("resource", resource)
                        .finish(),
                )
            });
        }
        let call = TaskCall {
            state_name: &st.name,
            resource: &task.resource,
            parameters: params,
        };

        let submitted = super::nested::Submitted::default();
        // Only a callback's token needs it.
        let attempt = token.as_ref().and_then(|_| self.attempt_name(mark));
        let invoke = super::nested::invoke(
            self.services,
            &call,
            &self.ctx.execution_arn,
            token.as_deref().map(|t| (t, attempt.as_deref())),
            heartbeat,
            &submitted,
        );
        let result = match timeout {
            None => invoke.await,
            Some(secs) => {
                let sleep = self.services.clock.limit(Duration::from_secs(secs));
                tokio::select! {
                    biased;
                    r = invoke => r,
                    _ = sleep => Err(Failure::new(names::TIMEOUT, "")),
                }
            }
        };
        // A result over the payload quota fails the task itself, as AWS records it: a task
        // failure (caught by States.ALL) naming the resource.
        let result = match result {
            Ok(v) if payload_size(&v) > MAX_PAYLOAD_BYTES => Err(Failure::from_task(
                names::DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                    quota_label(&task.resource)
                ),
            )),
            other => other,
        };
        // A `.sync` child's start, as AWS records it between the task's start and its end.
        if let Some((at, answer)) = super::nested::submitted_event(&submitted) {
            self.emit_at(prev, at, || {
                EventKind::with_stored_details(
                    "TaskSubmitted",
                    "taskSubmittedEventDetails",
                    DetailsWriter::new()
                        .str("resourceType", resource_type)
                        .str("resource", resource)
                        .text("output", &answer)
                        .not_truncated("outputDetails")
                        .finish(),
                )
            });
        }
        match &result {
            Ok(v) if legacy => {
                self.emit(prev, || {
                    EventKind::with_details(
                        "LambdaFunctionSucceeded",
                        "lambdaFunctionSucceededEventDetails",
                        json!({"output": json_text(v), "outputDetails": {"truncated": false}}),
                    )
                });
            }
            Err(f) if legacy => {
                let ty = if f.error == names::TIMEOUT {
                    (
                        "LambdaFunctionTimedOut",
                        "lambdaFunctionTimedOutEventDetails",
                    )
                } else {
                    ("LambdaFunctionFailed", "lambdaFunctionFailedEventDetails")
                };
                self.emit_failure(prev, mark, f, || {
                    let mut d = json!({"error": f.error, "cause": f.cause});
                    // As recorded against AWS: a time-out's event carries no cause.
                    if f.cause.is_empty() && f.error == names::TIMEOUT {
                        d.as_object_mut().map(|o| o.remove("cause"));
                    }
                    EventKind::with_details(ty.0, ty.1, d)
                });
            }
            Ok(v) => {
                self.emit(prev, || {
                    EventKind::with_stored_details(
                        "TaskSucceeded",
                        "taskSucceededEventDetails",
                        DetailsWriter::new()
                            .str("resourceType", resource_type)
                            .str("resource", resource)
                            .text("output", v)
                            .not_truncated("outputDetails")
                            .finish(),
                    )
                });
            }
            Err(f) => {
                let timed_out = f.error == names::TIMEOUT;
                let ty = if timed_out {
                    ("TaskTimedOut", "taskTimedOutEventDetails")
                } else {
                    ("TaskFailed", "taskFailedEventDetails")
                };
                self.emit_failure(prev, mark, f, || {
                    let mut d = serde_json::Map::new();
                    d.insert("resourceType".into(), json!(resource_type));
                    d.insert("resource".into(), json!(resource));
                    f.event_fields(&mut d);
                    // As recorded against AWS: a time-out's event carries no cause.
                    if timed_out && f.cause.is_empty() {
                        d.remove("cause");
                    }
                    EventKind::with_details(ty.0, ty.1, Value::Object(d))
                });
            }
        }
        result
    }

    async fn run_parallel(
        &self,
        name: &str,
        branches: &[std::sync::Arc<StateMachine>],
        input: Value,
        prev: &mut u64,
        key: Option<&str>,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        if let Some(mock) = self.stand_in(name) {
            return self.told(mock.answer.clone());
        }
        let started = self.emit(prev, || EventKind::other("ParallelStateStarted"));
        let mut runs: futures_util::stream::FuturesUnordered<_> = branches
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let input = input.clone();
                let scope = key.map(|k| format!("{k}/b{i}"));
                // A branch reads the outer variables; what it assigns stays in it.
                let inner = new_scope(Some(vars));
                // Boxed (so Unpin): a cut hands the rest back to be dropped in order.
                Box::pin(async move {
                    let mut p = started;
                    let r = self
                        .run_machine(b, input, &mut p, scope.as_deref(), inner)
                        .await;
                    (i, r, p)
                })
            })
            .collect();
        let mut results = vec![Value::Null; branches.len()];
        // The last event of the branches, which the Parallel's end points back to.
        let mut last_branch = started;
        // The first branch to fail ends the Parallel at once, however many branches it has.
        while let Some((i, r, p)) = runs.next().await {
            match r {
                Ok(v) => {
                    results[i] = v;
                    last_branch = last_branch.max(p);
                }
                Err(f) => {
                    // The other branches are dropped now, pointing back to this failure; so
                    // does what follows (a retry's ParallelStateStarted, ParallelStateFailed),
                    // as AWS records it.
                    self.cutting.set(Some(p));
                    // In branch order (the set gives them back newest first).
                    let mut rest: Vec<_> = runs.into_iter().collect();
                    while let Some(branch) = rest.pop() {
                        drop(branch);
                    }
                    self.cutting.set(None);
                    *prev = p;
                    return Err(Failure { started: true, ..f });
                }
            }
        }
        // As recorded against AWS, the ParallelStateExited that follows points back to the
        // branches' last event, not to ParallelStateSucceeded (as a Map's end does).
        *prev = last_branch;
        self.emit(&mut prev.clone(), || {
            EventKind::other("ParallelStateSucceeded")
        });
        Ok(Value::Array(results))
    }

    /// The task attempt under `mark` (redrive, state instance, attempt), for its task token:
    /// an answer its process did not live to take goes to the same attempt run again after a
    /// resume.
    pub(super) fn attempt_name(&self, mark: Option<(&str, u32)>) -> Option<String> {
        mark.map(|(key, n)| format!("{}:{key}:{n}", self.ctx.redrive_count))
    }

    /// A Wait state's wait, `delay` from when it was entered: what is left of it (all of it,
    /// but for a Wait entered before an interruption).
    async fn wait(&self, delay: Duration, ctx: &StateContext<'_>) {
        self.services.history.sync();
        let clock = &self.services.clock;
        let since = (self.now() - ctx.entered_time).to_std().unwrap_or_default();
        let left = clock.scaled(delay).saturating_sub(since);
        // Nothing left (a Wait of 0, or sleeps that take no time): no timer at all.
        if !left.is_zero() {
            clock.sleep_as_now_counts(left).await;
        }
    }

    /// TestState's mock of the Map or Parallel state `name`, if it has one.
    fn stand_in(&self, name: &str) -> Option<&super::StandIn> {
        let hooks = self.services.test_state.as_deref()?;
        hooks.stand_in.as_ref().filter(|m| m.state == name)
    }

    /// A stand-in's answer, its failure told to TestState (which reports the error a catcher
    /// took).
    fn told(&self, answer: Result<Value, Failure>) -> Result<Value, Failure> {
        if let Err(f) = &answer {
            self.inspect("failure", &f.to_output());
        }
        answer
    }

    /// A mocked Map (TestState): its items and limits resolved and shown as AWS's TestState
    /// shows them, then the mock's answer instead of the iterations; iterations said to have
    /// failed past a declared tolerance fail it as they would in a run.
    fn mocked_map(
        &self,
        st: &State,
        map: &MapState,
        env: &Env<'_>,
        mock: &super::StandIn,
    ) -> Result<Value, Failure> {
        let mut total = None;
        // A JSONata Map's `Items` are resolved before; an ItemReader is not read.
        if map.item_reader.is_none() && !st.jsonata {
            let not_array = || {
                let path = map.items_path.as_ref().map_or("$", |p| p.as_str());
                let shown = path
                    .strip_prefix('$')
                    .filter(|p| p.starts_with('$'))
                    .unwrap_or(path);
                Failure::runtime(format!("Reference path \"{shown}\" must point to array."))
            };
            let items = match &map.items_path {
                None => Cow::Borrowed(env.input),
                Some(p) => p.eval(env).map_err(|_| not_array())?,
            };
            total = Some(items.as_array().ok_or_else(not_array)?.len());
            self.inspect("afterItemsPath", &items);
        } else if map.item_reader.is_none() {
            // A JSONata Map's input here is its items, already resolved.
            total = env.input.as_array().map(Vec::len);
        }
        let limits = states::map::Limits::resolve(map, env)?;
        self.inspect("maxConcurrency", &json!(limits.max_concurrency));
        if let Some(n) = limits.tolerated_count {
            self.inspect("toleratedFailureCount", &json!(n));
        }
        if let Some(p) = limits.tolerated_percentage {
            self.inspect("toleratedFailurePercentage", &json!(p));
        }
        let result = mock.answer.clone()?;
        if limits.configured && distributed::exceeded(&limits, mock.failed_iterations, total) {
            return Err(distributed::threshold_exceeded());
        }
        Ok(result)
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_map(
        &self,
        st: &State,
        map: &MapState,
        env: &Env<'_>,
        ctx: &StateContext<'_>,
        prev: &mut u64,
        key: Option<&str>,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        if let Some(mock) = self.stand_in(&st.name) {
            return self.told(self.mocked_map(st, map, env, mock));
        }
        if map.distributed {
            return self.run_distributed(st, map, env, ctx, prev).await;
        }
        let items_value = match &map.items_path {
            None => std::borrow::Cow::Borrowed(env.input),
            Some(p) => p.eval(env).map_err(|_| {
                Failure::runtime(format!(
                    "Invalid path '{}' : No results for path: {}",
                    p.as_str(),
                    p.bracketed()
                ))
            })?,
        };
        let Some(items) = items_value.as_array() else {
            return Err(Failure::runtime(format!(
                "Item list must be a JSON array, but was {}",
                compact(&items_value)
            )));
        };
        let limits = states::map::Limits::resolve(map, env)?;
        // Item inputs are built before any iteration starts, as AWS does.
        let mut inputs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            inputs.push(match &map.item_selector {
                None => item.clone(),
                Some(sel) => {
                    let ictx = StateContext::new(
                        ctx.execution,
                        ctx.state_name,
                        ctx.entered_time,
                        ctx.retry_count,
                    )
                    .with_item(i, item);
                    let ienv = Env::new(env.input, &ictx);
                    // `$name` in the selector (and its intrinsics) reads the variables.
                    let ienv = match env.vars {
                        Some(v) => ienv.with_vars(v),
                        None => ienv,
                    };
                    sel.eval(&ienv)?
                }
            });
        }
        let n = inputs.len();
        let started = self.emit(prev, || {
            EventKind::with_details(
                "MapStateStarted",
                "mapStateStartedEventDetails",
                json!({"length": n}),
            )
        });
        // "In this mode, the Map state supports up to 40 concurrent iterations": MaxConcurrency
        // 0 (no limit) or above 40 runs 40 at a time, as AWS does.
        let concurrency = match limits.max_concurrency {
            0 => n,
            m => m,
        }
        .clamp(1, INLINE_MAP_MAX_CONCURRENCY);
        let name = &st.name;
        let processor = &map.processor;
        // As recorded against AWS (MaxConcurrency 1): an iteration that starts when another
        // has finished (beyond the first `concurrency`) chains from that one's last state
        // event, not from its MapIterationSucceeded; the first ones from MapStateStarted.
        let finished_chain = std::cell::Cell::new(None::<u64>);
        let last_succeeded = std::cell::Cell::new(started);
        let finished_chain = &finished_chain;
        let last_succeeded = &last_succeeded;
        let mut stream = futures_util::stream::iter(inputs.into_iter().enumerate())
            .map(|(i, input)| async move {
                let scope = key.map(|k| format!("{k}/i{i}"));
                if let Some((output, ..)) = scope.as_ref().and_then(|s| self.memo.get(s)) {
                    // This iteration finished before the interruption.
                    return (i, Ok(output.clone()), started);
                }
                let mut p = match finished_chain.get() {
                    Some(last) if i >= concurrency => last,
                    _ => started,
                };
                self.emit(&mut p, || {
                    EventKind::with_stored_details(
                        "MapIterationStarted",
                        "mapIterationStartedEventDetails",
                        iteration_details(name, i),
                    )
                });
                let r = {
                    let p = &mut p;
                    let mut work = std::pin::pin!(self.run_machine(
                        processor,
                        input,
                        p,
                        scope.as_deref(),
                        new_scope(Some(vars)),
                    ));
                    // Declared after the work, so dropped before it: MapIterationAborted comes
                    // before the aborted state inside, as AWS records them.
                    let notice = AbortNotice {
                        run: self,
                        what: Aborted::Iteration(name, i),
                    };
                    let r = work.as_mut().await;
                    std::mem::forget(notice);
                    r
                };
                if r.is_ok() {
                    finished_chain.set(Some(p));
                }
                if let (Ok(output), Some(s), true) = (&r, &scope, self.durable) {
                    let memo = MemoEntry {
                        key: s,
                        next: None,
                        output: Some(output),
                    };
                    let kind = EventKind::with_stored_details(
                        "MapIterationSucceeded",
                        "mapIterationSucceededEventDetails",
                        iteration_details(name, i),
                    );
                    let id = self
                        .services
                        .history
                        .record_with_memo(p, self.now(), kind, memo);
                    last_succeeded.set(id);
                    return (i, r, p);
                }
                if r.is_ok() {
                    let mut q = p;
                    self.emit(&mut q, || {
                        EventKind::with_stored_details(
                            "MapIterationSucceeded",
                            "mapIterationSucceededEventDetails",
                            iteration_details(name, i),
                        )
                    });
                    last_succeeded.set(q);
                }
                // A failure is recorded by the Map, after what it cuts short.
                (i, r, p)
            })
            .buffer_unordered(concurrency);
        let failed = |i: usize, mut p: u64| {
            self.emit(&mut p, || {
                EventKind::with_stored_details(
                    "MapIterationFailed",
                    "mapIterationFailedEventDetails",
                    iteration_details(name, i),
                )
            });
        };
        let mut results: Vec<Value> = vec![Value::Null; n];
        while let Some((i, r, p)) = stream.next().await {
            match r {
                Ok(v) => results[i] = v,
                // "In this mode, if any iteration fails, the Map state fails. When the Map
                // state fails, all iterations stop": the tolerated-failure fields are a Map
                // Run's (DISTRIBUTED), evaluated here but not applied.
                Err(f) => {
                    // As recorded against AWS: the failed iteration first, then the iterations
                    // still in flight, dropped, and the Map's own end, all pointing back to
                    // the failure's last event.
                    failed(i, p);
                    self.cutting.set(Some(p));
                    drop(stream);
                    self.cutting.set(None);
                    *prev = p;
                    return Err(Failure { started: true, ..f });
                }
            }
        }
        // Both MapStateSucceeded and the MapStateExited after it point back to the last
        // MapIterationSucceeded, as recorded against AWS.
        *prev = last_succeeded.get();
        self.emit(&mut prev.clone(), || EventKind::other("MapStateSucceeded"));
        Ok(Value::Array(results))
    }
}

/// "In this mode, the Map state supports up to 40 concurrent iterations" (AWS, inline Map).
const INLINE_MAP_MAX_CONCURRENCY: usize = 40;

/// The result of a state's work, before ResultPath/OutputPath.
enum Outcome1 {
    /// A result to merge with ResultPath.
    Result(Value),
    /// An output that skips ResultPath (Wait, Succeed, JSONata states), with the chosen next
    /// state.
    Output(Value, Option<usize>),
    /// A JSONPath Choice's output, its next state, and the index of the rule that matched
    /// (`None`: the Default).
    Chose(Value, usize, Option<usize>),
}

/// Whether a state acts outside the engine: a task, or a Map or Parallel that runs one.
fn does_work(st: &State) -> bool {
    let any = |m: &StateMachine| m.states.iter().any(does_work);
    match &st.kind {
        Kind::Task(_) => true,
        Kind::Map(m) => any(&m.processor),
        Kind::Parallel { branches } => branches.iter().any(|b| any(b)),
        _ => false,
    }
}

/// Prefixes AWS's "An error occurred while executing the state ..." to the engine's own
/// `States.Runtime` causes.
fn in_state(f: Failure, state: &str, entered_id: u64) -> Failure {
    const PREFIX: &str = "An error occurred while executing the state";
    // The engine's own errors only: a task that reports an error of that name reports it as
    // it is (and, being the task's, it may be caught).
    if (f.error == names::RUNTIME || f.error == names::QUERY_EVALUATION_ERROR)
        && !f.from_task
        && !f.cause.starts_with(PREFIX)
    {
        return Failure {
            cause: format!(
                "{PREFIX} '{state}' (entered at the event id #{entered_id}). {}",
                f.cause
            ),
            ..f
        };
    }
    f
}

/// How AWS names a task's resource when its result is over the quota: the service of an
/// integration (`arn:aws:states:::lambda:invoke` → `lambda`), any other resource as it is (a
/// function's ARN).
fn quota_label(resource: &str) -> &str {
    let parts: Vec<&str> = resource.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", _, "states", "", "", service, ..] => service,
        _ => resource,
    }
}

/// An opaque token for a callback task, as `$$.Task.Token`.
fn task_token() -> String {
    let bytes: [u8; 24] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn retry_delay(r: &Retrier, used: u32) -> Duration {
    let mut secs = r.interval_seconds * r.backoff_rate.powi(used as i32);
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max);
    }
    if r.jitter_full {
        secs *= rand::random::<f64>();
    }
    Duration::from_secs_f64(secs.clamp(0.0, 1e9))
}

fn missing_path(path: &crate::expr::path::Path) -> Failure {
    Failure::runtime(format!(
        "Invalid path '{}' : No results for path: {}",
        path.as_str(),
        path.bracketed()
    ))
}

/// A state instance's resume key, `{scope}/{state}#{visit}` (built without `format!`, which
/// costs more than the rest of a Pass state on this path).
/// The memo key under which a state instance's failed attempt `attempt` is recorded, in the
/// execution's `redrive`-th run.
pub(crate) fn failure_mark(redrive: u32, key: &str, attempt: u32) -> String {
    format!("{FAILURE_MARK}{redrive}:{key}:{attempt}")
}

/// What failure marks start with (instance keys start with `/`).
pub(crate) const FAILURE_MARK: &str = "fail:";

/// The memo key under which a Wait state instance's first entry is recorded, in the
/// execution's `redrive`-th run.
fn entered_mark(redrive: u32, key: &str) -> String {
    format!("{ENTERED_MARK}{redrive}:{key}")
}

/// What entry marks start with.
pub(crate) const ENTERED_MARK: &str = "entered:";

fn instance_key(scope: &str, state: &str, visit: u32) -> String {
    let mut n = itoa::Buffer::new();
    let visit = n.format(visit);
    let mut k = String::with_capacity(scope.len() + state.len() + visit.len() + 2);
    k.push_str(scope);
    k.push('/');
    k.push_str(state);
    k.push('#');
    k.push_str(visit);
    k
}

/// What ResultPath and OutputPath are applied with: the state's raw input, when it was
/// entered, and its variables.
struct Output<'a> {
    raw: &'a Value,
    entered_time: DateTime<Utc>,
    /// What the state's `Assign` sets (checked, not yet applied), for its StateExited event.
    assigned: Option<&'a Map<String, Value>>,
    /// The scope the variables go to.
    scope: &'a Vars,
}

/// InputPath (or OutputPath) over `v`; `$name` paths read `vars`.
fn apply_input_path(
    f: &PathField,
    v: &Value,
    ctx: &dyn ContextProvider,
    vars: &Map<String, Value>,
) -> Result<Value, Failure> {
    match f {
        PathField::Root => Ok(v.clone()),
        PathField::Null => Ok(json!({})),
        PathField::Path(p) => match p.eval(&Env::new(v, ctx).with_vars(vars)) {
            Ok(v) => Ok(v.into_owned()),
            Err(_) => Err(missing_path(p)),
        },
    }
}

/// OutputPath: as InputPath, but `$` hands the output on without a copy.
fn apply_output_path(
    f: &PathField,
    out: Value,
    ctx: &dyn ContextProvider,
    vars: &Map<String, Value>,
) -> Result<Value, Failure> {
    match f {
        PathField::Root => Ok(out),
        _ => apply_input_path(f, &out, ctx, vars),
    }
}

fn apply_result_path(f: &PathField, raw: &Value, result: Value) -> Result<Value, Failure> {
    match f {
        PathField::Root => Ok(result),
        PathField::Null => Ok(raw.clone()),
        PathField::Path(p) => {
            let mut out = raw.clone();
            p.set(&mut out, result).map_err(|e| {
                Failure::new(
                    names::RESULT_PATH_MATCH_FAILURE,
                    format!(
                        "Unable to apply ResultPath '{}' to input '{}': {e}",
                        p.as_str(),
                        compact(raw)
                    ),
                )
            })?;
            Ok(out)
        }
    }
}

/// `TimeoutSeconds`/`HeartbeatSeconds` or their `Path` forms, in whole seconds.
fn resolve_seconds(n: Option<&Number>, env: &Env) -> Result<Option<u64>, Failure> {
    match n {
        None => Ok(None),
        Some(Number::Literal(v)) => Ok(Some(*v as u64)),
        Some(Number::Jsonata(t)) => {
            let v = env.jsonata(t, "TimeoutSeconds")?;
            match v.as_u64() {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(crate::expr::jtemplate::query_error(format!(
                    "The value of the JSONata expression must be a positive integer, but was {}",
                    compact(&v)
                ))),
            }
        }
        Some(Number::Path(p)) => match p.eval(env) {
            Err(_) => Err(missing_path(p)),
            Ok(v) => match v.as_u64() {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(Failure::runtime(format!(
                    "The value of '{}' must be a positive integer, but was {}",
                    p.as_str(),
                    compact(&v)
                ))),
            },
        },
    }
}

/// `{"name": ..., "index": ...}` of the MapIteration* events.
fn iteration_details(name: &str, index: usize) -> Vec<u8> {
    DetailsWriter::new()
        .str("name", name)
        .num("index", index as u64)
        .finish()
}

/// Size of a value as JSON text, without building the text.
pub fn payload_size(v: &Value) -> usize {
    // The length of `serde_json::to_string(v)`, counted without writing it: every state's
    // output and every task's result is measured, with or without a history.
    match v {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => number_size(n),
        Value::String(s) => string_size(s),
        Value::Array(a) => {
            2 + a.len().saturating_sub(1) + a.iter().map(payload_size).sum::<usize>()
        }
        Value::Object(m) => {
            2 + m.len().saturating_sub(1)
                + m.iter()
                    .map(|(k, v)| string_size(k) + 1 + payload_size(v))
                    .sum::<usize>()
        }
    }
}

/// A JSON string's length as serde_json writes it: quoted, with `"`, `\\` and the control
/// characters escaped (the common ones as two characters, the rest as `\u00XX`).
fn string_size(s: &str) -> usize {
    let extra: usize = s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | 0x08 | 0x0c | b'\n' | b'\r' | b'\t' => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum();
    s.len() + 2 + extra
}

fn number_size(n: &serde_json::Number) -> usize {
    if let Some(u) = n.as_u64() {
        itoa::Buffer::new().format(u).len()
    } else if let Some(i) = n.as_i64() {
        itoa::Buffer::new().format(i).len()
    } else {
        // Floats are rare in payloads: written out, as serde_json writes them.
        struct Count(usize);
        impl std::io::Write for Count {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut c = Count(0);
        let _ = serde_json::to_writer(&mut c, n);
        c.0
    }
}

impl From<EvalError> for Failure {
    fn from(e: EvalError) -> Self {
        match e {
            EvalError::Failure(f) => f,
            EvalError::PathNotFound { path } => {
                Failure::runtime(format!("Invalid path '{path}': No results for path"))
            }
        }
    }
}

/// The variables a branch of the execution sees; Map iterations and Parallel branches get a
/// copy of the outer ones, so what they assign stays in them.
pub(super) type Vars = std::rc::Rc<std::cell::RefCell<serde_json::Map<String, Value>>>;

pub(super) fn new_scope(outer: Option<&Vars>) -> Vars {
    std::rc::Rc::new(std::cell::RefCell::new(
        outer.map(|o| o.borrow().clone()).unwrap_or_default(),
    ))
}

/// `later`'s variables over `earlier`'s (a Choice state's Assign, then its matched rule's).
fn merge_assign(earlier: Option<Value>, later: Value) -> Value {
    match (earlier, later) {
        (Some(Value::Object(mut a)), Value::Object(b)) => {
            a.extend(b);
            Value::Object(a)
        }
        (_, later) => later,
    }
}

/// The variables one `Assign` set, as they appear in the state's StateExited event.
type Assigned = Option<Map<String, Value>>;

/// Most bytes (as JSON text) of one variable, and of everything one `Assign` sets.
const MAX_VARIABLE_BYTES: usize = 256 * 1024;
/// Most bytes of all the variables of a scope together.
const MAX_VARIABLES_BYTES: usize = 10 * 1024 * 1024;

/// Assigns the variables of an evaluated `Assign` object at once (catchers); returns what it
/// set.
fn assign(vars: &Vars, values: Value) -> Result<Assigned, Failure> {
    let checked = checked_assign(values)?;
    if let Some(m) = &checked {
        commit_assign(vars, m)?;
    }
    Ok(checked)
}

fn too_big(what: String, limit: usize) -> Failure {
    Failure::new(
        names::DATA_LIMIT_EXCEEDED,
        format!("{what} exceeds the maximum size of {} KiB.", limit / 1024),
    )
}

/// The variables of an evaluated `Assign` object, checked against AWS's limits on one variable
/// and on one `Assign` (`States.DataLimitExceeded` past them), not yet applied.
fn checked_assign(values: Value) -> Result<Assigned, Failure> {
    let Value::Object(m) = values else {
        return Ok(None);
    };
    let mut total = 0;
    for (k, x) in &m {
        let n = payload_size(x);
        if n > MAX_VARIABLE_BYTES {
            return Err(too_big(
                format!("The value assigned to the variable '{k}'"),
                MAX_VARIABLE_BYTES,
            ));
        }
        total += n;
    }
    if total > MAX_VARIABLE_BYTES {
        return Err(too_big(
            "The combined size of the variables of one Assign".into(),
            MAX_VARIABLE_BYTES,
        ));
    }
    Ok(Some(m))
}

/// Applies checked variables to a scope, unless all its variables together would then pass
/// 10 MiB (checked only when the scope holds others: one `Assign` alone is at most 256 KiB).
fn commit_assign(vars: &Vars, m: &Map<String, Value>) -> Result<(), Failure> {
    let mut v = vars.borrow_mut();
    if v.keys().any(|k| !m.contains_key(k)) {
        let others: usize = v
            .iter()
            .filter(|(k, _)| !m.contains_key(*k))
            .map(|(_, x)| payload_size(x))
            .sum();
        let new: usize = m.values().map(payload_size).sum();
        if others + new > MAX_VARIABLES_BYTES {
            return Err(too_big(
                "The combined size of the execution's variables".into(),
                MAX_VARIABLES_BYTES,
            ));
        }
    }
    for (k, x) in m {
        v.insert(k.clone(), x.clone());
    }
    Ok(())
}

/// JSONata's name for a value's type, as AWS's causes give it.
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What JSONata expressions see: the variables, and `$states`.
fn bindings(vars: &Vars, states: Value) -> crate::expr::jsonata::Bindings {
    let mut b: crate::expr::jsonata::Bindings = vars
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    b.insert("states".into(), states);
    b
}

#[cfg(test)]
mod size_tests {
    use super::payload_size;
    use serde_json::{json, Value};

    #[test]
    fn payload_size_is_the_length_serde_json_writes() {
        let mut values = vec![
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(-17),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1.5),
            json!(-0.0),
            json!(1e300),
            json!(2.5e-8),
            json!(""),
            json!("plain"),
            json!("quote \" backslash \\ slash / tab \t nl \n cr \r ff \u{c} bs \u{8}"),
            json!("\u{0}\u{1}\u{1f} del \u{7f} é 日本 🍕"),
            json!([]),
            json!({}),
            json!([1, [2, [3, {}]], "x"]),
            json!({"a": 1, "b\"c": [null, {"d": "e\u{2}"}], "": ""}),
        ];
        let nested = json!({"Headers": {"content-type": ["application/json"]},
            "ResponseBody": {"status": "ok", "orders": [1, 2.25, -3]}, "StatusCode": 200});
        values.push(nested.clone());
        values.push(Value::Array(vec![nested; 3]));
        for v in values {
            assert_eq!(
                payload_size(&v),
                serde_json::to_string(&v).unwrap().len(),
                "{v}"
            );
        }
    }
}
