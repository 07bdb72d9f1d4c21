//! `simu link create | list | revoke`: call links a browser opens to join without installing
//! anything (protocol.md §2.2).

use crate::client::{sign_in, Account};
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum LinkCmd {
    /// Make a link: with --to, the per-call link for that person; else a reusable room link
    /// whose visitors knock and wait to be let in.
    Create(CreateArgs),
    /// List your live links.
    List(ListArgs),
    /// Revoke a link (by its room, as `list` shows): it stops working and its guests are cut off.
    Revoke(RevokeArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    account: Account,
    /// Who the per-call link is for (a number, username or NX ID).
    #[arg(long)]
    to: Option<String>,
    /// The link's room (random if not given).
    #[arg(long)]
    room: Option<String>,
    /// How long it stays valid: seconds, or a number with s, m, h or d (e.g. 1h, 7d).
    #[arg(long, value_parser = parse_duration)]
    expires: Option<u64>,
    /// A per-call link for an audio call (default video).
    #[arg(long)]
    audio: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    account: Account,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    account: Account,
    /// The link's room.
    room: String,
}

/// `90`, `90s`, `15m`, `1h`, `7d` as seconds.
fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: a number with s, m, h or d"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(format!("{s:?}: the unit is s, m, h or d")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?}: too long"))
}

pub async fn run(cmd: LinkCmd) -> anyhow::Result<i32> {
    match cmd {
        LinkCmd::Create(a) => create(a).await,
        LinkCmd::List(a) => list(a).await,
        LinkCmd::Revoke(a) => revoke(a).await,
    }
}

async fn create(a: CreateArgs) -> anyhow::Result<i32> {
    let s = sign_in(&a.account).await?;
    let made = match &a.to {
        Some(to) => {
            let kind = if a.audio { "audio" } else { "video" };
            s.rest
                .call_url(to, kind, a.room.as_deref(), a.expires)
                .await
                .map(|u| (u.call_url, u.room, u.expires_at))
        }
        None => s
            .rest
            .create_room_link(a.room.as_deref(), a.expires)
            .await
            .map(|l| (l.url, l.room, l.expires_at)),
    };
    let (url, room, expires_at) = match made {
        Ok(m) => m,
        Err(e) => {
            eprintln!("link: {e}");
            return Ok(2);
        }
    };
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "url": url, "room": room, "expires_at": expires_at })
        );
    } else {
        println!("{url}");
    }
    Ok(0)
}

async fn list(a: ListArgs) -> anyhow::Result<i32> {
    let s = sign_in(&a.account).await?;
    let links = match s.rest.links().await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("link: {e}");
            return Ok(2);
        }
    };
    if a.json {
        println!("{}", serde_json::to_string(&links)?);
        return Ok(0);
    }
    for l in &links {
        let who = if l.kind == "room" {
            "room (lobby)".to_string()
        } else {
            format!("for {}", l.to)
        };
        println!(
            "{:40} {:24} expires {}  {}",
            l.room, who, l.expires_at, l.url
        );
    }
    Ok(0)
}

async fn revoke(a: RevokeArgs) -> anyhow::Result<i32> {
    let s = sign_in(&a.account).await?;
    match s.rest.revoke_link(&a.room).await {
        Ok(()) => {
            println!("revoked {}", a.room);
            Ok(0)
        }
        Err(e) => {
            eprintln!("link: {e}");
            Ok(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_read_with_their_units() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
    }
}
