//! `Pipeline` as written → `Dag` as checked. The only place a `Dag` is built, so every later
//! stage (renderers, the local executor, the graph) can trust names, references and order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use super::error::{PipelineError, PipelineErrorKind as Kind, PipelineErrors};
use super::names::{derive_name, dns_label, numbered, truncate, unique};
use super::selection::JobGraph;
use super::{
    Axis, CommandTemplate, JobRef, Pipeline, Pos, ResourceSpec, Segment, Source, TolerationSpec,
    Word, WorkflowOptions, command, cron, params, quantity,
};

/// A validated pipeline: unique DNS-safe task names, resolved acyclic dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dag {
    /// The workflow name from the file, DNS-safe (`None` for `-c`).
    pub name: Option<String>,
    pub source: Source,
    pub options: WorkflowOptions,
    /// Tasks in the order written. A task with sweep axes stands for several jobs.
    pub tasks: Vec<Task>,
}

/// One command of the pipeline (one Argo DAG task); with axes, one job per sweep point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub name: String,
    pub text: String,
    pub command: CommandTemplate,
    pub axes: Vec<Axis>,
    /// Indices of the tasks this one waits for (sorted, no duplicates).
    pub depends: Vec<usize>,
    pub env: Vec<(String, String)>,
    pub resources: ResourceSpec,
    /// Merged over the notebook's node selector.
    pub node_selector: BTreeMap<String, String>,
    /// Appended to the notebook's tolerations.
    pub tolerations: Vec<TolerationSpec>,
    /// Own setting, else the workflow default.
    pub retries: Option<u32>,
    /// Own setting, else the workflow default.
    pub timeout: Option<Duration>,
    /// Where the job was written, for checks made after the build (see `programs`).
    pub pos: Option<Pos>,
    /// The sweep points that run (indices in `points()` order, sorted), when `--from`,
    /// `--only` or `retry` chose some (`Dag::select`); `None` runs them all, an empty list
    /// none (a task without sweep has the one point 0).
    pub only: Option<Vec<usize>>,
}

/// One runnable job: a task at one sweep point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub task: usize,
    /// The sweep point's index in the task's `points()` order (0 without a sweep).
    pub point: usize,
    pub name: String,
    /// The sweep values, one per axis of the task.
    pub values: Vec<String>,
}

/// The most jobs one pipeline may expand to, all sweep points of all tasks together. Checked
/// by `Dag::build` before anything is expanded. Why 100,000: the local engine runs that many
/// (a process and a log file each, a few hundred bytes of memory per job), and it is already
/// past what Argo can hold, whose limit is the 1 MiB workflow (~30 bytes a sweep point, ~140 a
/// task, and ~160 of status per job once run: `argo::manifest` refuses what does not fit). Beyond it, counts stop meaning jobs a
/// person asked for and start meaning a typo in a sweep (`{0..9}` ten times is 10^10).
pub const MAX_JOBS: u64 = 100_000;

impl Task {
    /// How many jobs this task expands to, or `None` when the count passes `u64::MAX`.
    pub fn checked_job_count(&self) -> Option<u64> {
        self.axes.iter().try_fold(1u64, |count, axis| {
            count.checked_mul(u64::try_from(axis.values.len()).ok()?)
        })
    }

    /// How many jobs this task expands to. A built `Dag` holds at most `MAX_JOBS`; past
    /// `usize::MAX` (only for a `Task` made by hand) it saturates rather than wrapping.
    pub fn job_count(&self) -> usize {
        self.checked_job_count()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(usize::MAX)
    }

