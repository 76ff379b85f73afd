//! The typed, validated model of a state machine definition. Every path, template, intrinsic
//! and choice rule is already compiled; state references are indices.

use crate::expr::intrinsics::Call;
use crate::expr::jtemplate::JTemplate;
use crate::expr::path::Path;
use crate::expr::template::Template;
use chrono::{DateTime, FixedOffset};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// A state machine, or a Parallel branch, or a Map's item processor.
#[derive(Debug)]
pub struct StateMachine {
    pub start_at: usize,
    pub states: Vec<State>,
    pub names: HashMap<String, usize>,
    pub timeout_seconds: Option<u64>,
    pub comment: Option<String>,
}

impl StateMachine {
    pub fn state(&self, name: &str) -> Option<&State> {
        self.names.get(name).map(|&i| &self.states[i])
    }

    /// Whether a state of this name is anywhere in it (Parallel branches and Map item
    /// processors included).
    /// The state named `name` in this machine or any branch or Map inside it.
    pub fn state_anywhere(&self, name: &str) -> Option<&State> {
        if let Some(&i) = self.names.get(name) {
            return self.states.get(i);
        }
        self.states.iter().find_map(|s| match &s.kind {
            Kind::Parallel { branches } => branches.iter().find_map(|b| b.state_anywhere(name)),
            Kind::Map(m) => m.processor.state_anywhere(name),
            _ => None,
        })
    }

    pub fn has_state_anywhere(&self, name: &str) -> bool {
        self.names.contains_key(name)
            || self.states.iter().any(|s| match &s.kind {
                Kind::Parallel { branches } => branches.iter().any(|b| b.has_state_anywhere(name)),
                Kind::Map(m) => m.processor.has_state_anywhere(name),
                _ => false,
            })
    }
}

#[derive(Debug)]
pub struct State {
    pub name: String,
    /// Whether the state's QueryLanguage is JSONata (its own, or the state machine's).
    pub jsonata: bool,
    /// JSONata: `Arguments` (Task, Parallel, Map).
    pub arguments: Option<JTemplate>,
    /// JSONata: `Output`.
    pub output: Option<JTemplate>,
    /// Variables to assign when the state ends.
    pub assign: Option<Assign>,
    pub kind: Kind,
    pub input_path: PathField,
    pub output_path: PathField,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: PathField,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub transition: Transition,
}

/// `Assign`: JSONata expressions, or a JSONPath payload template.
#[derive(Debug, Clone)]
pub enum Assign {
    Jsonata(JTemplate),
    JsonPath(Template),
}

/// `InputPath`, `OutputPath`, `ResultPath`: absent means `$`, `null` means discard.
#[derive(Debug, Clone)]
pub enum PathField {
    Root,
    Null,
    Path(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Next(usize),
    End,
    /// Choice, Succeed and Fail states choose their own way out.
    Terminal,
}

#[derive(Debug)]
pub enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task(Box<Task>),
    Choice {
        choices: Vec<Choice>,
        default: Option<usize>,
    },
    Wait(Wait),
    Succeed,
    Fail {
        error: Option<Text>,
        cause: Option<Text>,
    },
    Parallel {
        branches: Vec<Arc<StateMachine>>,
    },
    Map(Box<MapState>),
}

