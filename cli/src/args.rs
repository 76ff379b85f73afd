//! Command-line flags, as plain structs (clap derive).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "asl",
    version,
    about = "Run Amazon States Language workflows locally, with AWS Step Functions' semantics"
)]
pub struct Cli {
    /// The execution database (default: $XDG_DATA_HOME/asl/asl.db, or ~/.local/share/asl/asl.db)
    #[arg(long, global = true, env = "ASL_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a workflow and print how its execution ended
    Run(RunArgs),
    /// Check workflow definitions and list every problem with its JSON location
    Validate(ValidateArgs),
    /// List stored executions, newest first
    Executions(ExecutionsArgs),
    /// Show one execution (DescribeExecution)
    Describe(DescribeArgs),
    /// Show an execution's event history (GetExecutionHistory)
    History(HistoryArgs),
    /// Stop a running execution
    Stop(StopArgs),
    /// Continue an interrupted execution from where it was, without redoing completed states
    Resume(ResumeArgs),
    /// Restart a failed, timed-out or aborted execution from the states that did not succeed
    Redrive(ResumeArgs),
    /// Delete executions that ended before a given age, with their events
    Prune(PruneArgs),
    /// Run the pizza load workflow against the bundled pizza API (or --api), with live
    /// progress, and print the load report
    Load(LoadArgs),
    /// Load report of an execution and all its children: requests, failures, latency percentiles
    Report(ReportArgs),
    /// Evaluate a JSONata expression as Step Functions does (JSONata 2.0 with $partition,
    /// $range, $hash, $random, $uuid and $parse)
    Jsonata(JsonataArgs),
    /// Complete a callback task (`.waitForTaskToken`) by its task token, from any process
    #[command(subcommand)]
    Task(TaskCommand),
    /// Create and list activities, and take their tasks as a worker (GetActivityTask)
    #[command(subcommand)]
    Activity(ActivityCommand),
    /// Serve the Step Functions API (AWS's JSON protocol) for the AWS CLI and SDKs
    Serve(ServeArgs),
    /// Run one state on its own with an input, as AWS's TestState does
    TestState(TestStateArgs),
}

