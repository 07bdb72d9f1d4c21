//! Signaling for the driver: XMPP events in, restarts after final failures.

use super::pending::Done;
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
                    Err(e) => match nx::signal::text_invitation(&body, &from) {
                        Some(invitation) => {
                            tracing::info!(%from, "call invitation received as a text link");
                            invitation
                        }
                        None => {
                            tracing::debug!(%from, error = %e, "ignoring non-signaling message");
                            return;
                        }
                    },
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
                self.restart_signaling(reason.token_refused());
            }
            XmppEvent::Closed => {}
        }
    }

    /// Restarts signaling after a final failure, refreshing the NX token, at most once a
    /// minute; a restart asked for sooner is scheduled for when the minute is up. The token
    /// refresh is spawned; signaling stays parked until it answers.
    pub(super) fn restart_signaling(&mut self, refresh: bool) {
        if let Some(t) = self
            .last_token_refresh
            .filter(|t| t.elapsed() < SIGNALING_RESTART_GAP)
        {
            self.park_signaling();
            self.restart_at = Some((t + SIGNALING_RESTART_GAP, refresh));
            return;
        }
        self.restart_at = None;
        self.last_token_refresh = Some(Instant::now());
        if refresh {
            self.park_signaling();
            let rest = self.cfg.rest.clone();
            self.pending.spawn(async move {
                Done::Token(
                    rest.refresh_nx_token()
                        .await
                        .map(|r| r.token)
                        .map_err(|e| e.to_string()),
                )
            });
            return;
        }
        self.connect_signaling();
    }

    /// A token refresh answered: connect with the new token, or try again in a minute.
    pub(super) fn token_refreshed(&mut self, result: Result<String, String>) {
        match result {
            Ok(token) => {
                self.cfg.token = token;
                self.connect_signaling();
            }
            Err(e) => {
                self.emit(CallEvent::Error {
                    message: format!("cannot refresh the signaling token: {e}"),
                });
                let since = self.last_token_refresh.unwrap_or_else(Instant::now);
                self.restart_at = Some((since + SIGNALING_RESTART_GAP, true));
            }
        }
    }

    /// Holds an open, silent event channel in place of the closed client's while signaling waits.
    fn park_signaling(&mut self) {
        let (parked_tx, parked_rx) = mpsc::channel(1);
        self.xmpp_rx = parked_rx;
        self.parked_tx = Some(parked_tx);
    }

    /// Starts a new XMPP client with the current token.
    fn connect_signaling(&mut self) {
        self.parked_tx = None;
        self.xmpp_task.abort();
        let (h, rx, task) = XmppClient::start(XmppConfig::new(
            self.cfg.nxws.clone(),
            self.cfg.jid.clone(),
            self.cfg.token.clone(),
        ));
        self.xmpp = h;
        self.xmpp_rx = rx;
        self.xmpp_task = task;
    }
}
