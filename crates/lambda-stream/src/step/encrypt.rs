//! `encrypt`: field-level encryption of the events a pipeline is about to publish, as the Node
//! library's `encryptEvent` does in a trigger (see [`crate::encryption`]).

use std::sync::Arc;

use crate::encryption::{Encryption, Keyring, encrypt_event};
use crate::envelope::Envelope;
use crate::pipeline::Pipeline;

/// How many events are encrypted at a time (the data key is cached: after the first, this is
/// CPU work).
const CONCURRENCY: usize = 8;

impl Pipeline<Envelope> {
    /// Encrypts the fields `encryption` names in each event and writes its `eem`, so Node's
    /// `decryptEvent` (and this library's handler) can read it. The data key comes from
    /// `keyring` (generated once per process on the master key). A unit whose event cannot be
    /// encrypted fails: nothing leaves in the clear that should not.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use lambda_stream::encryption::{Encryption, Keyring};
    /// use lambda_stream::testing::InMemoryDataKeys;
    /// use lambda_stream::{Envelope, InMemoryPublisher, Pipeline, StepError};
    ///
    /// let keyring = Arc::new(Keyring::new(Arc::new(InMemoryDataKeys::new("us-east-1"))));
    /// let bus = Arc::new(InMemoryPublisher::new());
    /// let pipeline = Pipeline::new("customers")
    ///     .map(|uow| Ok::<_, StepError>((*uow.event).clone()))
    ///     .encrypt(keyring, Encryption::new("alias/customer-eem", ["email", "phone"]))
    ///     .publish(bus, 4);
    /// # let _ = pipeline;
    /// ```
    #[must_use]
    pub fn encrypt(self, keyring: Arc<Keyring>, encryption: Encryption) -> Pipeline<Envelope> {
        let encryption = Arc::new(encryption);
        self.then_named("encrypt", CONCURRENCY, move |uow| {
            let keyring = Arc::clone(&keyring);
            let encryption = Arc::clone(&encryption);
            async move { encrypt_event(&uow.value, &encryption, &keyring).await }
        })
    }
}