#[derive(Args, Debug)]
pub struct TestStateArgs {
    /// A file holding the state's definition, or a whole state machine with --state-name
    pub definition: PathBuf,
    /// The state to test, in a whole state machine
    #[arg(long)]
    pub state_name: Option<String>,
    /// The input as JSON
    #[arg(long, conflicts_with = "input_file")]
    pub input: Option<String>,
    /// A file holding the input
    #[arg(long, value_name = "FILE")]
    pub input_file: Option<PathBuf>,
    /// INFO, DEBUG or TRACE (as TestState's inspectionLevel)
    #[arg(long, default_value = "INFO", value_parser = ["INFO", "DEBUG", "TRACE"])]
    pub inspection_level: String,
    /// What a Task's service answers instead of being called (or a Map's iterations or a
    /// Parallel's branches give instead of running), as TestState's mock:
    /// `{"result": "JSON text"}` or `{"errorOutput": {"error": "E", "cause": "C"}}`
    #[arg(long, value_name = "JSON")]
    pub mock: Option<String>,
    /// Variables the state reads, as a JSON object (TestState's variables)
    #[arg(long, value_name = "JSON")]
    pub variables: Option<String>,
    /// The retries the state already made (stateConfiguration.retrierRetryCount)
    #[arg(long, default_value_t = 0)]
    pub retrier_retry_count: u32,
    /// The context object the state reads (`$$`), as JSON; only with --mock (TestState's
    /// context)
    #[arg(long, value_name = "JSON", requires = "mock")]
    pub context: Option<String>,
    /// A mocked Map's iterations that failed (stateConfiguration.mapIterationFailureCount)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub map_iteration_failure_count: u64,
    /// The resources file a Task state runs with
    #[arg(long, value_name = "FILE", env = "ASL_RESOURCES")]
    pub resources: Option<PathBuf>,
    /// Multiply a Wait state's time by F (0: no waiting)
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    pub wait_scale: f64,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The port to listen on (0: any free one; the first line printed names it)
    #[arg(long, default_value_t = 8083)]
    pub port: u16,
    /// The address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The resources file (functions, state machines, connections) executions run with
    #[arg(long, value_name = "FILE", env = "ASL_RESOURCES")]
    pub resources: Option<PathBuf>,
    /// A MockConfigFile: StartExecution on `STATE_MACHINE_ARN#TestCase` runs that test case,
    /// as Step Functions Local does (which reads it from SFN_MOCK_CONFIG too)
    #[arg(long, value_name = "FILE", env = "SFN_MOCK_CONFIG")]
    pub mock_config: Option<PathBuf>,
    /// Multiply Wait states and retry back-off by F (0: no waiting)
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    pub wait_scale: f64,
    /// No line on stderr for each request
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum ActivityCommand {
    /// Create an activity (CreateActivity; the same name again gives the same activity)
    Create {
        /// The activity's name
        name: String,
        /// Print CreateActivity's answer as JSON
        #[arg(long)]
        json: bool,
    },
    /// List the activities (ListActivities)
    List {
        /// Print ListActivities' answer as JSON
        #[arg(long)]
        json: bool,
    },
    /// Describe an activity (DescribeActivity)
    Describe {
        /// The activity: its ARN or its name
        activity: String,
        /// Print DescribeActivity's answer as JSON
        #[arg(long)]
        json: bool,
    },
    /// Delete an activity (DeleteActivity); tasks already queued stay until they end
    Delete {
        /// The activity: its ARN or its name
        activity: String,
    },
    /// Take the oldest task queued for an activity (GetActivityTask): prints its taskToken
    /// and input as JSON, or `{}` when none came within --wait-seconds. Complete it with
    /// `asl task success|failure|heartbeat TOKEN`
    GetTask {
        /// The activity: its ARN or its name
        activity: String,
        /// The worker's name, recorded in the ActivityStarted event
        #[arg(long)]
        worker_name: Option<String>,
        /// How long to wait for a task (AWS's long poll: 60 s)
        #[arg(long, default_value_t = 60.0, value_parser = wait_seconds)]
        wait_seconds: f64,
    },
}

fn wait_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=60.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds from 0 to 60")),
    }
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// How many order workflows run at once at the end of the ramp
    #[arg(long, default_value_t = 10, allow_negative_numbers = true)]
    pub target_concurrency: u32,
    /// How long the ramp up to the target lasts (e.g. 10s, 1m)
    #[arg(
        long,
        default_value = "10s",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub ramp_up: String,
    /// How long the target concurrency is then held
    #[arg(
        long,
        default_value = "20s",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub duration: String,
    /// By how much concurrency rises each round (default: a tenth of the target, at least 1)
    #[arg(long, allow_negative_numbers = true)]
    pub step: Option<u32>,
    /// How often each order is read after it is created (0 to 1000)
    #[arg(long, default_value_t = 7, allow_negative_numbers = true)]
    pub fetches: u32,
    /// Seconds each order workflow waits between creating and reading an order (at most
    /// --duration)
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub wait_seconds: u32,
    /// Use this pizza API (its base URL, serving /order-api and /admin-api) instead of the bundled one
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// Latency the bundled API adds to every request: N or MIN-MAX milliseconds
    #[arg(long, value_name = "MS")]
    pub api_latency_ms: Option<String>,
    /// Fraction of requests the bundled API answers with 500
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub api_error_rate: f64,
    /// Also write the HTML report to FILE
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print the report as JSON instead of tables
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct JsonataArgs {
    /// The expression (or --expr-file)
    #[arg(long, conflicts_with = "expr_file")]
    pub expr: Option<String>,
    /// A file holding the expression
    #[arg(long, value_name = "FILE")]
    pub expr_file: Option<PathBuf>,
    /// The input document as JSON; an empty file is no input (undefined)
    #[arg(long, value_name = "FILE")]
    pub data_file: Option<PathBuf>,
    /// A JSON object of variables (names without the `$`)
    #[arg(long, value_name = "FILE")]
    pub bindings_file: Option<PathBuf>,
    /// Evaluation depth limit (also JSONATA_MAX_DEPTH)
    #[arg(long, env = "JSONATA_MAX_DEPTH")]
    pub max_depth: Option<usize>,
    /// Time limit in milliseconds (also JSONATA_TIMELIMIT_MS); by default a state's, 10 s or
    /// ASL_JSONATA_TIME_LIMIT_MS
    #[arg(long, env = "JSONATA_TIMELIMIT_MS")]
    pub time_limit_ms: Option<u64>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The execution: its ARN, its name, or a unique prefix of either
    pub execution: String,
    /// Print the report as JSON
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the per-state and per-endpoint rows as CSV
    #[arg(long)]
    pub csv: bool,
    /// Also write a self-contained HTML page with charts to FILE
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum TaskCommand {
    /// The task succeeded with this output (SendTaskSuccess)
    Success {
        /// The task token (`$$.Task.Token`, as the task sent it)
        token: String,
        /// The task's output, as JSON text
        #[arg(long, default_value = "{}", conflicts_with = "output_file")]
        output: String,
        /// Read the output from FILE (`-`: standard input), for outputs past a command line's
        /// length
        #[arg(long, value_name = "FILE")]
        output_file: Option<PathBuf>,
    },
    /// The task failed (SendTaskFailure)
    Failure {
        /// The task token (`$$.Task.Token`, as the task sent it)
        token: String,
        /// The error name, which Retry and Catch match (at most 256 characters); left out,
        /// the task's failure has none (a Catcher's output gives `"Error": null`), as in AWS
        #[arg(long)]
        error: Option<String>,
        /// What went wrong (at most 32,768 characters); left out, as for --error
        #[arg(long)]
        cause: Option<String>,
    },
    /// The task is still alive (SendTaskHeartbeat), resetting its HeartbeatSeconds
    Heartbeat {
        /// The task token (`$$.Task.Token`, as the task sent it)
        token: String,
    },
}

#[derive(Args, Debug)]
pub struct ExecutionsArgs {
    /// Only executions with this status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED)
    #[arg(long, value_parser = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"])]
    pub status: Option<String>,
    /// Only executions of this state machine (name or ARN)
    #[arg(long, value_name = "NAME")]
    pub state_machine: Option<String>,
    /// Only the child executions of this Map Run (its ARN); without it, Map Runs' children
    /// are left out, as ListExecutions does
    #[arg(long, value_name = "ARN")]
    pub map_run: Option<String>,
    /// At most this many (the newest)
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
    /// Continue a listing from where the previous page ended (its `nextToken`)
    #[arg(long, value_name = "TOKEN")]
    pub next_token: Option<String>,
    /// Print ListExecutions-shaped JSON (with `nextToken` when there are more)
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// The execution: its ARN, its name, or a unique prefix of either
    pub execution: String,
    /// Print DescribeExecution-shaped JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// The execution: its ARN, its name, or a unique prefix of either
    pub execution: String,
    /// Newest events first
    #[arg(long)]
    pub reverse: bool,
    /// Only events of this type (for example TaskFailed); may be repeated
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// At most this many events (a nextToken is given for the rest)
    #[arg(long, value_name = "N")]
    pub max_results: Option<usize>,
    /// Continue from a previous page's nextToken
    #[arg(long, value_name = "TOKEN")]
    pub next_token: Option<String>,
    /// Print GetExecutionHistory-shaped JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct StopArgs {
    /// The execution: its ARN, its name, or a unique prefix of either
    pub execution: String,
    /// The error recorded with the abort
    #[arg(long)]
    pub error: Option<String>,
    /// The cause recorded with the abort
    #[arg(long)]
    pub cause: Option<String>,
}

#[derive(Args, Debug)]
pub struct ResumeArgs {
    /// The execution: its ARN, its name, or a unique prefix of either
    pub execution: String,
    /// Print one DescribeExecution-shaped JSON object at the end
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Age such as 7d, 12h, 30m or 45s: executions that ended longer ago are deleted
    #[arg(long, value_name = "AGE")]
    pub older_than: String,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The workflow definition (ASL JSON)
    pub workflow: PathBuf,
    /// Execution input as JSON text (default: {})
    #[arg(long, conflicts_with = "input_file")]
    pub input: Option<String>,
    /// Read the execution input from a file (- for standard input)
    #[arg(long, value_name = "FILE")]
    pub input_file: Option<PathBuf>,
    /// Execution name (default: a random UUID)
    #[arg(long)]
    pub name: Option<String>,
    /// Replace ${KEY} placeholders in the definition, as SAM's DefinitionSubstitutions do
    #[arg(long = "sub", value_name = "KEY=VALUE")]
    pub subs: Vec<String>,
    /// Mocked task responses, in Step Functions Local's MockConfigFile format
    #[arg(long, value_name = "FILE")]
    pub mock_config: Option<PathBuf>,
    /// The resources file: functions, state machines for nested executions, HTTP connections
    /// (default: $ASL_RESOURCES, else asl-resources.json beside the workflow, if present)
    #[arg(long, value_name = "FILE")]
    pub resources: Option<PathBuf>,
    /// The test case of the mock config to use (optional when it has one)
    #[arg(long, value_name = "NAME", requires = "mock_config")]
    pub test_case: Option<String>,
    /// State machine name (default: the file name without .asl.json or .json)
    #[arg(long, value_name = "NAME")]
    pub state_machine_name: Option<String>,
    /// Multiply Wait states, retry back-off and time limits by F (0 makes waits instantaneous
    /// and leaves time limits as they are)
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    pub wait_scale: f64,
    /// Print one DescribeExecution-shaped JSON object
    #[arg(long)]
    pub json: bool,
    /// Do not store the execution (no history, nothing to resume)
    #[arg(long)]
    pub no_store: bool,
    /// The state machine's type, as CreateStateMachine sets it: an EXPRESS execution runs five
    /// minutes at most, refuses .sync and .waitForTaskToken tasks, keeps the history its
    /// --log-level logs, and is neither resumed nor redriven
    #[arg(long = "type", value_name = "TYPE", value_parser = ["STANDARD", "EXPRESS"], default_value = "STANDARD")]
    pub execution_type: String,
    /// What an EXPRESS execution's history keeps, as its CloudWatch logging level: ALL events,
    /// the ERROR events, the FATAL ones (the execution's failure), or none (OFF)
    #[arg(long, value_parser = ["ALL", "ERROR", "FATAL", "OFF"], default_value = "ALL")]
    pub log_level: String,
    /// A local directory standing for an S3 bucket (DISTRIBUTED Map's ItemReader, ResultWriter)
    #[arg(long = "bucket", value_name = "NAME=DIR")]
    pub buckets: Vec<String>,
    /// Report engine time on stderr as `@@bench {"exec_s": S, "flush_s": F, "engine_cpu_s": C}`
    /// (for benchmarks; C is the engine thread's own CPU time)
    #[arg(long, hide = true)]
    pub timing: bool,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Definition files to check
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Replace ${KEY} placeholders before checking
    #[arg(long = "sub", value_name = "KEY=VALUE")]
    pub subs: Vec<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}
