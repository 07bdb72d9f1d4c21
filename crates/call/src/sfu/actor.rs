//! The link as a task of its own: its Janus round trips never hold up the driver's loop, and
//! its requests run one at a time, in order.

use super::{ConferenceLink, SfuEvent, SfuLink};
use crate::media_session::{RawStats, RemoteMedia};
use crate::pipeline::Encoded;
use nx::rest::SfuGrant;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Requests waiting for the link.
const COMMANDS: usize = 64;
/// How long a stats reading may wait for the link.
const STATS_WAIT: Duration = Duration::from_secs(1);
/// How long closing may take before the task is dropped.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

enum Command {
    Receive(u64, Box<RemoteMedia>),
    StopReceiving(u64),
    Renew(Box<SfuGrant>),
    Restart(ConferenceLink),
    AddVideo(mpsc::Receiver<Encoded>),
    Stats(oneshot::Sender<RawStats>),
    Close,
}

/// Owns the task that owns the link.
pub struct SfuHandle {
    commands: mpsc::Sender<Command>,
    task: JoinHandle<()>,
}

impl SfuHandle {
    /// Runs `link`; what goes wrong with a request comes out of `events` as `Trouble`.
    pub fn spawn(mut link: SfuLink, events: mpsc::Sender<SfuEvent>) -> Self {
        let (commands, mut rx) = mpsc::channel(COMMANDS);
        let task = tokio::spawn(async move {
            while let Some(cmd) = rx.recv().await {
                let result = match cmd {
                    Command::Receive(feed, remote) => link.subscribe(&[(feed, *remote)]).await,
                    Command::StopReceiving(feed) => link.unsubscribe(feed).await,
                    Command::Renew(grant) => {
                        link.renew(*grant);
                        Ok(())
                    }
                    Command::Restart(which) => link.restart(which).await,
                    Command::AddVideo(rx) => link.add_video(rx).await,
                    Command::Stats(reply) => {
                        let _ = reply.send(link.raw_stats().await);
                        Ok(())
                    }
                    Command::Close => break,
                };
                if let Err(e) = result {
                    let _ = events.send(SfuEvent::Trouble(e.to_string())).await;
                }
            }
            link.close().await;
        });
        Self { commands, task }
    }

    /// Starts receiving `feed` into `remote`.
    pub fn receive(&self, feed: u64, remote: RemoteMedia) {
        if self
            .commands
            .try_send(Command::Receive(feed, Box::new(remote)))
            .is_err()
        {
            tracing::warn!(feed, "conference link busy or gone; feed not received");
        }
    }

    pub fn stop_receiving(&self, feed: u64) {
        if self
            .commands
            .try_send(Command::StopReceiving(feed))
            .is_err()
        {
            tracing::warn!(feed, "conference link busy or gone; feed not stopped");
        }
    }

    /// Uses a renewed grant's tokens from now on; false if the link could not take them now.
    pub fn renew(&self, grant: SfuGrant) -> bool {
        self.commands
            .try_send(Command::Renew(Box::new(grant)))
            .is_ok()
    }

    /// Restarts a connection that went down.
    pub fn restart(&self, which: ConferenceLink) {
        if self.commands.try_send(Command::Restart(which)).is_err() {
            tracing::warn!(?which, "conference link busy or gone; not restarted");
        }
    }

    /// Starts publishing the call's video (`rx`) in a call that started without it.
    pub fn add_video(&self, rx: mpsc::Receiver<Encoded>) {
        if self.commands.try_send(Command::AddVideo(rx)).is_err() {
            tracing::warn!("conference link busy or gone; video not published");
        }
    }

    /// The link's counters for a stats sample; `None` if it is busy past `STATS_WAIT` (with a
    /// renegotiation, say) or gone.
    pub async fn raw_stats(&self) -> Option<RawStats> {
        let (tx, rx) = oneshot::channel();
        self.commands.try_send(Command::Stats(tx)).ok()?;
        tokio::time::timeout(STATS_WAIT, rx).await.ok()?.ok()
    }

    /// Leaves the room and waits (boundedly) for the link to close.
    pub async fn close(mut self) {
        let _ = self.commands.send(Command::Close).await;
        if tokio::time::timeout(CLOSE_WAIT, &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}
