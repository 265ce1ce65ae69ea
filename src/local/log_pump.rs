//! An attempt's output: both pipes are read to the end by their own tasks and funnelled, line
//! by line, into one writer that owns the log file, so stdout and stderr interleave by whole
//! lines and nothing is lost however fast a job prints. The writer also turns lines into
//! `JobOutput` (when following) and throttled `JobProgress` events. A job's supervisor
//! (`exec-job`) tees each pipe too: its bytes go on to the supervisor's own stdout or stderr
//! as soon as they are read, unchanged, before they are cut into lines for the log.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::fs::File;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::events::{RunEvent, Stream};

/// Reads are buffered this much; a line longer than this is passed on in pieces, so a job
/// printing one huge line without newlines cannot exhaust memory.
const CHUNK: usize = 64 * 1024;
/// A supervisor's reads: as much as its job's enlarged pipe holds.
const TEED_CHUNK: usize = 1024 * 1024;
/// Chunks in flight between the readers and the writer: enough to absorb bursts, small enough
/// that a slow disk pushes back on the pipes (and so on the job) instead of buffering in RAM.
const IN_FLIGHT: usize = 64;

/// Where an attempt's lines go besides the log file.
#[derive(Debug, Clone)]
pub(crate) struct OutputSink {
    pub(crate) job: String,
    pub(crate) stream_output: bool,
    pub(crate) progress_interval: Duration,
    pub(crate) events: mpsc::UnboundedSender<RunEvent>,
}

/// Bytes from one pipe: whole lines, except for an over-long line or the last bytes before EOF.
struct Chunk {
    stream: Stream,
    bytes: Vec<u8>,
}

/// Where a pipe's bytes go besides the log, as they are read (a supervisor's stdout/stderr),
/// or a supervisor's log file.
pub(crate) type Tee = Box<dyn AsyncWrite + Unpin + Send>;

/// A writer that calls write(2) from the task that writes, instead of handing each buffer to
/// tokio's blocking pool (two thread hops per 64 KiB chunk, which made a supervised job's
/// output a third slower than `cat | tee`). Only for a runtime with worker threads to spare:
/// a write that blocks (a full pipe, a slow disk) holds its worker, as it would hold the job.
pub(crate) struct Direct(pub std::fs::File);

impl AsyncWrite for Direct {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::task::Poll::Ready(io::Write::write(&mut self.get_mut().0, buf))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The running readers and writer of one attempt.
pub(crate) struct LogPump {
    readers: Vec<JoinHandle<()>>,
    writer: JoinHandle<io::Result<()>>,
}

impl LogPump {
    pub(crate) fn start(
        file: File,
        stdout: Option<impl AsyncRead + Unpin + Send + 'static>,
        stderr: Option<impl AsyncRead + Unpin + Send + 'static>,
        sink: OutputSink,
    ) -> Self {
        Self::spawn(
            Some(Box::new(file)),
            stdout,
            stderr,
            Some(sink),
            [None, None],
        )
    }

    /// A supervisor's pump: each pipe's bytes go to its tee (`[stdout, stderr]`) unchanged as
    /// soon as they are read, and into the log (when there is one) as `start` writes it. No
    /// events: nobody follows a supervisor's lines.
    pub(crate) fn start_teed(
        file: Option<Tee>,
        stdout: Option<impl AsyncRead + Unpin + Send + 'static>,
        stderr: Option<impl AsyncRead + Unpin + Send + 'static>,
        tees: [Tee; 2],
    ) -> Self {
        let [out, err] = tees;
        Self::spawn(file, stdout, stderr, None, [Some(out), Some(err)])
    }

    fn spawn(
        file: Option<Tee>,
        stdout: Option<impl AsyncRead + Unpin + Send + 'static>,
        stderr: Option<impl AsyncRead + Unpin + Send + 'static>,
        sink: Option<OutputSink>,
        tees: [Option<Tee>; 2],
    ) -> Self {
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let mut readers = Vec::new();
        let [out_tee, err_tee] = tees;
        if let Some(pipe) = stdout {
            readers.push(tokio::spawn(pump(
                pipe,
                Stream::Stdout,
                tx.clone(),
                out_tee,
            )));
        }
        if let Some(pipe) = stderr {
            readers.push(tokio::spawn(pump(pipe, Stream::Stderr, tx, err_tee)));
        }
        LogPump {
            readers,
            writer: tokio::spawn(write_log(rx, file, sink)),
        }
    }

