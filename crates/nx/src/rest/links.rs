//! Call links (protocol.md §2.2): reusable room links, and listing and revoking one's links.

use super::{Auth, RestClient, RestError};
use serde::{Deserialize, Serialize};

/// A link as its owner sees it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLinkInfo {
    /// The link's key (its room).
    pub room: String,
    pub url: String,
    /// `call` (the per-call link of `/nx/call-url/`) or `room` (reusable, with a lobby).
    pub kind: String,
    #[serde(rename = "type", default)]
    pub call_type: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub created_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
}

#[derive(Debug, Clone, Deserialize)]
struct LinkList {
    links: Vec<CallLinkInfo>,
}

#[derive(Debug, Clone, Deserialize)]
struct Revoked {}

impl RestClient {
    /// A reusable room link (named `room`, else a random name) valid for `expires_in` seconds
    /// (the server's default if `None`).
    pub async fn create_room_link(
        &self,
        room: Option<&str>,
        expires_in: Option<u64>,
    ) -> Result<CallLinkInfo, RestError> {
        let body = serde_json::json!({ "room": room, "expires_in": expires_in });
        self.send(
            reqwest::Method::POST,
            "/simu/links/",
            Some(&body),
            None,
            Auth::User,
        )
        .await
    }

    /// The user's live links, newest first.
    pub async fn links(&self) -> Result<Vec<CallLinkInfo>, RestError> {
        let l: LinkList = self
            .send::<(), _>(reqwest::Method::GET, "/simu/links/", None, None, Auth::User)
            .await?;
        Ok(l.links)
    }

    /// Revokes the link of `room`: it stops working and its guests are cut off.
    pub async fn revoke_link(&self, room: &str) -> Result<(), RestError> {
        let path = format!("/simu/links/{}/", super::urlencode(room));
        let _: Revoked = self
            .send::<(), _>(reqwest::Method::DELETE, &path, None, None, Auth::User)
            .await?;
        Ok(())
    }
}
