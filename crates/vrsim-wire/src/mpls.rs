//! An MPLS label stack (RFC 3032). pnet has no MPLS, so the view is written here.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                Label                  | TC  |S|      TTL      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! Entries follow one another until one has the S (bottom of stack) bit.

use crate::error::{Error, ErrorKind, Layer, Result, need};
use crate::types::{MplsLabel, be32};

/// Length of one label stack entry.
pub const ENTRY_LEN: usize = 4;
/// The deepest stack parsed; a stack without a bottom within this many entries is an error.
pub const MAX_STACK_DEPTH: usize = 8;

mod field {
    pub(super) const LABEL_SHIFT: u32 = 12;
    pub(super) const TC_SHIFT: u32 = 9;
    pub(super) const TC_MASK: u32 = 0x7;
    pub(super) const BOTTOM: u32 = 0x100;
    pub(super) const TTL_MASK: u32 = 0xff;
}

/// One label stack entry; its S bit is implied by its position in a [`MplsRepr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MplsEntry {
    /// The label.
    pub label: MplsLabel,
    /// Traffic class (3 bits, formerly EXP).
    pub tc: u8,
    /// Time to live.
    pub ttl: u8,
}

impl MplsEntry {
    /// An entry with traffic class 0.
    #[inline]
    pub const fn new(label: MplsLabel, ttl: u8) -> Self {
        MplsEntry { label, tc: 0, ttl }
    }

    /// Decode a 32-bit entry into the entry and its S bit.
    #[inline]
    pub fn from_word(word: u32) -> (Self, bool) {
        let entry = MplsEntry {
            label: MplsLabel::from_bits_truncate(word >> field::LABEL_SHIFT),
            tc: ((word >> field::TC_SHIFT) & field::TC_MASK) as u8,
            ttl: (word & field::TTL_MASK) as u8,
        };
        (entry, word & field::BOTTOM != 0)
    }

    /// Read the entry at the start of `bytes` and its S bit, without walking
    /// the rest of the stack (as a router pops one label at a time).
    #[inline(always)]
    pub fn read(bytes: &[u8]) -> Result<(Self, bool)> {
        let word = bytes.first_chunk::<ENTRY_LEN>().ok_or(Error::truncated(
            Layer::Mpls,
            ENTRY_LEN,
            bytes.len(),
        ))?;
        Ok(MplsEntry::from_word(u32::from_be_bytes(*word)))
    }

    /// Write the entry with the given S bit into the first [`ENTRY_LEN`] bytes of `buf`.
    #[inline(always)]
    pub fn write(self, bottom: bool, buf: &mut [u8]) -> Result<()> {
        let available = buf.len();
        let out = buf
            .first_chunk_mut::<ENTRY_LEN>()
            .ok_or(Error::buffer_too_small(Layer::Mpls, ENTRY_LEN, available))?;
        *out = self.to_word(bottom).to_be_bytes();
        Ok(())
    }

    /// Encode the entry with the given S bit. A traffic class above 7 is masked.
    #[inline]
    pub fn to_word(self, bottom: bool) -> u32 {
        self.label.value() << field::LABEL_SHIFT
            | (u32::from(self.tc) & field::TC_MASK) << field::TC_SHIFT
            | if bottom { field::BOTTOM } else { 0 }
            | u32::from(self.ttl)
    }
}

/// A checked view of a label stack: entries up to and including the first
/// with the S bit, at most [`MAX_STACK_DEPTH`] of them, all present.
#[derive(Debug)]
pub struct MplsView<'a> {
    bytes: &'a [u8],
    depth: usize,
}

impl<'a> MplsView<'a> {
    /// Walk the stack to its bottom.
    #[inline]
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        for depth in 1..=MAX_STACK_DEPTH {
            need(Layer::Mpls, bytes, depth * ENTRY_LEN)?;
            if be32(bytes, (depth - 1) * ENTRY_LEN) & field::BOTTOM != 0 {
                return Ok(MplsView { bytes, depth });
            }
        }
        Err(Error::new(
            Layer::Mpls,
            ErrorKind::MplsStackTooDeep {
                bound: MAX_STACK_DEPTH,
            },
        ))
    }

    /// Number of entries.
    #[inline]
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Entry `i`, 0 being the top; `None` past the bottom.
    #[inline]
    pub fn entry(&self, i: usize) -> Option<MplsEntry> {
        (i < self.depth).then(|| MplsEntry::from_word(be32(self.bytes, i * ENTRY_LEN)).0)
    }

    /// Length of the stack in bytes.
    #[inline]
    pub fn header_len(&self) -> usize {
        self.depth * ENTRY_LEN
    }

    /// The bytes after the bottom of the stack.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[self.header_len()..]
    }
}

/// A label stack of 1 to [`MAX_STACK_DEPTH`] entries, top first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MplsRepr {
    entries: [MplsEntry; MAX_STACK_DEPTH],
    depth: u8,
}

impl MplsRepr {
    /// A stack of one entry.
    #[inline]
    pub fn single(entry: MplsEntry) -> Self {
        let mut entries = [MplsEntry::default(); MAX_STACK_DEPTH];
        entries[0] = entry;
        MplsRepr { entries, depth: 1 }
    }