impl Kind {
    /// The `Type` as written in the definition (and in history event names).
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass { .. } => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

#[derive(Debug)]
pub struct Task {
    pub resource: String,
    pub timeout: Option<Number>,
    pub heartbeat: Option<Number>,
    pub credentials: Option<Value>,
}

/// A number given literally or by a reference path (`TimeoutSecondsPath`, ...).
#[derive(Debug, Clone)]
pub enum Number {
    Literal(f64),
    Path(Path),
    /// A JSONata state's `{% %}` expression.
    Jsonata(JTemplate),
}

/// A string given literally, by a path or by an intrinsic (`Error`/`ErrorPath`, `Cause`/`CausePath`).
#[derive(Debug, Clone)]
pub enum Text {
    Literal(String),
    Path(Path),
    Call(Box<Call>),
    Jsonata(JTemplate),
}

#[derive(Debug)]
pub enum Wait {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(DateTime<FixedOffset>),
    TimestampPath(Path),
    /// JSONata `{% %}` expressions for `Seconds` or `Timestamp`.
    SecondsJsonata(JTemplate),
    TimestampJsonata(JTemplate),
}

#[derive(Debug)]
pub struct MapState {
    pub items_path: Option<Path>,
    pub item_selector: Option<Template>,
    /// JSONata: `Items` and `ItemSelector`.
    pub items: Option<JTemplate>,
    pub item_selector_jsonata: Option<JTemplate>,
    pub processor: Arc<StateMachine>,
    pub distributed: bool,
    pub max_concurrency: Option<Number>,
    pub tolerated_failure_count: Option<Number>,
    pub tolerated_failure_percentage: Option<Number>,
    pub label: Option<String>,
    /// `ProcessorConfig.ExecutionType` of a DISTRIBUTED Map (STANDARD when absent).
    pub express: bool,
    /// The `ItemProcessor` as written (without `ProcessorConfig`): the definition that a
    /// DISTRIBUTED Map's child executions are recorded with.
    pub processor_source: Arc<Value>,
    pub item_reader: Option<ItemReader>,
    pub item_batcher: Option<ItemBatcher>,
    pub result_writer: Option<ResultWriter>,
}

/// A payload of a JSONPath state (a template with `.$` fields) or of a JSONata state
/// (`{% %}` expressions).
#[derive(Debug)]
pub enum Payload {
    Path(Template),
    Jsonata(JTemplate),
}

impl Payload {
    /// The value of field `field` for the state's input and bindings in `env`.
    pub fn eval(
        &self,
        env: &crate::expr::Env<'_>,
        field: &str,
    ) -> Result<Value, crate::failure::Failure> {
        match self {
            Payload::Path(t) => t.eval(env),
            Payload::Jsonata(t) => env.jsonata(t, field),
        }
    }
}

/// `ItemReader`: where a DISTRIBUTED Map reads its items (S3, here a local directory).
#[derive(Debug)]
pub struct ItemReader {
    pub resource: ReaderResource,
    /// `Parameters` (JSONPath) or `Arguments` (JSONata): `Bucket`, `Key`, `Prefix`...,
    /// evaluated against the state's input.
    pub parameters: Option<Payload>,
    pub input_type: Option<InputType>,
    pub csv_headers: Option<Vec<String>>,
    /// The `CSVDelimiter` byte (`,` by default).
    pub csv_delimiter: u8,
    pub max_items: Option<Number>,
    /// `ItemsPointer`: a JSON pointer to the array inside a JSON file.
    pub items_pointer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderResource {
    GetObject,
    ListObjectsV2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    Json,
    Jsonl,
    Csv,
    Manifest,
}

/// `ItemBatcher`: several items per child execution.
#[derive(Debug)]
pub struct ItemBatcher {
    pub max_items_per_batch: Option<Number>,
    pub max_input_bytes_per_batch: Option<Number>,
    pub batch_input: Option<Payload>,
}

/// `ResultWriter`: the child executions' results exported to files (and/or reshaped).
#[derive(Debug)]
pub struct ResultWriter {
    /// `Parameters` or `Arguments` (`Bucket`, `Prefix`); none when only `WriterConfig` is given.
    pub parameters: Option<Payload>,
    pub transformation: Transformation,
    pub jsonl: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transformation {
    None,
    Compact,
    Flatten,
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub jitter_full: bool,
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: usize,
    pub result_path: PathField,
    /// JSONata: `Output` (over `$states.errorOutput`).
    pub output: Option<JTemplate>,
    /// JSONata over `$states.errorOutput`, or a JSONPath template over the error output.
    pub assign: Option<Assign>,
}

/// One entry of `Choices`: the rule, where it leads, and what it assigns and outputs when it
/// is the one that matches (its `Assign` on top of the state's, its `Output` in place of the
/// state's).
#[derive(Debug, Clone)]
pub struct Choice {
    pub rule: ChoiceRule,
    pub next: usize,
    pub assign: Option<Assign>,
    /// JSONata states only.
    pub output: Option<JTemplate>,
}

/// A Choice rule: a Boolean combination of comparisons.
#[derive(Debug, Clone)]
pub enum ChoiceRule {
    /// A JSONata state's `Condition`.
    Condition(JTemplate),
    And(Vec<ChoiceRule>),
    Or(Vec<ChoiceRule>),
    Not(Box<ChoiceRule>),
    Compare {
        variable: Path,
        op: Operator,
        operand: Operand,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

#[derive(Debug, Clone)]
pub enum Operand {
    Literal(Value),
    /// A `StringMatches` pattern, split on unescaped `*`.
    Pattern(Vec<String>),
    Timestamp(DateTime<FixedOffset>),
    Path(Path),
}
