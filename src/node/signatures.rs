//! Signature checks of concurrent requests, made together: one thread takes every check queued at
//! a moment and runs one batch equation over them, which for signatures of a few keys costs a
//! fraction of the single checks. A batch that fails is checked again one signature at a time,
//! so each request still gets its own answer, and [`VerifyingKey::verify_batch`] accepts exactly
//! what a single check accepts.

use std::sync::mpsc::{self, Receiver, Sender};

use tokio::sync::oneshot;

use crate::seal::{SignatureCheck, VerifyingKey};

/// Most checks in one batch equation: past this, a batch saves little more and waits longer.
const MAX_BATCH: usize = 128;

/// One signature to check, and where its answer goes.
struct Pending {
    key: VerifyingKey,
    message: Vec<u8>,
    signature: Vec<u8>,
    answer: oneshot::Sender<bool>,
}

/// Handle to the batching thread; the thread ends when the handle is dropped.
#[derive(Debug)]
pub struct BatchVerifier {
    queue: Sender<Pending>,
}

impl BatchVerifier {
    /// Starts the batching thread.
    pub fn start() -> std::io::Result<Self> {
        let (queue, pending) = mpsc::channel();
        std::thread::Builder::new().name("hunyu-signatures".into()).spawn(move || run(&pending))?;
        Ok(Self { queue })
    }
}

impl SignatureCheck for BatchVerifier {
    /// Checked together with the other checks queued at the same moment.
    async fn holds(&self, key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
        let (answer, answered) = oneshot::channel();
        let pending = Pending { key: key.clone(), message: message.to_vec(), signature: signature.to_vec(), answer };
        match self.queue.send(pending) {
            Ok(()) => answered.await.unwrap_or(false),
            // The thread has stopped (the node is shutting down): check here.
            Err(mpsc::SendError(pending)) => pending.key.verify(&pending.message, &pending.signature),
        }
    }
}

fn run(queue: &Receiver<Pending>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        let items: Vec<_> = batch.iter().map(|p| (&p.key, p.message.as_slice(), p.signature.as_slice())).collect();
        let all_hold = batch.len() > 1 && VerifyingKey::verify_batch(&items);
        for pending in batch {
            let holds = all_hold || pending.key.verify(&pending.message, &pending.signature);
            // A requester that stopped waiting needs no answer.
            let _ = pending.answer.send(holds);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::seal::{Ed25519Signer, Signer as _};

    #[tokio::test]
    async fn concurrent_checks_each_get_their_own_answer() {
        let verifier = std::sync::Arc::new(BatchVerifier::start().unwrap());
        let signer = Ed25519Signer::ephemeral("130728102000").unwrap();
        let key = VerifyingKey::from_jwk(&signer.public_jwk()).unwrap();
        let mut checks = Vec::new();
        for i in 0..300_u32 {
            let message = format!("message {i}").into_bytes();
            let mut signature = signer.sign(&message);
            // Every seventh is forged: its batch fails, and only it is refused.
            if i % 7 == 0 {
                signature[3] ^= 1;
            }
            let (verifier, key) = (verifier.clone(), key.clone());
            checks.push(tokio::spawn(async move { (i, verifier.holds(&key, &message, &signature).await) }));
        }
        for check in checks {
            let (i, holds) = check.await.unwrap();
            assert_eq!(holds, i % 7 != 0, "signature {i}");
        }
    }
}