    /// A stack of the given entries, top first; `None` if there are none or
    /// more than [`MAX_STACK_DEPTH`].
    #[inline]
    pub fn from_entries(list: &[MplsEntry]) -> Option<Self> {
        if list.is_empty() || list.len() > MAX_STACK_DEPTH {
            return None;
        }
        let mut entries = [MplsEntry::default(); MAX_STACK_DEPTH];
        entries[..list.len()].copy_from_slice(list);
        // At most MAX_STACK_DEPTH (8), so it fits a u8.
        Some(MplsRepr {
            entries,
            depth: list.len() as u8,
        })
    }

    /// Read the stack from a checked view.
    #[inline]
    pub fn parse(view: &MplsView<'_>) -> Result<Self> {
        let mut entries = [MplsEntry::default(); MAX_STACK_DEPTH];
        for (i, e) in entries.iter_mut().enumerate().take(view.depth) {
            *e = MplsEntry::from_word(be32(view.bytes, i * ENTRY_LEN)).0;
        }
        // The view's depth is at most MAX_STACK_DEPTH (8).
        Ok(MplsRepr {
            entries,
            depth: view.depth as u8,
        })
    }

    /// The entries, top first.
    #[inline]
    pub fn entries(&self) -> &[MplsEntry] {
        &self.entries[..usize::from(self.depth)]
    }

    /// The top entry.
    #[inline]
    pub fn top(&self) -> MplsEntry {
        self.entries[0]
    }

    /// Length of the stack in bytes.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        usize::from(self.depth) * ENTRY_LEN
    }

    /// Write the stack into the first [`buffer_len`](Self::buffer_len) bytes
    /// of `buf`, with the S bit on the last entry only.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let len = self.buffer_len();
        let available = buf.len();
        let out = buf
            .get_mut(..len)
            .ok_or(Error::buffer_too_small(Layer::Mpls, len, available))?;
        let last = self.entries().len() - 1;
        for (i, (e, chunk)) in self
            .entries()
            .iter()
            .zip(out.chunks_exact_mut(ENTRY_LEN))
            .enumerate()
        {
            chunk.copy_from_slice(&e.to_word(i == last).to_be_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(v: u32) -> MplsLabel {
        MplsLabel::try_from(v).unwrap()
    }

    /// Label 35, TC 0, bottom, TTL 64: what the gateway pushes towards compute01.
    const LABEL_35: [u8; 4] = [0x00, 0x02, 0x31, 0x40];

    #[test]
    fn single_entry_both_ways() {
        let view = MplsView::new_checked(&LABEL_35).unwrap();
        let repr = MplsRepr::single(MplsEntry::new(label(35), 64));
        assert_eq!(MplsRepr::parse(&view).unwrap(), repr);
        let mut buf = [0u8; 4];
        repr.emit(&mut buf).unwrap();
        assert_eq!(buf, LABEL_35);
    }

    #[test]
    fn two_entries_with_tc() {
        let bytes = [0x00, 0x01, 0x0a, 0xff, 0xff, 0xff, 0xf7, 0x01, 0xaa];
        let view = MplsView::new_checked(&bytes).unwrap();
        assert_eq!(view.depth(), 2);
        assert_eq!(view.payload(), &[0xaa]);
        let repr = MplsRepr::parse(&view).unwrap();
        assert_eq!(
            repr.entries(),
            &[
                MplsEntry {
                    label: label(16),
                    tc: 5,
                    ttl: 255
                },
                MplsEntry {
                    label: MplsLabel::MAX,
                    tc: 3,
                    ttl: 1
                }
            ]
        );
        let mut buf = [0u8; 8];
        repr.emit(&mut buf).unwrap();
        assert_eq!(buf, bytes[..8]);
    }

    #[test]
    fn every_truncation() {
        let bytes = [0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x31, 0x40];
        for len in 0..8 {
            let needed = if len < 4 { 4 } else { 8 };
            assert_eq!(
                MplsView::new_checked(&bytes[..len]).unwrap_err().kind,
                ErrorKind::Truncated {
                    needed,
                    available: len
                }
            );
        }
    }

    #[test]
    fn no_bottom_within_bound() {
        let bytes = [0u8; 4 * (MAX_STACK_DEPTH + 1)];
        assert_eq!(
            MplsView::new_checked(&bytes).unwrap_err().kind,
            ErrorKind::MplsStackTooDeep {
                bound: MAX_STACK_DEPTH
            }
        );
    }

    #[test]
    fn stack_bounds() {
        assert!(MplsRepr::from_entries(&[]).is_none());
        assert!(MplsRepr::from_entries(&[MplsEntry::default(); MAX_STACK_DEPTH + 1]).is_none());
        let deepest =
            MplsRepr::from_entries(&[MplsEntry::new(label(100), 9); MAX_STACK_DEPTH]).unwrap();
        let mut buf = [0u8; 4 * MAX_STACK_DEPTH];
        deepest.emit(&mut buf).unwrap();
        assert_eq!(
            MplsRepr::parse(&MplsView::new_checked(&buf).unwrap()).unwrap(),
            deepest
        );
    }

    #[test]
    fn one_entry_reads_and_writes_in_place() {
        let entry = MplsEntry::new(MplsLabel::new(35).expect("in range"), 63);
        let mut buf = [0u8; 6];
        entry.write(true, &mut buf).expect("fits");
        assert_eq!(buf[..4], [0x00, 0x02, 0x31, 0x3f]);
        assert_eq!(MplsEntry::read(&buf).expect("whole"), (entry, true));
        assert!(MplsEntry::read(&buf[..3]).is_err());
        assert!(entry.write(false, &mut buf[..3]).is_err());
    }
}
