//! Draws a validated DAG as text (`ascii`), Mermaid or Graphviz dot. Pure: returns a string.
//! A sweep is drawn once, with its job count, so a 10,000-point sweep stays one line.

use std::fmt::Write as _;

use crate::pipeline::Dag;

/// How to draw a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GraphFormat {
    Ascii,
    Mermaid,
    Dot,
}

/// How graphs and plans mark a notebook step.
pub(crate) const NOTEBOOK_MARK: &str = "[notebook]";

pub(crate) fn draw(dag: &Dag, format: GraphFormat) -> String {
    match format {
        GraphFormat::Ascii => ascii(dag),
        GraphFormat::Mermaid => mermaid(dag),
        GraphFormat::Dot => dot(dag),
    }
}

fn label(dag: &Dag, i: usize) -> String {
    let task = &dag.tasks[i];
    match task.job_count() {
        1 => task.name.clone(),
        n => format!("{} x{n}", task.name),
    }
}

/// The command as written; a notebook step is marked as one (it runs through the driver).
fn command(dag: &Dag, i: usize) -> String {
    let task = &dag.tasks[i];
    let text = task.command.display(&task.axes);
    if task.notebook_path().is_some() {
        format!("{NOTEBOOK_MARK} {text}")
    } else {
        text
    }
}

/// One line per task, grouped by stage (depth): `[stage] name  command  <- dependencies`.
fn ascii(dag: &Dag) -> String {
    let levels = dag.levels();
    let mut order: Vec<usize> = (0..dag.tasks.len()).collect();
    order.sort_by_key(|&i| (levels[i], i));
    let labels: Vec<String> = (0..dag.tasks.len()).map(|i| label(dag, i)).collect();
    let commands: Vec<String> = (0..dag.tasks.len()).map(|i| command(dag, i)).collect();
    let stage_width = (levels.iter().max().unwrap_or(&0) + 1).to_string().len() + 2;
    let name_width = labels.iter().map(String::len).max().unwrap_or(0);
    let command_width = commands
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    let mut out = String::new();
    for &i in &order {
        let stage = format!("[{}]", levels[i] + 1);
        let mut cmd = commands[i].clone();
        if cmd.chars().count() > 60 {
            cmd = cmd.chars().take(59).collect::<String>() + "…";
        }
        let deps: Vec<&str> = dag.tasks[i]
            .depends
            .iter()
            .map(|&d| dag.tasks[d].name.as_str())
            .collect();
        let line = if deps.is_empty() {
            format!("{stage:<stage_width$} {:<name_width$}  {cmd}", labels[i])
        } else {
            format!(
                "{stage:<stage_width$} {:<name_width$}  {cmd:<command_width$}  <- {}",
                labels[i],
                deps.join(", ")
            )
        };
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} jobs in {} tasks, {} stages",
        dag.job_count(),
        dag.tasks.len(),
        levels.iter().max().map_or(0, |m| m + 1)
    );
    out
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

/// The shape both diagram languages share: a header, one node per task, one edge per
/// dependency, a footer. `node` gets (id, label, command); `edge` gets (from, to).
fn diagram(
    dag: &Dag,
    head: &str,
    node: impl Fn(&str, &str, &str) -> String,
    edge: impl Fn(&str, &str) -> String,
    tail: &str,
) -> String {
    let id = |i: usize| format!("t{i}");
    let mut out = String::from(head);
    for i in 0..dag.tasks.len() {
        out.push_str(&node(&id(i), &label(dag, i), &command(dag, i)));
    }
    for (i, task) in dag.tasks.iter().enumerate() {
        for &d in &task.depends {
            out.push_str(&edge(&id(d), &id(i)));
        }
    }
    out.push_str(tail);
    out
}

fn mermaid(dag: &Dag) -> String {
    diagram(
        dag,
        "flowchart TD\n",
        |id, label, cmd| {
            format!(
                "  {id}[\"{}<br/>{}\"]\n",
                mermaid_text(label),
                mermaid_text(cmd)
            )
        },
        |from, to| format!("  {from} --> {to}\n"),
        "",
    )
}

fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot(dag: &Dag) -> String {
    diagram(
        dag,
        "digraph pipeline {\n  rankdir=TB;\n  node [shape=box];\n",
        |id, label, cmd| {
            format!(
                "  {id} [label=\"{}\\n{}\"];\n",
                dot_text(label),
                dot_text(cmd)
            )
        },
        |from, to| format!("  {from} -> {to};\n"),
        "}\n",
    )
}
