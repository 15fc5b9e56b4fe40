//! Generates the per-task parts of `infra/template.yaml` from the task registry.
//!
//! Usage: `cargo run -p shopsync-e2e --bin gen_template` rewrites the template in place;
//! `… --bin gen_template -- --check` only reports whether it is up to date (exit status 1 and a
//! diff when it is not).
//!
//! **The one input list** is `shopsync_tasks::registry::REGISTRY` (the tasks this release
//! implements), in its order. Everything else about a task comes from the catalogue
//! (`shopsync_domain::catalogue`): its name (`sync-inventory`), from which the logical-id prefix
//! (`SyncInventory`) and the environment suffix (`SYNC_INVENTORY`) are derived, its default cron
//! schedule and its reference report. Adding a task is therefore its `Registration` and a run of
//! this command.
//!
//! The template marks each generated region with a pair of comment lines,
//! `# BEGIN GENERATED <region> …` and `# END GENERATED <region>`; the lines between them are
//! replaced (text after the region name on a marker line is a free comment), everything else is
//! left as written. The regions (per-task pieces live in several YAML sections):
//!
//! | region | section | per task |
//! | --- | --- | --- |
//! | `task-parameters` | `Parameters` | `<Task>Schedule` (default: the catalogue's cron); for a task pushed by webhooks, `<Task>WebhookEventBus` |
//! | `task-conditions` | `Conditions` | for a task pushed by webhooks, `<Task>HasWebhookEventBus` |
//! | `task-queue-urls` | `Globals.Function.Environment.Variables` | `QUEUE_URL_<TASK>: !Ref <Task>Queue` |
//! | `task-resources` | `Resources` | queue, log group, role, function (with its cron and SQS events); for a task pushed by webhooks, the EventBridge rule to its queue and the queue policy |
//! | `task-queue-arns` | `TaskQueueSendPolicy` (api and status roles) | `!GetAtt <Task>Queue.Arn` |
//! | `task-outputs` | `Outputs` | `<Task>QueueUrl`, `<Task>FunctionName` |
//!
//! The alarm (dead-letter queue depth) and the dashboard (SEARCH expressions over the `Task`
//! dimension) are shared and need no per-task lines. `tests/e2e/tests/suite/template.rs` renders the
//! template in memory and fails when the file differs from this output.

use shopsync_domain::TaskKind;
use std::path::PathBuf;

/// The command that regenerates the template (quoted in error messages and the docs).
pub const COMMAND: &str = "cargo run -p shopsync-e2e --bin gen_template";

/// Function names are `<stack name>-<task>`, at most 64 characters, and the stack name may have 40.
const MAX_TASK_NAME: usize = 64 - 40 - 1;

/// What the template needs to know about one task, all derived from the registry and catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEntry {
    /// Task and function package name, e.g. `sync-inventory`.
    pub name: &'static str,
    /// Logical-id prefix, e.g. `SyncInventory`.
    pub logical: String,
    /// Environment-variable suffix, e.g. `SYNC_INVENTORY`.
    pub env: String,
    /// Default EventBridge schedule (the catalogue's cron).
    pub schedule: &'static str,
    /// The reference connector's report this task ports.
    pub report: u32,
    /// Shopify webhook topics that push the task (the catalogue's `pushed_by`); empty for most.
    pub pushed: &'static [&'static str],
}

impl TaskEntry {
    pub fn of(kind: TaskKind) -> TaskEntry {
        let name = kind.name();
        let spec = kind.spec();
        TaskEntry {
            name,
            logical: name
                .split('-')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect(),
            env: name.to_ascii_uppercase().replace('-', "_"),
            schedule: spec.default_schedule,
            report: spec.reference_report,
            pushed: spec.pushed_by(),
        }
    }
}

/// The input list: the registry's tasks, in registry order.
pub fn registered_tasks() -> Vec<TaskEntry> {
    shopsync_tasks::registry::REGISTRY
        .iter()
        .map(|r| TaskEntry::of(r.kind))
        .collect()
}

pub fn template_path() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize()
        .unwrap_or(root)
        .join("infra/template.yaml")
}

// ---- the per-task pieces ---------------------------------------------------------------------------
// Placeholders: {task} sync-inventory, {Task} SyncInventory, {TASK} SYNC_INVENTORY, {schedule} the
// default cron (a YAML scalar), {report} the reference report. `${...}` is CloudFormation's !Sub.

