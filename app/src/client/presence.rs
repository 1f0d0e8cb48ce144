//! Presence: online, away or busy with a note. Each update replaces the last one and lives an
//! hour, so a user who vanishes without saying so reads as offline soon after.

use serde::{Deserialize, Serialize};

use super::posts::check_len;
use super::records::Record;
use super::{Client, ClientError, keys};

/// How long a presence record lives, seconds.
pub const PRESENCE_TTL: u32 = 3600;

/// A presence state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Available.
    Online,
    /// Away from the device.
    Away,
    /// Do not disturb.
    Busy,
    /// No live presence record.
    Offline,
}

impl std::str::FromStr for State {
    type Err = ClientError;
    fn from_str(s: &str) -> Result<State, ClientError> {
        match s.to_ascii_lowercase().as_str() {
            "online" => Ok(State::Online),
            "away" => Ok(State::Away),
            "busy" => Ok(State::Busy),
            _ => Err(ClientError::Invalid(format!(
                "presence must be online, away or busy, not {s:?}"
            ))),
        }
    }
}

/// A presence record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// The state.
    pub state: State,
    /// Free text.
    pub note: String,
    /// When set, Unix ms.
    pub at: u64,
}

impl Record for Presence {
    const KIND: &'static str = "presence";
}

impl Client {
    /// Sets my presence, removing the previous record.
    pub async fn set_presence(&self, state: State, note: &str) -> Result<Presence, ClientError> {
        check_len("note", note, 200)?;
        if state == State::Offline {
            return Err(ClientError::Invalid(
                "presence must be online, away or busy".into(),
            ));
        }
        let me = self.me()?.username.clone();
        let key = keys::user_list(&me, "presence");
        let old: Vec<_> = self
            .read::<Presence>(key)
            .await?
            .into_iter()
            .filter(|r| r.author == me)
            .collect();
        let presence = Presence {
            state,
            note: note.to_owned(),
            at: self.now_ms(),
        };
        self.write_removable(key, &presence, PRESENCE_TTL).await?;
        for previous in old {
            self.remove(key, previous.value_hash).await?;
        }
        Ok(presence)
    }

    /// `user`'s newest presence, or offline.
    pub async fn presence(&self, user: &str) -> Result<Presence, ClientError> {
        let user = self.require_user(user).await?;
        let latest = self
            .read::<Presence>(keys::user_list(&user, "presence"))
            .await?
            .into_iter()
            .filter(|r| r.author == user)
            .map(|r| r.body)
            .max_by_key(|p| p.at);
        Ok(latest.unwrap_or(Presence {
            state: State::Offline,
            note: String::new(),
            at: 0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{network, user};
    use super::*;

    #[tokio::test]
    async fn presence_replaces_and_defaults_to_offline() {
        let net = network();
        let alice = user(&net, "alice").await;
        assert_eq!(net.presence("alice").await.unwrap().state, State::Offline);
        alice.set_presence(State::Online, "").await.unwrap();
        alice.set_presence(State::Busy, "in a talk").await.unwrap();
        let now = net.presence("alice").await.unwrap();
        assert_eq!((now.state, now.note.as_str()), (State::Busy, "in a talk"));
        assert_eq!(
            net.dht()
                .get_all(keys::user_list("alice", "presence"))
                .await
                .unwrap()
                .len(),
            1
        );
        assert!("sleeping".parse::<State>().is_err());
    }
}