    /// Every sweep point, as one value index per axis, in row-major order.
    pub fn points(&self) -> impl Iterator<Item = Vec<usize>> + '_ {
        let total = self.job_count();
        (0..total).map(move |mut k| {
            let mut point = vec![0; self.axes.len()];
            for (i, axis) in self.axes.iter().enumerate().rev() {
                point[i] = k % axis.values.len();
                k /= axis.values.len();
            }
            point
        })
    }

    /// Whether any of this task's jobs run.
    pub fn runs(&self) -> bool {
        self.only.as_ref().is_none_or(|points| !points.is_empty())
    }

    /// Whether the job at sweep point `point` runs.
    pub fn runs_point(&self, point: usize) -> bool {
        self.only
            .as_ref()
            .is_none_or(|points| points.binary_search(&point).is_ok())
    }

    /// The argv of the job at `values` (see `CommandTemplate::argv`).
    pub fn argv(&self, values: &[String]) -> Vec<String> {
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        self.command.argv(&refs)
    }
}

impl Dag {
    /// Checks `pipeline` and builds the DAG, or returns every problem found.
    pub fn build(pipeline: Pipeline) -> Result<Dag, PipelineErrors> {
        Builder::new(&pipeline).build(pipeline)
    }

    /// Its jobs and their dependencies, for choosing which run (`selection`): a job of task B
    /// waits for every job of every task B waits for, as Argo and the local engine run them.
    pub fn job_graph(&self) -> JobGraph {
        let jobs = self.jobs();
        let mut of_task: Vec<Vec<usize>> = vec![Vec::new(); self.tasks.len()];
        for (index, job) in jobs.iter().enumerate() {
            of_task[job.task].push(index);
        }
        JobGraph {
            depends: jobs
                .iter()
                .map(|job| {
                    self.tasks[job.task]
                        .depends
                        .iter()
                        .flat_map(|&t| of_task[t].iter().copied())
                        .collect()
                })
                .collect(),
            tasks: jobs
                .iter()
                .map(|job| self.tasks[job.task].name.clone())
                .collect(),
            jobs: jobs.into_iter().map(|job| job.name).collect(),
        }
    }

    /// Runs only the jobs `chosen` (indices in `jobs()` order): every other job is left out,
    /// and what waits for one counts it as done. Names stay as they were.
    pub fn select(&mut self, chosen: &BTreeSet<usize>) {
        let jobs = self.jobs();
        for task in &mut self.tasks {
            task.only = Some(Vec::new());
        }
        for (index, job) in jobs.iter().enumerate() {
            if chosen.contains(&index)
                && let Some(points) = &mut self.tasks[job.task].only
            {
                points.push(job.point);
            }
        }
        for task in &mut self.tasks {
            if task.only.as_ref().map(Vec::len) == Some(task.job_count()) {
                task.only = None;
            }
        }
    }

    /// The jobs that run, by name, in `jobs()` order.
    pub fn chosen_jobs(&self) -> Vec<Job> {
        self.jobs()
            .into_iter()
            .filter(|job| self.tasks[job.task].runs_point(job.point))
            .collect()
    }

    /// All jobs, sweep points expanded, task by task. Names are unique across the DAG.
    pub fn jobs(&self) -> Vec<Job> {
        let mut used: HashMap<String, usize> = self
            .tasks
            .iter()
            .filter(|t| t.axes.is_empty())
            .map(|t| (t.name.clone(), 1))
            .collect();
        let mut jobs = Vec::with_capacity(self.job_count());
        for (index, task) in self.tasks.iter().enumerate() {
            if task.axes.is_empty() {
                jobs.push(Job {
                    task: index,
                    point: 0,
                    name: task.name.clone(),
                    values: Vec::new(),
                });
                continue;
            }
            for (k, point) in task.points().enumerate() {
                let values: Vec<String> = point
                    .iter()
                    .zip(&task.axes)
                    .map(|(&v, axis)| axis.values[v].clone())
                    .collect();
                let mut name = task.name.clone();
                for value in &values {
                    name.push('-');
                    name.push_str(&dns_label(value, "x"));
                }
                let name = unique(truncate(name), &mut used);
                jobs.push(Job {
                    task: index,
                    point: k,
                    name,
                    values,
                });
            }
        }
        jobs
    }

    pub fn job_count(&self) -> usize {
        self.tasks
            .iter()
            .map(Task::job_count)
            .fold(0, usize::saturating_add)
    }