const PARAMETER: &str = r#"  {Task}Schedule:
    Type: String
    Default: {schedule}
    Description: >
      EventBridge schedule of the {task} fan-out (UTC; default: the task catalogue's). Each
      tick queues only the shops whose own interval (settings tasks.{task}.interval_minutes)
      has elapsed.
{pushed_parameter}"#;

/// For a task pushed by Shopify webhooks: the event bus its partner event source feeds.
const PUSHED_PARAMETER: &str = r#"  {Task}WebhookEventBus:
    Type: String
    Default: ""
    Description: >
      Name of the event bus of the Shopify app's EventBridge partner event source
      (aws.partner/shopify.com/<app id>/<name>); empty = {task} is not pushed by webhooks, only run on
      its schedule and on request.
"#;

const CONDITION: &str = "{pushed_condition}";

const PUSHED_CONDITION: &str = r#"  {Task}HasWebhookEventBus: !Not [!Equals [!Ref {Task}WebhookEventBus, ""]]
"#;

/// The rule that sends the task's webhooks to its queue, and the queue policy that lets it.
const PUSHED_RESOURCES: &str = r#"
  {Task}WebhookRule:
    Type: AWS::Events::Rule
    Condition: {Task}HasWebhookEventBus
    Properties:
      Description: Shopify webhooks that push {task}
      EventBusName: !Ref {Task}WebhookEventBus
      EventPattern:
        detail-type: [shopifyWebhook]
        detail:
          metadata:
            X-Shopify-Topic: [{topics}]
      Targets:
        - Id: {task}-queue
          Arn: !GetAtt {Task}Queue.Arn

  {Task}WebhookQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Condition: {Task}HasWebhookEventBus
    Properties:
      Queues: [!Ref {Task}Queue]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: ShopifyWebhooks
            Effect: Allow
            Principal:
              Service: events.amazonaws.com
            Action: sqs:SendMessage
            Resource: !GetAtt {Task}Queue.Arn
            Condition:
              ArnEquals:
                aws:SourceArn: !GetAtt {Task}WebhookRule.Arn
"#;

const QUEUE_URL: &str = "        QUEUE_URL_{TASK}: !Ref {Task}Queue\n";

const RESOURCES: &str = r#"  # ================================================================================================
  # BEGIN TASK {task} (reference report {report})
  # The schedule invokes the fan-out (one message per due shop); the queue feeds the worker.
  # ================================================================================================
  {Task}Queue:
    Type: AWS::SQS::Queue
    DeletionPolicy: Delete
    UpdateReplacePolicy: Delete
    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_27
            comment: Encrypted with SSE-SQS (SqsManagedSseEnabled); see DeadLetterQueue.
    Properties:
      # Standard, not FIFO: deferred jobs are re-sent with a per-message DelaySeconds.
      # At least 6 x the function timeout (900 s), so a live run's message is never redelivered.
      VisibilityTimeout: 5400
      MessageRetentionPeriod: 345600
      SqsManagedSseEnabled: true
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt DeadLetterQueue.Arn
        maxReceiveCount: !Ref MaxReceiveCount

  {Task}LogGroup:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Delete
    UpdateReplacePolicy: Delete
    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_158
            comment: CloudWatch Logs encrypts at rest by default; logs hold no secrets (see ApiLogGroup).
    Properties:
      LogGroupName: !Sub /aws/lambda/${AWS::StackName}-{task}
      RetentionInDays: !Ref LogRetentionDays

  {Task}Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: lambda.amazonaws.com
            Action: sts:AssumeRole
      Policies:
        - PolicyName: {task}
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Sid: WriteOwnLogs
                Effect: Allow
                Action: [logs:CreateLogStream, logs:PutLogEvents]
                Resource: !GetAtt {Task}LogGroup.Arn
              - Sid: Traces
                Effect: Allow
                Action: [xray:PutTraceSegments, xray:PutTelemetryRecords]
                Resource: "*"
              - Sid: Table
                Effect: Allow
                Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem, dynamodb:Query, dynamodb:BatchGetItem, dynamodb:BatchWriteItem, dynamodb:ConditionCheckItem, dynamodb:DescribeTable]
                Resource:
                  - !GetAtt ShopsyncTable.Arn
                  - !Sub ${ShopsyncTable.Arn}/index/*
              - Sid: ConsumeOwnQueue
                Effect: Allow
                Action: [sqs:ReceiveMessage, sqs:DeleteMessage, sqs:ChangeMessageVisibility, sqs:GetQueueAttributes]
                Resource: !GetAtt {Task}Queue.Arn
              - Sid: SendToOwnQueueAndDeadLetters
                Effect: Allow
                Action: sqs:SendMessage
                Resource:
                  - !GetAtt {Task}Queue.Arn
                  - !GetAtt DeadLetterQueue.Arn
              - Sid: ShopSecrets
                Effect: Allow
                Action: secretsmanager:GetSecretValue
                Resource: !Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:shopsync/*

  {Task}Function:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      checkov:
        skip:
          - id: CKV_AWS_116
            comment: >
              Failed scheduled invocations go to the dead-letter queue through EventInvokeConfig
              OnFailure (the check only knows DeadLetterConfig); failed queue messages reach it through
              the queue's redrive policy.
          - id: CKV_AWS_117
            comment: >
              Calls only public endpoints (Shopify, Business Central, AWS APIs); a VPC would need NAT
              gateways and protects nothing here.
          - id: CKV_AWS_115
            comment: >
              Concurrency is bounded by the SQS event source's MaximumConcurrency; reserving it would
              fail deployment in accounts at the minimum unreserved concurrency.
          - id: CKV_AWS_173
            comment: Environment variables hold resource names only, no secrets; Lambda encrypts them at rest by default.
    Properties:
      FunctionName: !Sub ${AWS::StackName}-{task}
      Description: Shopsync {task} - scheduled fan-out and per-shop worker
      # Relative to this template's folder.
      CodeUri: ../functions/{task}
      Role: !GetAtt {Task}Role.Arn
      LoggingConfig:
        LogGroup: !Ref {Task}LogGroup
      Environment:
        Variables:
          TASK: {task}
          TASK_QUEUE_URL: !Ref {Task}Queue
      EventInvokeConfig:
        # The scheduled fan-out is cheap and idempotent (conditional job creation); retry it once,
        # then record the failed event on the dead-letter queue.
        MaximumRetryAttempts: 1
        MaximumEventAgeInSeconds: 900
        DestinationConfig:
          OnFailure:
            Type: SQS
            Destination: !GetAtt DeadLetterQueue.Arn
      Events:
        Schedule:
          Type: Schedule
          Properties:
            Description: {task} fan-out
            Schedule: !Ref {Task}Schedule
            Enabled: true
        Worker:
          Type: SQS
          Properties:
            Queue: !GetAtt {Task}Queue.Arn
            BatchSize: 10
            FunctionResponseTypes:
              - ReportBatchItemFailures
            ScalingConfig:
              MaximumConcurrency: 5
{pushed_resources}  # ================================================================================================
  # END TASK {task}
  # ================================================================================================
"#;

const QUEUE_ARN: &str = "              - !GetAtt {Task}Queue.Arn\n";

const OUTPUTS: &str = r#"  {Task}QueueUrl:
    Description: Task queue of {task} (QUEUE_URL_{TASK})
    Value: !Ref {Task}Queue
  {Task}FunctionName:
    Value: !Ref {Task}Function
"#;

/// (region name, per-task piece, separator between two tasks' pieces).
const REGIONS: [(&str, &str, &str); 6] = [
    ("task-parameters", PARAMETER, ""),
    ("task-conditions", CONDITION, ""),
    ("task-queue-urls", QUEUE_URL, ""),
    ("task-resources", RESOURCES, "\n"),
    ("task-queue-arns", QUEUE_ARN, ""),
    ("task-outputs", OUTPUTS, ""),
];

const BEGIN: &str = "# BEGIN GENERATED ";
const END: &str = "# END GENERATED ";

/// A cron/rate expression as a YAML scalar: plain when that is unambiguous, else double-quoted.
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " ()*?/,-#".contains(c))
        && !s.contains(" #");
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).expect("a string serialises")
    }
}

fn fill(piece: &str, t: &TaskEntry) -> String {
    let pushed = |p: &str| if t.pushed.is_empty() { "" } else { p }.to_string();
    piece
        .replace("{pushed_parameter}", &pushed(PUSHED_PARAMETER))
        .replace("{pushed_condition}", &pushed(PUSHED_CONDITION))
        .replace("{pushed_resources}", &pushed(PUSHED_RESOURCES))
        .replace("{topics}", &t.pushed.join(", "))
        .replace("{task}", t.name)
        .replace("{Task}", &t.logical)
        .replace("{TASK}", &t.env)
        .replace("{schedule}", &yaml_scalar(t.schedule))
        .replace("{report}", &t.report.to_string())
}

fn check_tasks(tasks: &[TaskEntry]) -> Result<(), String> {
    if tasks.is_empty() {
        return Err("no task is registered: the template needs at least one task".into());
    }
    for (i, t) in tasks.iter().enumerate() {
        if tasks[..i].iter().any(|o| o.name == t.name) {
            return Err(format!("{} is listed twice", t.name));
        }
        if t.name.len() > MAX_TASK_NAME
            || !t
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "task name {:?} must be lower-case kebab case of at most {MAX_TASK_NAME} characters \
                 (function names are <stack name (40)>-<task>, at most 64)",
                t.name
            ));
        }
    }
    Ok(())
}

/// The region named after a marker: its first word, without a trailing `:`.
fn region_name(rest: &str) -> &str {
    let word = rest.split_whitespace().next().unwrap_or("");
    word.strip_suffix(':').unwrap_or(word)
}

/// `template` with every generated region replaced by the pieces of `tasks`. Fails when a region's
/// markers are missing, repeated, unbalanced or unknown.
pub fn render(template: &str, tasks: &[TaskEntry]) -> Result<String, String> {
    check_tasks(tasks)?;
    let mut out = String::with_capacity(template.len() + 8192);
    let mut open: Option<(&str, usize)> = None;
    let mut done: Vec<&str> = Vec::new();
    for (i, line) in template.split_inclusive('\n').enumerate() {
        let trimmed = line.trim();
        let lineno = i + 1;
        if let Some(rest) = trimmed.strip_prefix(BEGIN) {
            let name = region_name(rest);
            if let Some((other, at)) = open {
                return Err(format!(
                    "line {lineno}: BEGIN GENERATED {name} inside {other} (opened at line {at})"
                ));
            }
            let Some((region, piece, sep)) = REGIONS.iter().find(|(r, _, _)| *r == name) else {
                return Err(format!(
                    "line {lineno}: unknown generated region {name:?} (known: {})",
                    REGIONS.map(|r| r.0).join(", ")
                ));
            };
            if done.contains(region) {
                return Err(format!(
                    "line {lineno}: generated region {region} appears twice"
                ));
            }
            out.push_str(line);
            let pieces: Vec<String> = tasks.iter().map(|t| fill(piece, t)).collect();
            out.push_str(&pieces.join(sep));
            open = Some((region, lineno));
        } else if let Some(rest) = trimmed.strip_prefix(END) {
            let name = region_name(rest);
            match open {
                Some((region, _)) if region == name => {
                    out.push_str(line);
                    done.push(region);
                    open = None;
                }
                _ => {
                    return Err(format!(
                        "line {lineno}: END GENERATED {name} without its BEGIN"
                    ));
                }
            }
        } else if open.is_none() {
            out.push_str(line);
        }
    }
    if let Some((region, at)) = open {
        return Err(format!(
            "generated region {region} (line {at}) has no END GENERATED {region}"
        ));
    }
    let missing: Vec<&str> = REGIONS
        .iter()
        .map(|r| r.0)
        .filter(|r| !done.contains(r))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the template lacks the generated region(s) {}: put `{BEGIN}<region>` and \
             `{END}<region>` comment lines where the per-task pieces belong",
            missing.join(", ")
        ));
    }
    Ok(out)
}

/// A line diff of `old` (the file) against `new` (the generator's output), at most `max` lines of
/// changes, each as `-<line in old>: text` or `+<line in new>: text`. Empty when they are equal.
pub fn diff(old: &str, new: &str, max: usize) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Longest common subsequence, from the end.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut lines = Vec::new();
    let mut changes = 0usize;
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
            continue;
        }
        changes += 1;
        if j == b.len() || (i < a.len() && lcs[i + 1][j] >= lcs[i][j + 1]) {
            if lines.len() < max {
                lines.push(format!("-{}: {}", i + 1, a[i]));
            }
            i += 1;
        } else {
            if lines.len() < max {
                lines.push(format!("+{}: {}", j + 1, b[j]));
            }
            j += 1;
        }
    }
    if changes > lines.len() {
        lines.push(format!(
            "… and {} more changed lines",
            changes - lines.len()
        ));
    }
    lines.join("\n")
}

fn main() {
    let check = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--check") => true,
        Some(other) => {
            eprintln!("usage: {COMMAND} [-- --check]   (unknown argument {other:?})");
            std::process::exit(2);
        }
    };
    let path = template_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let tasks = registered_tasks();
    let names: Vec<&str> = tasks.iter().map(|t| t.name).collect();
    let rendered = render(&text, &tasks).unwrap_or_else(|e| {
        eprintln!("{}: {e}", path.display());
        std::process::exit(1);
    });
    if rendered == text {
        println!(
            "{} is up to date (tasks: {})",
            path.display(),
            names.join(", ")
        );
        return;
    }
    if check {
        eprintln!(
            "{} differs from the generated task regions (tasks: {}); run `{COMMAND}`:\n{}",
            path.display(),
            names.join(", "),
            diff(&text, &rendered, 60)
        );
        std::process::exit(1);
    }
    std::fs::write(&path, &rendered)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    println!(
        "regenerated the task regions of {} (tasks: {}):\n{}",
        path.display(),
        names.join(", "),
        diff(&text, &rendered, 60)
    );
}
