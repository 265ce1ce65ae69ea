//! Which jobs of a pipeline run: all of them, or the part `--from`, `--only` or `retry` picks.
//! Pure, over a job graph any backend can describe (a `Dag`'s jobs, a local run's record, an
//! Argo workflow's tasks and sweep points), so the three agree on what "downstream" means.
//!
//! A name given by the user is a task (all its sweep points) or one job (one point). Jobs left
//! out are not run; a job that depends on one counts it as done (for `retry`, it is: it
//! succeeded before; for `--only`/`--from`, the user said so).

use std::collections::BTreeSet;

/// The jobs and how they depend on each other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobGraph {
    /// Unique job names, in written order.
    pub jobs: Vec<String>,
    /// The task of each job (the same as its name unless the task sweeps).
    pub tasks: Vec<String>,
    /// For each job, the indices of the jobs it waits for.
    pub depends: Vec<Vec<usize>>,
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// `--from NAME`: that job (or task) and everything downstream of it.
    From(String),
    /// `--only NAME[,NAME]`: just those jobs (or tasks).
    Only(Vec<String>),
}

impl Pick {
    /// How the choice reads in notes and reasons: `--from train`, `--only prep,eval`.
    pub fn describe(&self) -> String {
        match self {
            Pick::From(name) => format!("--from {name}"),
            Pick::Only(names) => format!("--only {}", names.join(",")),
        }
    }
}

/// A name that is neither a job nor a task of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a job of this pipeline{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
pub struct UnknownJob {
    pub name: String,
    pub suggestion: Option<String>,
    /// Every task name, for the hint.
    pub tasks: Vec<String>,
}

impl UnknownJob {
    pub fn hint(&self) -> String {
        let mut tasks = self.tasks.clone();
        tasks.dedup();
        format!(
            "name a task ({}) or one of its jobs; `jupyterflow graph` lists them",
            tasks.join(", ")
        )
    }
}

impl JobGraph {
    /// The jobs a name stands for: a job by its own name, else every job of a task by that name.
    fn named(&self, name: &str) -> Result<Vec<usize>, UnknownJob> {
        if let Some(i) = self.jobs.iter().position(|j| j == name) {
            return Ok(vec![i]);
        }
        let of_task: Vec<usize> = (0..self.jobs.len())
            .filter(|&i| self.tasks[i] == name)
            .collect();
        if of_task.is_empty() {
            let candidates = self.jobs.iter().chain(&self.tasks);
            let suggestion = candidates
                .map(|c| (strsim::levenshtein(c, name), c))
                .filter(|(d, c)| *d <= 2.max(c.len() / 3))
                .min_by_key(|(d, _)| *d)
                .map(|(_, c)| c.clone());
            return Err(UnknownJob {
                name: name.to_owned(),
                suggestion,
                tasks: self.tasks.clone(),
            });
        }
        Ok(of_task)
    }

    /// `start` and every job that (transitively) waits for one of them.
    fn downstream(&self, start: impl IntoIterator<Item = usize>) -> BTreeSet<usize> {
        let mut dependents = vec![Vec::new(); self.jobs.len()];
        for (job, deps) in self.depends.iter().enumerate() {
            for &d in deps {
                dependents[d].push(job);
            }
        }
        let mut chosen: BTreeSet<usize> = BTreeSet::new();
        let mut stack: Vec<usize> = start.into_iter().collect();
        while let Some(job) = stack.pop() {
            if chosen.insert(job) {
                stack.extend(&dependents[job]);
            }
        }
        chosen
    }

    /// The jobs `pick` chooses, by index.
    pub fn pick(&self, pick: &Pick) -> Result<BTreeSet<usize>, UnknownJob> {
        match pick {
            Pick::From(name) => Ok(self.downstream(self.named(name)?)),
            Pick::Only(names) => {
                let mut chosen = BTreeSet::new();
                for name in names {
                    chosen.extend(self.named(name)?);
                }
                Ok(chosen)
            }
        }
    }

    /// What a retry runs: every job that did not succeed, and everything downstream of one.
    pub fn retry(&self, succeeded: &dyn Fn(usize) -> bool) -> BTreeSet<usize> {
        self.downstream((0..self.jobs.len()).filter(|&i| !succeeded(i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// prep → train(3 points) → eval; report independent.
    fn graph() -> JobGraph {
        JobGraph {
            jobs: [
                "prep",
                "train-0-1",
                "train-0-01",
                "train-0-001",
                "eval",
                "report",
            ]
            .map(String::from)
            .to_vec(),
            tasks: ["prep", "train", "train", "train", "eval", "report"]
                .map(String::from)
                .to_vec(),
            depends: vec![vec![], vec![0], vec![0], vec![0], vec![1, 2, 3], vec![]],
        }
    }

    fn names(g: &JobGraph, set: &BTreeSet<usize>) -> Vec<String> {
        set.iter().map(|&i| g.jobs[i].clone()).collect()
    }

    #[test]
    fn from_takes_the_job_and_everything_downstream() {
        let g = graph();
        let from_train = g.pick(&Pick::From("train".into())).expect("known");
        assert_eq!(
            names(&g, &from_train),
            ["train-0-1", "train-0-01", "train-0-001", "eval"]
        );
        let from_point = g.pick(&Pick::From("train-0-01".into())).expect("known");
        assert_eq!(names(&g, &from_point), ["train-0-01", "eval"]);
        let from_prep = g.pick(&Pick::From("prep".into())).expect("known");
        assert!(!names(&g, &from_prep).contains(&"report".to_owned()));
    }

    #[test]
    fn only_takes_just_the_named_jobs() {
        let g = graph();
        let only = g
            .pick(&Pick::Only(vec!["prep".into(), "eval".into()]))
            .expect("known");
        assert_eq!(names(&g, &only), ["prep", "eval"]);
    }

    #[test]
    fn unknown_names_are_refused_with_a_suggestion() {
        let g = graph();
        let err = g.pick(&Pick::From("trian".into())).expect_err("unknown");
        assert_eq!(err.suggestion.as_deref(), Some("train"));
        assert!(err.to_string().contains("did you mean `train`?"));
        assert!(
            err.hint().contains("prep, train, eval, report"),
            "{}",
            err.hint()
        );
        let far = g
            .pick(&Pick::Only(vec!["zzzzzzzz".into()]))
            .expect_err("unknown");
        assert_eq!(far.suggestion, None);
    }

    /// A failed sweep point reruns alone with what depends on it; the points that succeeded,
    /// and independent jobs, do not.
    #[test]
    fn retry_runs_what_did_not_succeed_and_its_downstream() {
        let g = graph();
        let failed_point = 2; // train-0-01
        let again = g.retry(&|i| i != failed_point && i != 4);
        assert_eq!(names(&g, &again), ["train-0-01", "eval"]);
        let all_good = g.retry(&|_| true);
        assert!(all_good.is_empty());
    }
}