    /// Waits until both pipes are drained and the log is flushed. Pipes are normally closed
    /// once the process group is gone; if a process that escaped the group (`setsid`) still
    /// holds one after `within`, stop reading it rather than hang the run.
    pub(crate) async fn finish(self, within: Duration) -> io::Result<()> {
        let LogPump {
            readers,
            mut writer,
        } = self;
        let result = if let Ok(joined) = tokio::time::timeout(within, &mut writer).await {
            joined
        } else {
            for reader in &readers {
                reader.abort();
            }
            // With the readers gone the channel closes and the writer flushes and ends.
            writer.await
        };
        result.unwrap_or_else(|e| Err(io::Error::other(e)))
    }
}

async fn pump(
    pipe: impl AsyncRead + Unpin,
    stream: Stream,
    tx: mpsc::Sender<Chunk>,
    mut tee: Option<Tee>,
) {
    // A supervisor reads its bigger pipes in bigger pieces (see `local::supervisor`).
    let capacity = if tee.is_some() { TEED_CHUNK } else { CHUNK };
    let mut reader = BufReader::with_capacity(capacity, pipe);
    let mut pending: Vec<u8> = Vec::new();
    // A read error on a pipe means it is unusable; it ends the loop like EOF.
    while let Ok(buf) = reader.fill_buf().await {
        if buf.is_empty() {
            break;
        }
        let take = match buf.iter().rposition(|&b| b == b'\n') {
            Some(last_newline) => last_newline + 1,
            None => buf.len(),
        };
        // Exactly the bytes consumed, each once (the rest comes back with the next fill).
        // A tee that fails (nobody reads the container's output) is dropped; the log goes on.
        if let Some(out) = tee.as_mut()
            && out.write_all(&buf[..take]).await.is_err()
        {
            tee = None;
        }
        pending.extend_from_slice(&buf[..take]);
        reader.consume(take);
        if pending.ends_with(b"\n") || pending.len() >= CHUNK {
            let bytes = std::mem::take(&mut pending);
            if tx.send(Chunk { stream, bytes }).await.is_err() {
                return;
            }
        }
    }
    if let Some(mut out) = tee {
        let _ = out.flush().await;
    }
    if !pending.is_empty() {
        let _ = tx
            .send(Chunk {
                stream,
                bytes: pending,
            })
            .await;
    }
}

async fn write_log(
    mut rx: mpsc::Receiver<Chunk>,
    file: Option<Tee>,
    sink: Option<OutputSink>,
) -> io::Result<()> {
    let mut out = file.map(|file| BufWriter::with_capacity(CHUNK, file));
    let mut progress = Progress::new(
        sink.as_ref()
            .map_or(Duration::ZERO, |s| s.progress_interval),
    );
    // The stream whose last chunk ended mid-line, so the other stream starts on a new line.
    let mut open_line: Option<Stream> = None;
    let mut error = None;
    while let Some(chunk) = rx.recv().await {
        // After a write error keep draining: a full pipe would otherwise block the job.
        if error.is_none()
            && let Some(out) = out.as_mut()
        {
            let separate = open_line.is_some_and(|s| s != chunk.stream);
            // Written out whenever nothing more is waiting: the file is as current as the job
            // (`logs -f`, a user opening it), and a fast job's output still goes in big writes.
            let written = match write_chunk(out, &chunk.bytes, separate).await {
                Ok(()) if rx.is_empty() => out.flush().await,
                other => other,
            };
            if let Err(e) = written {
                error = Some(e);
            }
        }
        open_line = (!chunk.bytes.ends_with(b"\n")).then_some(chunk.stream);
        let Some(sink) = sink.as_ref() else { continue };
        let mut last = None;
        for line in chunk.bytes.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            if sink.stream_output {
                let _ = sink.events.send(RunEvent::JobOutput {
                    job: sink.job.clone(),
                    stream: chunk.stream,
                    line: String::from_utf8_lossy(line).into_owned(),
                });
            }
            last = Some(line);
        }
        if let Some(line) = last {
            progress.offer(sink, line);
        }
    }
    if let Some(sink) = sink.as_ref() {
        progress.flush(sink);
    }
    match (error, out) {
        (Some(e), _) => Err(e),
        (None, Some(mut out)) => out.flush().await,
        (None, None) => Ok(()),
    }
}

async fn write_chunk(out: &mut BufWriter<Tee>, bytes: &[u8], separate: bool) -> io::Result<()> {
    if separate {
        out.write_all(b"\n").await?;
    }
    out.write_all(bytes).await
}

/// Sends the latest line at most once per interval, and the last one unsent at the end (so a
/// live view ends on the job's real last line).
struct Progress {
    interval: Duration,
    sent_at: Option<Instant>,
    unsent: Option<String>,
}

impl Progress {
    fn new(interval: Duration) -> Self {
        Progress {
            interval,
            sent_at: None,
            unsent: None,
        }
    }

    fn offer(&mut self, sink: &OutputSink, line: &[u8]) {
        let due = self.sent_at.is_none_or(|t| t.elapsed() >= self.interval);
        let line = String::from_utf8_lossy(line).into_owned();
        if due {
            self.sent_at = Some(Instant::now());
            self.unsent = None;
            send_progress(sink, line);
        } else {
            self.unsent = Some(line);
        }
    }

    fn flush(&mut self, sink: &OutputSink) {
        if let Some(line) = self.unsent.take() {
            send_progress(sink, line);
        }
    }
}

fn send_progress(sink: &OutputSink, line: String) {
    let _ = sink.events.send(RunEvent::JobProgress {
        job: sink.job.clone(),
        line,
    });
}

/// Opens attempt `attempt`'s log at `path`: the first attempt starts a fresh file; later ones
/// append under the line `--- jupyterflow: attempt N<marker> ---`, so every attempt's output
/// stays readable in one file. Plain blocking I/O: opening a file is quick, and the file may
/// be handed to a child as is.
pub(crate) fn open_attempt_log(
    path: &Path,
    attempt: u32,
    marker: &str,
) -> io::Result<std::fs::File> {
    use std::io::Write as _;
    if attempt <= 1 {
        return std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path);
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    file.write_all(format!("--- jupyterflow: attempt {attempt}{marker} ---\n").as_bytes())?;
    Ok(file)
}
