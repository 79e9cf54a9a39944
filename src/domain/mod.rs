//! Pure rules of the domain: no IO.

pub mod access;
pub mod account;
pub mod assessment;
pub mod calendar;
pub mod certificate;
pub mod claims;
pub mod directory;
pub mod division;
pub mod error;
pub mod holder;
pub mod id_number;
pub mod ledger;
pub mod marital;
pub mod message;
pub mod role;
pub mod verification;
pub mod worklist;
