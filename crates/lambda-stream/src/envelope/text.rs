//! Where an envelope's strings and JSON values live: a span of the text the envelope was read
//! from (shared by every piece, never copied), or an allocation of their own once a step sets
//! them.

use std::sync::Arc;

/// A string, or a piece of JSON text, of an envelope.
#[derive(Clone, Debug)]
pub(crate) enum Piece {
    /// `text[start..end]` of the envelope's source text.
    Span { start: u32, end: u32 },
    /// Set by a step or a builder, or a string that had escapes in the source.
    Owned(String),
}

impl Piece {
    /// The piece, given the text it may point into.
    pub(crate) fn get<'a>(&'a self, text: &'a str) -> &'a str {
        match self {
            // Spans are made from the text they index, so the range is always there.
            Self::Span { start, end } => text.get(*start as usize..*end as usize).unwrap_or(""),
            Self::Owned(s) => s,
        }
    }

    /// The span of `part`, a slice borrowed from `text`.
    pub(crate) fn span_of(text: &str, part: &str) -> Self {
        let start = (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
        let end = start + part.len();
        match (u32::try_from(start), u32::try_from(end)) {
            (Ok(start), Ok(end)) if end as usize <= text.len() => Self::Span { start, end },
            // Not within the text (cannot happen for slices the parser lent from it): copy.
            _ => Self::Owned(part.into()),
        }
    }

    /// The length of the piece in bytes.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Span { start, end } => (end - start) as usize,
            Self::Owned(s) => s.len(),
        }
    }
}

impl From<String> for Piece {
    fn from(s: String) -> Self {
        Self::Owned(s)
    }
}

impl From<&str> for Piece {
    fn from(s: &str) -> Self {
        Self::Owned(s.into())
    }
}

/// The text an envelope's spans point into.
#[derive(Clone, Debug, Default)]
pub(crate) enum Text {
    /// No text: every piece is owned.
    #[default]
    None,
    /// The JSON the envelope was read from, shared with its tags.
    Shared(Arc<String>),
    /// The buffer a builder wrote the envelope's pieces into.
    Own(String),
}

impl Text {
    pub(crate) fn get(&self) -> &str {
        match self {
            Self::None => "",
            Self::Shared(text) => text,
            Self::Own(text) => text,
        }
    }
}

/// JSON text that is a span of a shared source text: an owning handle, cheap to clone.
#[derive(Clone)]
pub(crate) struct SharedJson {
    text: Arc<String>,
    start: u32,
    end: u32,
}

impl SharedJson {
    pub(crate) fn new(text: Arc<String>, span: &Piece) -> Option<Self> {
        match span {
            Piece::Span { start, end } => Some(Self {
                text,
                start: *start,
                end: *end,
            }),
            Piece::Owned(_) => None,
        }
    }

    /// The JSON text.
    pub(crate) fn get(&self) -> &str {
        self.text
            .get(self.start as usize..self.end as usize)
            .unwrap_or("")
    }
}

impl std::fmt::Debug for SharedJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.get())
    }
}
