"""The live table of a run: folds the ``--events`` stream (docs/events.md) into one row per job,
and renders it as HTML and as plain text. Pure: no process, no IPython, so it is tested alone.
"""

import html
import os
import time

# The `version` of docs/events.md this reader understands.
VERSION = 1

# Statuses that end a job, and the colour the HTML gives each status.
_COLOURS = {
    "Pending": "#888",
    "Running": "#1565c0",
    "Retrying": "#ef6c00",
    "Succeeded": "#2e7d32",
    "Failed": "#c62828",
    "Skipped": "#888",
    "Cancelled": "#ef6c00",
    "Interrupted": "#ef6c00",
}


class Job:
    """One row: what the stream said of a job so far."""

    def __init__(self, name):
        self.name = name
        self.status = "Pending"
        self.attempt = 0
        self.max_attempts = 1
        self.duration = None  # seconds, once finished
        self.started = None  # time.monotonic() when its first attempt started
        self.last_line = ""
        self.log = None
        self.reason = None


class RunTable:
    """The run as the stream tells it. ``feed`` takes one decoded event; unknown types and
    fields are skipped, as docs/events.md asks of a reader."""

    def __init__(self, cwd=None, clock=time.monotonic):
        self.cwd = cwd or os.getcwd()
        self.clock = clock
        self.run = None
        self.backend = None
        self.ui_url = None
        self.jobs = {}  # name -> Job, in the order first seen
        self.summary = None  # the run_finished event
        self.followed = False  # a run_started came: the run is followed, not only submitted
        self.notes = []
        self.versions_seen = set()
        self.exit_code = None
        self.errors = ""  # the child's stderr when it failed

    def job(self, name):
        if name not in self.jobs:
            self.jobs[name] = Job(name)
        return self.jobs[name]

    def feed(self, event):
        kind = event.get("type")
        version = event.get("version")
        if version not in (None, VERSION) and version not in self.versions_seen:
            self.versions_seen.add(version)
            self.notes.append(
                "jupyterflow writes events version %s; this extension reads version %s: "
                "update one of them" % (version, VERSION)
            )
        if kind in ("run_submitted", "run_started"):
            self.followed = self.followed or kind == "run_started"
            self.run = event.get("run") or self.run
            self.backend = event.get("backend") or self.backend
            self.ui_url = event.get("ui_url") or self.ui_url
            for name in event.get("jobs", []):
                self.job(name)
        elif kind == "job_started":
            job = self.job(event["job"])
            job.status = "Running"
            job.attempt = event.get("attempt", 1)
            job.max_attempts = event.get("max_attempts", 1)
            job.log = event.get("log") or job.log
            if job.started is None:
                job.started = self.clock()
        elif kind in ("job_output", "job_progress"):
            self.job(event["job"]).last_line = event.get("line", "")
        elif kind == "job_retrying":
            job = self.job(event["job"])
            job.status = "Retrying"
            job.reason = event.get("reason")
        elif kind == "job_finished":
            job = self.job(event["job"])
            job.status = event.get("status", job.status)
            job.duration = event.get("duration")
            job.reason = event.get("reason")
            job.log = event.get("log") or job.log
        elif kind == "job_log_tail":
            lines = event.get("lines") or []
            job = self.job(event["job"])
            if lines and not job.last_line:
                job.last_line = lines[-1]
        elif kind == "stopping":
            self.notes.append("stopping: %s running job(s) asked to end" % event.get("jobs"))
        elif kind == "run_finished":
            self.summary = event
        elif kind == "detached":
            self.notes.append(
                "detached: %s goes on running; `%%jupyterflow watch %s` follows it again"
                % (event.get("run"), event.get("run"))
            )

    # --- what each cell shows -------------------------------------------------------------

    def duration_of(self, job):
        if job.status == "Skipped":
            return ""
        if job.duration is not None:
            return _seconds(job.duration)
        if job.started is not None and job.status in ("Running", "Retrying"):
            return _seconds(self.clock() - job.started)
        return ""

    def status_of(self, job):
        if job.status == "Running" and job.max_attempts > 1:
            return "Running (%d/%d)" % (job.attempt, job.max_attempts)
        return job.status

    def log_of(self, job):
        """The job's log file, as a path relative to the working directory when it is below
        it. A cluster job's log is on the shared volume when the job wrote one there."""
        path = job.log
        if path is None and self.backend == "argo" and self.run:
            candidate = os.path.join(".jupyterflow", "runs", self.run, "logs", job.name + ".log")
            if os.path.exists(os.path.join(self.cwd, candidate)):
                path = candidate
        return path

    def headline(self):
        name = self.run or "jupyterflow"
        where = " (%s)" % self.backend if self.backend else ""
        if self.summary is not None:
            s = self.summary
            counts = s.get("counts") or {}
            parts = ["%d %s" % (n, k.lower()) for k, n in counts.items() if n]
            text = "%s%s: %s in %s" % (name, where, s.get("status"), _seconds(s.get("duration", 0)))
            if parts:
                text += " (%s)" % ", ".join(parts)
            if s.get("failed"):
                text += "; failed: %s" % ", ".join(s["failed"])
            return text
        if self.exit_code is None:
            return "%s%s: running" % (name, where)
        if self.exit_code == 0 and self.run and not self.followed:
            return "%s%s: submitted; `%%jupyterflow watch %s` follows it" % (name, where, name)
        return "%s%s" % (name, where)

    def footer(self):
        """What jupyterflow said besides the events (its stderr: notes, warnings, errors)."""
        return self.notes + self.errors.rstrip("\n").splitlines()[-20:]

    def failure(self):
        """The line that says the command failed, or None."""
        if self.exit_code in (None, 0):
            return None
        return "jupyterflow exited with code %d" % self.exit_code

    # --- renderings ---------------------------------------------------------------------

    def text(self):
        header = ["JOB", "STATUS", "DURATION", "LAST LINE", "LOG"]
        rows = [
            [
                job.name,
                self.status_of(job),
                self.duration_of(job),
                _clip(job.last_line, 40),
                self.log_of(job) or "",
            ]
            for job in self.jobs.values()
        ]
        widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
        lines = [self.headline()]
        if self.ui_url:
            lines.append("Argo UI: " + self.ui_url)
        for row in [header] + rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        lines.extend(self.footer())
        if self.failure():
            lines.append(self.failure())
        return "\n".join(lines)

    def html(self):
        e = html.escape
        out = ['<div class="jupyterflow-run">']
        head = e(self.headline())
        if self.ui_url:
            head += ' &middot; <a href="%s" target="_blank">Argo UI</a>' % e(self.ui_url)
        out.append("<div><b>%s</b></div>" % head)
        out.append('<table style="font-family:monospace">')
        out.append(
            "<tr><th style='text-align:left'>job</th><th style='text-align:left'>status</th>"
            "<th style='text-align:right'>duration</th><th style='text-align:left'>last line</th>"
            "<th style='text-align:left'>log</th></tr>"
        )
        for job in self.jobs.values():
            colour = _COLOURS.get(job.status, "inherit")
            status = e(self.status_of(job))
            if job.reason and job.status != "Succeeded":
                status = '<span title="%s">%s</span>' % (e(job.reason), status)
            log = self.log_of(job)
            links = []
            if log and not os.path.isabs(log):
                links.append('<a href="%s" target="_blank">log</a>' % e(log))
            elif log:
                links.append(e(log))
            if self.ui_url:
                links.append('<a href="%s" target="_blank">Argo</a>' % e(self.ui_url))
            out.append(
                "<tr><td style='text-align:left'>%s</td>"
                "<td style='text-align:left;color:%s'>%s</td>"
                "<td style='text-align:right'>%s</td>"
                "<td style='text-align:left'>%s</td><td style='text-align:left'>%s</td></tr>"
                % (
                    e(job.name),
                    colour,
                    status,
                    e(self.duration_of(job)),
                    e(_clip(job.last_line, 80)),
                    " ".join(links),
                )
            )
        out.append("</table>")
        footer = self.footer()
        if footer:
            out.append('<pre style="color:#555">%s</pre>' % e("\n".join(footer)))
        if self.failure():
            out.append('<div style="color:#c62828;font-weight:bold">%s</div>' % e(self.failure()))
        out.append("</div>")
        return "\n".join(out)

    def bundle(self):
        """The display data: HTML, with the plain text for where HTML is not shown."""
        return {"text/plain": self.text(), "text/html": self.html()}


def _seconds(value):
    value = float(value)
    if value < 60:
        return "%.1fs" % value
    minutes, seconds = divmod(int(round(value)), 60)
    if minutes < 60:
        return "%dm%02ds" % (minutes, seconds)
    hours, minutes = divmod(minutes, 60)
    return "%dh%02dm" % (hours, minutes)


def _clip(text, width):
    text = text.replace("\t", " ")
    return text if len(text) <= width else text[: width - 1] + "…"
