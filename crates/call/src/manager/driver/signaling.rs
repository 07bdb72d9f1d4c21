//! Signaling for the driver: XMPP events in, restarts after final failures.

use super::SIGNALING_RESTART_GAP;
use crate::machine::{CallEvent, Input};
use nx::signal::Signal;
use nx::{XmppClient, XmppConfig, XmppEvent};
use std::time::Instant;
use tokio::sync::mpsc;

impl super::Driver {
    pub(super) async fn signaling_event(&mut self, ev: XmppEvent) {
        match ev {
            XmppEvent::Online { jid } => {
                tracing::debug!(%jid, "signaling online");
                let _ = self.sig_tx.send(true);
            }
            XmppEvent::Message {
                from,
                body,
                delayed,
                ..
            } => {
                let signal = match Signal::parse(&body) {
                    Ok(Signal::Unknown) => {
                        tracing::debug!(%from, "ignoring unknown signaling message type");
                        return;
                    }
                    Ok(s) => s,
                    Err(e) => {
                        if let Some(link) = nx::signal::parse_call_link(&body) {
                            tracing::info!(room = %link.room, caller = %link.caller, "call link received as text");
                        } else {
                            tracing::debug!(%from, error = %e, "ignoring non-signaling message");
                        }
                        return;
                    }
                };
                let actions = self.machine.handle(
                    Input::Signal {
                        from,
                        signal,
                        delayed,
                    },
                    Instant::now(),
                );
                self.execute(actions).await;
            }
            XmppEvent::Bounce {
                from, condition, ..
            } => {
                tracing::info!(%from, %condition, "signaling message bounced");
            }
            XmppEvent::Offline { reason, retry_in } => {
                let _ = self.sig_tx.send(false);
                tracing::info!(%reason, ?retry_in, "signaling offline");
            }
            XmppEvent::Failed(reason) => {
                let _ = self.sig_tx.send(false);
                self.emit(CallEvent::Error {
                    message: format!("signaling: {reason}"),
                });
                self.restart_signaling(reason.token_refused()).await;
            }
            XmppEvent::Closed => {}
        }
    }

    /// Restarts signaling after a final failure, refreshing the NX token, at most once a
    /// minute; a restart asked for sooner is scheduled for when the minute is up.
    pub(super) async fn restart_signaling(&mut self, refresh: bool) {
        if let Some(t) = self
            .last_token_refresh
            .filter(|t| t.elapsed() < SIGNALING_RESTART_GAP)
        {
            let (parked_tx, parked_rx) = mpsc::channel(1);
            self.xmpp_rx = parked_rx;
            self.parked_tx = Some(parked_tx);
            self.restart_at = Some((t + SIGNALING_RESTART_GAP, refresh));
            return;
        }
        self.restart_at = None;
        self.parked_tx = None;
        self.last_token_refresh = Some(Instant::now());
        let mut token = self.cfg.token.clone();
        if refresh {
            match self.cfg.rest.refresh_nx_token().await {
                Ok(r) => token = r.token,
                Err(e) => {
                    self.emit(CallEvent::Error {
                        message: format!("cannot refresh the signaling token: {e}"),
                    });
                    return;
                }
            }
        }
        self.cfg.token = token.clone();
        self.xmpp_task.abort();
        let (h, rx, task) = XmppClient::start(XmppConfig::new(
            self.cfg.nxws.clone(),
            self.cfg.jid.clone(),
            token,
        ));
        self.xmpp = h;
        self.xmpp_rx = rx;
        self.xmpp_task = task;
    }
}