    /// Task indices in dependency order (stable: ties keep the written order).
    pub fn topological_order(&self) -> Vec<usize> {
        let deps: Vec<&[usize]> = self.tasks.iter().map(|t| t.depends.as_slice()).collect();
        kahn(&deps).unwrap_or_else(|_| (0..self.tasks.len()).collect())
    }

    /// The depth of each task: 0 for tasks with no dependencies, else 1 + the deepest dependency.
    pub fn levels(&self) -> Vec<usize> {
        let mut level = vec![0; self.tasks.len()];
        for i in self.topological_order() {
            level[i] = self.tasks[i]
                .depends
                .iter()
                .map(|&d| level[d] + 1)
                .max()
                .unwrap_or(0);
        }
        level
    }
}

/// Kahn's algorithm over `deps[i]` = what `i` waits for. `Err` holds the tasks left in cycles.
fn kahn(deps: &[&[usize]]) -> Result<Vec<usize>, Vec<usize>> {
    let n = deps.len();
    let mut waiting: Vec<usize> = deps.iter().map(|d| d.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, d) in deps.iter().enumerate() {
        for &j in *d {
            dependents[j].push(i);
        }
    }
    // A min-heap keeps the written order among ready tasks, so output is deterministic.
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = (0..n)
        .filter(|&i| waiting[i] == 0)
        .map(std::cmp::Reverse)
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(std::cmp::Reverse(i)) = ready.pop() {
        order.push(i);
        for &k in &dependents[i] {
            waiting[k] -= 1;
            if waiting[k] == 0 {
                ready.push(std::cmp::Reverse(k));
            }
        }
    }
    if order.len() == n {
        Ok(order)
    } else {
        Err((0..n).filter(|&i| waiting[i] > 0).collect())
    }
}

/// One cycle among `stuck` tasks, as a closed path of indices (first == last).
fn find_cycle(deps: &[&[usize]], stuck: &[usize]) -> Vec<usize> {
    let in_stuck: std::collections::HashSet<usize> = stuck.iter().copied().collect();
    // Walk "waits for" edges inside the stuck set until a task repeats: every stuck task
    // waits for at least one other stuck task, so the walk must close a cycle.
    let mut path = vec![stuck[0]];
    let mut seen: HashMap<usize, usize> = HashMap::from([(stuck[0], 0)]);
    loop {
        let current = *path.last().unwrap_or(&stuck[0]);
        let Some(&next) = deps[current].iter().find(|d| in_stuck.contains(d)) else {
            return path;
        };
        if let Some(&at) = seen.get(&next) {
            let mut cycle: Vec<usize> = path[at..].to_vec();
            // Present it in dependency direction: a → b means b waits for a.
            cycle.reverse();
            cycle.push(cycle[0]);
            return cycle;
        }
        seen.insert(next, path.len());
        path.push(next);
    }
}

struct Builder {
    source: String,
    errors: Vec<PipelineError>,
}

impl Builder {
    fn new(pipeline: &Pipeline) -> Self {
        Builder {
            source: pipeline.source.label(),
            errors: Vec::new(),
        }
    }

    fn error(&mut self, pos: Option<Pos>, kind: Kind) {
        self.errors
            .push(PipelineError::new(&self.source, pos, kind));
    }

