//! What a verified delivery says happened to a user, in words shared by every provider: created,
//! updated (with the profile fields the event carries), deleted, or nothing we act on.
//!
//! Providers produce these; `job` turns them into Tencent work. Nothing here knows a provider's
//! payload shape or Tencent's rules, so a thirteenth provider or a new Tencent API changes one
//! side only.

/// A user as one event describes them, before mapping to Tencent's rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    /// The provider's user ID.
    pub user_id: String,
    /// Display name chosen by the provider's fallback rules (absent: the event carries none).
    pub nick: Option<String>,
    /// Avatar URL (absent: the event carries none).
    pub face_url: Option<String>,
    /// A key that stays the same when the provider redelivers this event (for de-duplication).
    pub event_id: Option<String>,
    /// When the provider says the event happened (Unix seconds), where the payload has it.
    pub at: Option<i64>,
}

/// What one event in a verified delivery asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A user signed up.
    Created(User),
    /// A user's profile changed; only the fields present changed.
    Updated(User),
    /// A user was deleted at the provider.
    Deleted(User),
    /// Any other event type (named): acknowledge and do nothing.
    Ignored(String),
    /// An event of a batch that is not the JSON its provider documents (why); the others in the
    /// delivery go on.
    Invalid(String),
}

impl Event {
    /// The user the event is about, unless it is ignored.
    pub fn user(&self) -> Option<&User> {
        match self {
            Event::Created(u) | Event::Updated(u) | Event::Deleted(u) => Some(u),
            Event::Ignored(_) | Event::Invalid(_) => None,
        }
    }
}
