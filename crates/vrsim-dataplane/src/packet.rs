//! [`PacketBuf`]: a reusable buffer with headroom, where the pipeline pulls
//! and pushes headers in place so that forwarding allocates nothing.

/// Bytes kept free in front of a received frame for the headers the vRouter
/// pushes (MPLS, GRE or UDP/VXLAN, outer IPv4 and Ethernet: at most 54).
pub const HEADROOM: usize = 128;

/// The frame being forwarded, and after [`crate::VRouter::process`] the frame
/// that leaves. Reuse one across calls: it grows to the largest frame seen and
/// never shrinks, so steady-state forwarding allocates nothing.
#[derive(Debug, Clone, Default)]
pub struct PacketBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl PacketBuf {
    /// An empty buffer sized for frames up to `mtu` bytes (more is allocated on demand).
    pub fn with_capacity(mtu: usize) -> Self {
        PacketBuf {
            data: vec![0; HEADROOM + mtu],
            start: HEADROOM,
            end: HEADROOM,
        }
    }

    /// The current frame (after `process`: the frame transmitted, if any).
    #[inline]
    pub fn frame(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// The frame's length.
    #[inline]
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the buffer holds no frame.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Load `frame` behind [`HEADROOM`] free bytes.
    #[inline]
    pub(crate) fn load(&mut self, frame: &[u8]) {
        let need = HEADROOM + frame.len();
        if self.data.len() < need {
            self.data.resize(need, 0);
        }
        self.start = HEADROOM;
        self.end = need;
        self.data[self.start..self.end].copy_from_slice(frame);
    }

    /// The frame, mutable.
    #[inline]
    pub(crate) fn frame_mut(&mut self) -> &mut [u8] {
        &mut self.data[self.start..self.end]
    }

    /// Drop `n` bytes from the front; `false` (nothing changed) if fewer remain.
    #[inline]
    pub(crate) fn pull(&mut self, n: usize) -> bool {
        if self.len() < n {
            return false;
        }
        self.start += n;
        true
    }

    /// Keep only the first `n` bytes (trailing padding after an IP packet).
    #[inline]
    pub(crate) fn trim_to(&mut self, n: usize) {
        self.end = self.end.min(self.start + n);
    }

    /// Make room for `n` bytes in front and return them; `None` (nothing
    /// changed) if the headroom is used up.
    #[inline]
    pub(crate) fn push(&mut self, n: usize) -> Option<&mut [u8]> {
        let start = self.start.checked_sub(n)?;
        self.start = start;
        Some(&mut self.data[start..start + n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_push_and_reuse() {
        let mut b = PacketBuf::with_capacity(64);
        b.load(&[1, 2, 3, 4]);
        assert!(b.pull(2));
        assert_eq!(b.frame(), &[3, 4]);
        b.push(1).unwrap()[0] = 9;
        assert_eq!(b.frame(), &[9, 3, 4]);
        assert!(!b.pull(4));
        assert!(b.push(HEADROOM + 2).is_none());
        b.load(&[5; 100]);
        assert_eq!(b.len(), 100);
        b.trim_to(10);
        assert_eq!(b.frame(), &[5; 10]);
    }
}
