//! Longest-prefix-match tables for IPv4 and IPv6.
//!
//! [`Ipv4Table`] and [`Ipv6Table`] map prefixes to values and answer
//! [`longest_match`](Ipv4Table::longest_match) queries; `lookup_batch` answers many
//! at once with their memory accesses overlapped. See [`design`] for how they work.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use vrsim_lpm::Ipv4Table;
//!
//! let mut routes: Ipv4Table<u32> = [
//!     ("0.0.0.0/0".parse().unwrap(), 1),
//!     ("192.0.2.0/24".parse().unwrap(), 2),
//!     ("192.0.2.128/25".parse().unwrap(), 3),
//! ]
//! .into_iter()
//! .collect();
//! assert_eq!(routes.longest_match(Ipv4Addr::new(192, 0, 2, 200)).map(|(_, v)| *v), Some(3));
//! assert_eq!(routes.longest_match(Ipv4Addr::new(192, 0, 2, 1)).map(|(_, v)| *v), Some(2));
//! assert_eq!(routes.remove(&"192.0.2.0/24".parse().unwrap()), Some(2));
//!
//! let addrs = [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 129)];
//! let mut out = [None; 2];
//! routes.lookup_batch(&addrs, &mut out);
//! assert_eq!(out, [Some(1), Some(3)]);
//! assert_eq!(routes.iter().count(), 2);
//! ```

mod arch;
mod batch;
mod batch6;
mod bits;
mod bulk;
mod cells;
pub mod design;
mod direct;
pub mod fib;
mod kids;
mod links;
mod push;
mod slice;
mod trie;
mod v4;
mod v6;
mod walk;

pub use fib::{Fib4, Fib6};
pub use v4::{Ipv4Table, Iter as Ipv4Iter};
pub use v6::{Ipv6Table, Iter as Ipv6Iter};
