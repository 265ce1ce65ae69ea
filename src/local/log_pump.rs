//! An attempt's output: both pipes are read to the end by their own tasks and funnelled, line
//! by line, into one writer that owns the log file, so stdout and stderr interleave by whole
//! lines and nothing is lost however fast a job prints. The writer also turns lines into
//! `JobOutput` (when following) and throttled `JobProgress` events.

use std::io;
use std::time::{Duration, Instant};

use tokio::fs::File;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::events::{RunEvent, Stream};

/// Reads are buffered this much; a line longer than this is passed on in pieces, so a job
/// printing one huge line without newlines cannot exhaust memory.
const CHUNK: usize = 64 * 1024;
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
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let mut readers = Vec::new();
        if let Some(pipe) = stdout {
            readers.push(tokio::spawn(pump(pipe, Stream::Stdout, tx.clone())));
        }
        if let Some(pipe) = stderr {
            readers.push(tokio::spawn(pump(pipe, Stream::Stderr, tx)));
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

async fn pump(pipe: impl AsyncRead + Unpin, stream: Stream, tx: mpsc::Sender<Chunk>) {
    let mut reader = BufReader::with_capacity(CHUNK, pipe);
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
        pending.extend_from_slice(&buf[..take]);
        reader.consume(take);
        if pending.ends_with(b"\n") || pending.len() >= CHUNK {
            let bytes = std::mem::take(&mut pending);
            if tx.send(Chunk { stream, bytes }).await.is_err() {
                return;
            }
        }
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

async fn write_log(mut rx: mpsc::Receiver<Chunk>, file: File, sink: OutputSink) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(CHUNK, file);
    let mut progress = Progress::new(sink.progress_interval);
    // The stream whose last chunk ended mid-line, so the other stream starts on a new line.
    let mut open_line: Option<Stream> = None;
    let mut error = None;
    while let Some(chunk) = rx.recv().await {
        // After a write error keep draining: a full pipe would otherwise block the job.
        if error.is_none() {
            let separate = open_line.is_some_and(|s| s != chunk.stream);
            if let Err(e) = write_chunk(&mut out, &chunk.bytes, separate).await {
                error = Some(e);
            }
        }
        open_line = (!chunk.bytes.ends_with(b"\n")).then_some(chunk.stream);
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
            progress.offer(&sink, line);
        }
    }
    progress.flush(&sink);
    match error {
        Some(e) => Err(e),
        None => out.flush().await,
    }
}

async fn write_chunk(out: &mut BufWriter<File>, bytes: &[u8], separate: bool) -> io::Result<()> {
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
