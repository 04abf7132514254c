//! Where backfilled users come from: export files ([`file`]) and provider list APIs ([`api`]).
//! Every source hands out pages of [`Parsed`] records; a page is fetched by a cursor, so a
//! checkpoint can name where to start again (files are one page, positioned by record index).

pub mod api;
pub mod file;

use crate::profile::Parsed;

/// One page of records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The records, in source order.
    pub items: Vec<Parsed>,
    /// The cursor of the next page; `None` on the last page.
    pub next: Option<String>,
}

/// Why a source could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// The provider refused the key (401).
    Auth(String),
    /// The key lacks a permission or scope (403).
    Scope(String),
    /// Anything else: a bad file, an unexpected answer, a network failure after retries.
    Other(String),
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::Auth(m) | SourceError::Scope(m) | SourceError::Other(m) => f.write_str(m),
        }
    }
}

/// A paged source of users.
pub trait Source {
    /// What is read, for the checkpoint (`file:<path>`, `api:<provider>:<origin>`).
    fn key(&self) -> String;
    /// How many records there are, when the source knows.
    fn total(&self) -> Option<u64>;
    /// The page at `cursor` (`None`: the first page).
    fn fetch(&mut self, cursor: Option<&str>) -> Result<Page, SourceError>;
}
