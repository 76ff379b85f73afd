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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a workflow and print how its execution ended
    Run(RunArgs),
    /// Check workflow definitions and list every problem with its JSON location
    Validate(ValidateArgs),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The workflow definition (ASL JSON)
    pub workflow: PathBuf,
    /// Execution input as JSON text (default: {})
    #[arg(long, conflicts_with = "input_file")]
    pub input: Option<String>,
    /// Read the execution input from a file
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
    /// The test case of the mock config to use (optional when it has one)
    #[arg(long, value_name = "NAME", requires = "mock_config")]
    pub test_case: Option<String>,
    /// State machine name (default: the file name without .asl.json or .json)
    #[arg(long, value_name = "NAME")]
    pub state_machine_name: Option<String>,
    /// Multiply Wait states and retry back-off by F (0 makes them instantaneous)
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    pub wait_scale: f64,
    /// Print one DescribeExecution-shaped JSON object
    #[arg(long)]
    pub json: bool,
    /// Print the execution's event history (GetExecutionHistory shape) to stderr
    #[arg(long)]
    pub history: bool,
    /// Report engine time on stderr as `@@bench {"exec_s": S}` (for the peer benchmark)
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