    fn build(mut self, pipeline: Pipeline) -> Result<Dag, PipelineErrors> {
        if pipeline.jobs.is_empty() {
            self.error(None, Kind::EmptyPipeline);
            return Err(PipelineErrors(self.errors));
        }
        let names = self.names(&pipeline);
        self.check_job_count(&pipeline, &names);
        let depends = self.dependencies(&pipeline, &names);
        let slices: Vec<&[usize]> = depends.iter().map(Vec::as_slice).collect();
        if let Err(stuck) = kahn(&slices) {
            let cycle = find_cycle(&slices, &stuck);
            let pos = pipeline.jobs[cycle[0]].pos;
            self.error(
                pos,
                Kind::Cycle {
                    cycle: cycle.iter().map(|&i| names[i].clone()).collect(),
                },
            );
        }
        self.check_options(&pipeline.options);
        let options = pipeline.options;
        let mut tasks = Vec::with_capacity(pipeline.jobs.len());
        for ((mut job, name), depends) in pipeline.jobs.into_iter().zip(names).zip(depends) {
            // Params take their values (after `--set`) once names are made: a param never
            // changes a job's name.
            job.command.fill_params(&options.params);
            for (_, value) in &mut job.env {
                *value = params::substitute(value, &options.params);
            }
            self.check_job(&name, &job);
            tasks.push(Task {
                name,
                text: job.text,
                command: job.command,
                axes: job.axes,
                depends,
                env: job.env,
                resources: job.resources,
                node_selector: job.node_selector,
                tolerations: job.tolerations,
                retries: job.retries.or(options.retries),
                timeout: job.timeout.or(options.timeout),
                pos: job.pos,
                only: None,
            });
        }
        if !self.errors.is_empty() {
            return Err(PipelineErrors(self.errors));
        }
        Ok(Dag {
            name: pipeline.name.map(|n| dns_label(&n, "workflow")),
            source: pipeline.source,
            options,
            tasks,
        })
    }

