//! The steps of a pipeline, one concern per module. Each adds methods to
//! [`Pipeline`](crate::Pipeline), so a pipeline reads top to bottom like the flow it is:
//!
//! | step | module | what it does |
//! |---|---|---|
//! | `filter`, `on_type`, `on_types` | [`filter`] | keep units that match (any predicate; or the type: exact, glob, regex, set, applied before the rest of the event is read) |
//! | `drop_latched`, `drop_own_events` | [`latch`] | stop a BFF's listener and trigger from feeding each other |
//! | `map` | [`map`] | a fallible transformation; an error fails only that unit |
//! | `then` | [`concurrent`] | an async step with bounded concurrency |
//! | `then_ordered` | [`ordered`] | async, same partition key in order, different keys concurrently |
//! | `split` | [`split`] | one unit into many |
//! | `batch` | [`batch`] | group units by count and by bytes |
//! | `compact` | [`compact`] | keep the latest unit per partition key |
//! | `rate_limit` | [`rate_limit`] | at most n units per interval, with backpressure |
//! | `tap`, `trace` | [`tap`] | look at units without changing them |
//! | `encrypt` | [`encrypt`] | encrypt the fields an [`Encryption`](crate::encryption::Encryption) names and write `eem`, as Node's `encryptEvent` |
//! | `publish` | [`publish`] | add the standard tags, serialize, batch to the publisher's limits and publish |
//! | `send` | [`publish`] | batch entries already built (messages that are not envelopes) to the publisher's limits and send |
//! | your own | [`Pipeline::step`](crate::Pipeline::step) | any function over the stream of units |

pub mod batch;
pub mod compact;
pub mod concurrent;
pub mod encrypt;
pub mod filter;
pub mod latch;
pub mod map;
pub mod ordered;
pub mod publish;
pub mod rate_limit;
pub mod split;
pub mod tap;