    /// Resolves every `depends` entry and `dags` edge to task indices (sorted, no duplicates,
    /// no self-edges), reporting what does not resolve.
    fn dependencies(&mut self, pipeline: &Pipeline, names: &[String]) -> Vec<Vec<usize>> {
        // What a `depends`/`dags` reference may say: the name as made DNS-safe (the first job
        // keeps one two jobs share: that collision is reported by `names`), or as written,
        // which wins: `a-b` is the job written `a-b`, even when `a_b` also became `a-b`.
        let mut by_name: HashMap<&str, usize> = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            by_name.entry(name.as_str()).or_insert(i);
        }
        for (i, job) in pipeline.jobs.iter().enumerate() {
            if let Some(written) = &job.name {
                by_name.insert(written.as_str(), i);
            }
        }
        let count = pipeline.jobs.len();
        let mut depends: Vec<Vec<usize>> = vec![Vec::new(); count];
        let resolve = |this: &mut Self, r: &JobRef, pos: Option<Pos>| -> Option<usize> {
            match r {
                JobRef::Index(i) if (1..=count).contains(i) => Some(i - 1),
                JobRef::Index(i) => {
                    this.error(pos, Kind::IndexOutOfRange { index: *i, count });
                    None
                }
                JobRef::Name(n) => by_name.get(n.as_str()).copied().or_else(|| {
                    this.error(
                        pos,
                        Kind::UnknownJob {
                            reference: n.clone(),
                            known: names.to_vec(),
                        },
                    );
                    None
                }),
            }
        };
        for (i, job) in pipeline.jobs.iter().enumerate() {
            for r in &job.depends {
                if let Some(d) = resolve(self, r, job.pos) {
                    depends[i].push(d);
                }
            }
        }
        for edge in &pipeline.edges {
            let from = resolve(self, &edge.from, edge.pos);
            let to = resolve(self, &edge.to, edge.pos);
            match (from, to) {
                // Reported here, at the `dags` line that says it, not at the job.
                (Some(from), Some(to)) if from == to => self.error(
                    edge.pos,
                    Kind::SelfDependency {
                        job: names[to].clone(),
                    },
                ),
                (Some(from), Some(to)) => depends[to].push(from),
                _ => {}
            }
        }
        for (i, d) in depends.iter_mut().enumerate() {
            d.sort_unstable();
            d.dedup();
            if d.contains(&i) {
                let pos = pipeline.jobs[i].pos;
                self.error(
                    pos,
                    Kind::SelfDependency {
                        job: names[i].clone(),
                    },
                );
                d.retain(|&x| x != i);
            }
        }
        depends
    }

    /// Task names: explicit ones made DNS-safe (duplicates are errors), others derived from the
    /// command (`python prep.py` → `prep`) and numbered when several share one.
    fn names(&mut self, pipeline: &Pipeline) -> Vec<String> {
        // Every name taken → for an explicit name, the first job to take it, as written.
        let mut seen: HashMap<String, Option<(&str, Option<Pos>)>> = HashMap::new();
        for job in &pipeline.jobs {
            if let Some(name) = &job.name {
                // `depends: ["1"]` means the first job; a job named `1` would make it ambiguous.
                let digits = name.trim();
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    self.error(job.pos, Kind::NumericName { name: name.clone() });
                }
                let safe = truncate(dns_label(name, "job"));
                match seen.get(&safe) {
                    // The same name twice.
                    Some(Some((first, _))) if *first == name.as_str() => {
                        self.error(job.pos, Kind::DuplicateName { name: name.clone() });
                    }
                    // Two names that only the DNS-safe form makes the same: say so in the
                    // names the user wrote (`a_b` and `a-b` both become `a-b`).
                    Some(Some((first, first_pos))) => {
                        let kind = Kind::NameCollision {
                            first: (*first).to_owned(),
                            first_pos: *first_pos,
                            second: name.clone(),
                            name: safe,
                        };
                        self.error(job.pos, kind);
                    }
                    Some(None) | None => {
                        seen.insert(safe, Some((name.as_str(), job.pos)));
                    }
                }
            }
        }
        let derived: Vec<Option<String>> = pipeline
            .jobs
            .iter()
            .map(|j| j.name.is_none().then(|| derive_name(&j.command)))
            .collect();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for d in derived.iter().flatten() {
            *counts.entry(d.as_str()).or_default() += 1;
        }
        let mut next_number: HashMap<String, usize> = HashMap::new();
        pipeline
            .jobs
            .iter()
            .zip(&derived)
            .map(|(job, derived)| match (job.name.as_ref(), derived) {
                (Some(name), _) => truncate(dns_label(name, "job")),
                (None, Some(base)) => {
                    let shared = counts.get(base.as_str()).copied().unwrap_or(0) > 1
                        || seen.contains_key(base);
                    if shared {
                        loop {
                            let n = next_number.entry(base.clone()).or_insert(0);
                            *n += 1;
                            let candidate = numbered(base, *n);
                            if !seen.contains_key(&candidate) {
                                seen.insert(candidate.clone(), None);
                                break candidate;
                            }
                        }
                    } else {
                        seen.insert(base.clone(), None);
                        base.clone()
                    }
                }
                (None, None) => unreachable_name(),
            })
            .collect()
    }

    /// Counts the jobs with checked arithmetic, before anything is expanded: a sweep typo can
    /// ask for 10^10 jobs (or 2^64, which an unchecked product wraps to 0).
    fn check_job_count(&mut self, pipeline: &Pipeline, names: &[String]) {
        let mut total: Option<u64> = Some(0);
        let mut reported = false;
        for (job, name) in pipeline.jobs.iter().zip(names) {
            let count = job.axes.iter().try_fold(1u64, |count, axis| {
                count.checked_mul(u64::try_from(axis.values.len()).ok()?)
            });
            if count.is_none_or(|n| n > MAX_JOBS) {
                reported = true;
                self.error(
                    job.pos,
                    Kind::TooManyJobs {
                        job: Some(name.clone()),
                        count,
                        sizes: job.axes.iter().map(|a| a.values.len()).collect(),
                    },
                );
            }
            total = total.zip(count).and_then(|(t, n)| t.checked_add(n));
        }
        // One sweep past the cap says it all; otherwise the jobs may add up past it.
        if !reported && total.is_none_or(|n| n > MAX_JOBS) {
            self.error(
                None,
                Kind::TooManyJobs {
                    job: None,
                    count: total,
                    sizes: Vec::new(),
                },
            );
        }
    }

    fn check_job(&mut self, name: &str, job: &super::JobSpec) {
        let pos = job.pos;
        if let CommandTemplate::Exec(words) = &job.command {
            let blank = words.iter().all(|Word(s)| {
                s.iter()
                    .all(|seg| matches!(seg, Segment::Text(t) if t.trim().is_empty()))
            });
            if words.is_empty() || blank {
                self.error(
                    pos,
                    Kind::EmptyCommand {
                        job: name.to_owned(),
                    },
                );
            }
        }
        for (resource, value) in [
            ("cpu", &job.resources.cpu),
            ("memory", &job.resources.memory),
            ("gpu", &job.resources.gpu),
        ] {
            let Some(value) = value else { continue };
            let ok = if resource == "gpu" {
                quantity::is_gpu_count(value)
            } else {
                quantity::parse(value).is_some_and(|v| v > 0.0)
            };
            if !ok {
                self.error(
                    pos,
                    Kind::InvalidQuantity {
                        job: name.to_owned(),
                        resource: resource.to_owned(),
                        value: value.clone(),
                    },
                );
            }
        }
        // What reaches the job as one argument: the `sh -c` text with each sweep axis at its
        // longest value (quoted as the shell needs it).
        let longest: Vec<usize> = job
            .axes
            .iter()
            .map(|a| {
                a.values
                    .iter()
                    .map(|v| command::quoted_len(v))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let bytes = job
            .command
            .shell_text_len(&|n| longest.get(n).copied().unwrap_or(0));
        if bytes > command::MAX_ARGUMENT_BYTES {
            self.error(
                pos,
                Kind::CommandTooLong {
                    job: name.to_owned(),
                    bytes,
                    sweep: !job.axes.is_empty(),
                },
            );
        }
        let used = used_params(&job.command);
        for (n, axis) in job.axes.iter().enumerate() {
            if axis.values.is_empty() {
                self.error(
                    pos,
                    Kind::EmptyMatrixAxis {
                        job: name.to_owned(),
                        key: axis.key.clone(),
                    },
                );
            } else if !used.contains(&n) {
                self.error(
                    pos,
                    Kind::UnusedMatrixKey {
                        job: name.to_owned(),
                        key: axis.key.clone(),
                    },
                );
            }
        }
    }

    fn check_options(&mut self, options: &WorkflowOptions) {
        if let Some(schedule) = &options.schedule
            && let Err(e) = cron::check(schedule)
        {
            let schedule = schedule.clone();
            let kind = match e {
                cron::ScheduleError::Invalid(message) => {
                    Kind::InvalidSchedule { schedule, message }
                }
                cron::ScheduleError::Zone(cron::ZoneError { zone, suggestion }) => {
                    Kind::UnknownTimezone {
                        key: "schedule".to_owned(),
                        zone,
                        suggestion,
                    }
                }
                cron::ScheduleError::NeverFires => Kind::ScheduleNeverFires { schedule },
            };
            self.error(options.schedule_pos, kind);
        }
        // Argo reads `timezone` only for a schedule, but a wrong one is wrong either way.
        if let Some(zone) = &options.timezone
            && let Err(cron::ZoneError { zone, suggestion }) = cron::check_zone(zone)
        {
            self.error(
                options.timezone_pos,
                Kind::UnknownTimezone {
                    key: "timezone".to_owned(),
                    zone,
                    suggestion,
                },
            );
        }
    }
}

/// Every job has a name or a derived one; this keeps the match total without a panic.
fn unreachable_name() -> String {
    "job".to_owned()
}

fn used_params(command: &CommandTemplate) -> Vec<usize> {
    let segments: Vec<&Segment> = match command {
        CommandTemplate::Exec(words) => words.iter().flat_map(|w| w.0.iter()).collect(),
        CommandTemplate::Shell(segments) => segments.iter().collect(),
    };
    segments
        .into_iter()
        .filter_map(|s| match s {
            Segment::Param(n) => Some(*n),
            Segment::Text(_) | Segment::Const(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
