//! One BGP session's finite state machine (RFC 4271 §8), without I/O.
//!
//! The session is passive, as the control node is toward a BGPaaS client: it
//! starts when the peer's TCP connection is accepted, in OpenSent with our
//! OPEN sent. The owner feeds it bytes ([`Session::receive`]), the passing of
//! time ([`Session::tick`], with times as durations since any fixed instant,
//! so tests run on a virtual clock) and the loss of the connection, and
//! carries out the [`Output`]s in order: bytes to send, the session coming up,
//! UPDATEs, and the session going down with why.
//!
//! Timers: the negotiated hold time is the smaller of the two OPENs' (0 turns
//! both timers off); KEEPALIVEs go out every third of it; until the peer's
//! OPEN arrives the hold timer is the 4 minutes §8 suggests. Every message
//! received restarts the hold timer. Route refresh and graceful restart are
//! not negotiated (we do not announce the capabilities); a ROUTE-REFRESH
//! received anyway is ignored.
//!
//! Errors end the session: a malformed message or one the state does not
//! expect makes the session send the NOTIFICATION of RFC 4271 §6 (RFC 6608
//! subcodes for the state machine) and go down, so a malformed UPDATE never
//! reaches the route table: the owner withdraws everything the session had
//! sent, as for any session loss.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use ipnet::IpNet;
use vrsim_control::bgp::PathAttrs;

use crate::message::{self, Message, Notification, Open, Sender, Update};

/// The hold timer before the peer's OPEN (RFC 4271 §8: "4 minutes is suggested").
pub const OPEN_HOLD: Duration = Duration::from_secs(240);

/// What our side of the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// The AS the peer must have.
    pub peer_as: u32,
    /// The hold time we propose (0, or 3 and more seconds).
    pub hold_time: u16,
}

/// The states a passive session goes through (Idle, Connect and Active are
/// the listener's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Our OPEN is sent; waiting for the peer's.
    OpenSent,
    /// OPENs exchanged; waiting for the peer's KEEPALIVE.
    OpenConfirm,
    /// Up: UPDATEs flow.
    Established,
    /// Over; the connection is to be closed.
    Closed,
}

impl State {
    /// The name RFC 4271 uses.
    pub fn name(self) -> &'static str {
        match self {
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
            State::Closed => "Idle",
        }
    }
}

/// Why a session went down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Down {
    /// We sent this NOTIFICATION (an error, the hold timer, or a shutdown).
    Sent(Notification),
    /// The peer sent this NOTIFICATION.
    Received(Notification),
    /// The peer closed the TCP connection without a NOTIFICATION.
    ConnectionClosed,
    /// The peer stopped reading: sending to it timed out.
    SendTimeout,
}

impl std::fmt::Display for Down {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Down::Sent(n) => write!(f, "sent NOTIFICATION {n}"),
            Down::Received(n) => write!(f, "received NOTIFICATION {n}"),
            Down::ConnectionClosed => f.write_str("the peer closed the connection"),
            Down::SendTimeout => f.write_str("the peer stopped reading (a send timed out)"),
        }
    }
}

/// What the owner of a session does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send these bytes.
    Send(Vec<u8>),
    /// The session reached Established; the peer's OPEN.
    Established(Open),
    /// The peer sent an UPDATE.
    Update(Update),
    /// The session is down: close the connection and withdraw its routes.
    Down(Down),
}

/// One session.
#[derive(Debug, Clone)]
pub struct Session {
    config: Config,
    state: State,
    buf: Vec<u8>,
    peer: Option<Open>,
    hold: u16,
    hold_deadline: Option<Duration>,
    keepalive_due: Option<Duration>,
    sent: BTreeMap<IpNet, PathAttrs>,
}

impl Session {
    /// A session on a newly accepted connection at `now`: sends our OPEN.
    pub fn accept(config: Config, now: Duration) -> (Session, Vec<Output>) {
        let s = Session {
            config,
            state: State::OpenSent,
            buf: Vec::new(),
            peer: None,
            hold: config.hold_time,
            hold_deadline: Some(now + OPEN_HOLD),
            keepalive_due: None,
            sent: BTreeMap::new(),
        };
        let open = message::encode_open(config.local_as, config.hold_time, config.router_id);
        (s, vec![Output::Send(open)])
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The peer's OPEN, once received.
    pub fn peer(&self) -> Option<&Open> {
        self.peer.as_ref()
    }

    /// The negotiated hold time (our proposal until the peer's OPEN).
    pub fn hold_time(&self) -> u16 {
        self.hold
    }

    /// The routes we have announced and not withdrawn.
    pub fn sent(&self) -> &BTreeMap<IpNet, PathAttrs> {
        &self.sent
    }

    /// When [`Session::tick`] next has something to do.
    pub fn deadline(&self) -> Option<Duration> {
        match (self.hold_deadline, self.keepalive_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn fail(&mut self, n: Notification, out: &mut Vec<Output>) {
        out.push(Output::Send(n.to_bytes()));
        self.close(Down::Sent(n), out);
    }

    fn close(&mut self, why: Down, out: &mut Vec<Output>) {
        self.state = State::Closed;
        self.hold_deadline = None;
        self.keepalive_due = None;
        self.buf.clear();
        self.sent.clear();
        out.push(Output::Down(why));
    }

    fn restart_timers(&mut self, now: Duration) {
        if self.hold == 0 {
            self.hold_deadline = None;
            self.keepalive_due = None;
        } else {
            self.hold_deadline = Some(now + Duration::from_secs(self.hold.into()));
            if self.keepalive_due.is_none() {
                self.keepalive_due = Some(now + Duration::from_secs((self.hold / 3).into()));
            }
        }
    }

    /// Bytes from the connection at `now`.
    pub fn receive(&mut self, bytes: &[u8], now: Duration) -> Vec<Output> {
        let mut out = Vec::new();
        if self.state == State::Closed {
            return out;
        }
        self.buf.extend_from_slice(bytes);
        while self.state != State::Closed {
            let len = match message::frame(&self.buf) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(n) => {
                    self.fail(n, &mut out);
                    break;
                }
            };
            let decoded = message::decode(&self.buf[..len], self.asn4());
            self.buf.drain(..len);
            match decoded {
                Ok(msg) => self.handle(msg, now, &mut out),
                Err(n) => self.fail(n, &mut out),
            }
        }
        out
    }

    fn asn4(&self) -> bool {
        self.peer.as_ref().is_some_and(|p| p.four_octet)
    }

    fn handle(&mut self, msg: Message, now: Duration, out: &mut Vec<Output>) {
        if let Message::Notification(n) = msg {
            self.close(Down::Received(n), out);
            return;
        }
        match (self.state, msg) {
            (State::OpenSent, Message::Open(open)) => self.open(open, now, out),
            (State::OpenConfirm, Message::Keepalive) => {
                self.state = State::Established;
                self.restart_timers(now);
                if let Some(open) = &self.peer {
                    out.push(Output::Established(open.clone()));
                }
            }
            (State::Established, Message::Keepalive | Message::RouteRefresh) => {
                self.restart_timers(now)
            }
            (State::Established, Message::Update(u)) => {
                self.restart_timers(now);
                out.push(Output::Update(u));
            }
            (state, _) => {
                let subcode = match state {
                    State::OpenSent => 1,
                    State::OpenConfirm => 2,
                    _ => 3,
                };
                self.fail(Notification::fsm_error(subcode), out);
            }
        }
    }

    fn open(&mut self, open: Open, now: Duration, out: &mut Vec<Output>) {
        // RFC 4271 §6.2, in the order it lists the checks.
        let id = open.router_id;
        let err = if open.version != 4 {
            Some(Notification::unsupported_version())
        } else if open.asn != self.config.peer_as {
            Some(Notification::bad_peer_as(open.my_as))
        } else if open.hold_time == 1 || open.hold_time == 2 {
            Some(Notification::unacceptable_hold_time(open.hold_time))
        } else if id.is_unspecified()
            || id.is_multicast()
            || id.is_broadcast()
            // Equal identifiers only matter inside one AS (RFC 6286 §2.2).
            || (id == self.config.router_id && self.config.peer_as == self.config.local_as)
        {
            Some(Notification::bad_bgp_identifier(id))
        } else {
            None
        };
        if let Some(n) = err {
            self.fail(n, out);
            return;
        }
        self.hold = self.config.hold_time.min(open.hold_time);
        self.peer = Some(open);
        self.state = State::OpenConfirm;
        self.keepalive_due = None;
        out.push(Output::Send(message::encode_keepalive()));
        self.restart_timers(now);
    }

    /// Time passed: the hold timer may expire, a KEEPALIVE may be due.
    pub fn tick(&mut self, now: Duration) -> Vec<Output> {
        let mut out = Vec::new();
        if self.hold_deadline.is_some_and(|d| now >= d) {
            self.fail(Notification::hold_timer_expired(), &mut out);
            return out;
        }
        if let Some(due) = self.keepalive_due
            && now >= due
        {
            out.push(Output::Send(message::encode_keepalive()));
            let step = Duration::from_secs((self.hold / 3).max(1).into());
            self.keepalive_due = Some(now + step);
        }
        out
    }

    /// The peer closed the connection (or it broke).
    pub fn connection_closed(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if self.state != State::Closed {
            self.close(Down::ConnectionClosed, &mut out);
        }
        out
    }

    /// Sending to the peer timed out: the session is down without a
    /// NOTIFICATION (there is no way to send one).
    pub fn send_timeout(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if self.state != State::Closed {
            self.close(Down::SendTimeout, &mut out);
        }
        out
    }

    /// A newer connection for the same session replaces this one (Cease /
    /// Connection Collision Resolution), unless this one is Established: then
    /// it stays and nothing happens.
    pub fn collision(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if !matches!(self.state, State::Closed | State::Established) {
            self.fail(Notification::connection_collision(), &mut out);
        }
        out
    }

    /// We end the session (Cease / Administrative Shutdown).
    pub fn shutdown(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if self.state != State::Closed {
            self.fail(Notification::admin_shutdown(), &mut out);
        }
        out
    }

    /// Make the routes the peer has from us equal `wanted`: UPDATEs that
    /// withdraw what is gone and announce what is new or changed. Nothing
    /// before Established; routes of a family the peer did not negotiate
    /// (RFC 4760 §8: an IPv6 route to a peer without the IPv6 unicast
    /// capability) are left out.
    pub fn advertise(&mut self, wanted: &[(IpNet, PathAttrs)]) -> Vec<Output> {
        if self.state != State::Established {
            return Vec::new();
        }
        let peer = self.peer.as_ref();
        let wanted: BTreeMap<IpNet, PathAttrs> = wanted
            .iter()
            .filter(|(p, _)| peer.is_some_and(|o| o.carries(p)))
            .map(|(p, a)| (p.trunc(), a.clone()))
            .collect();
        let withdraw: Vec<IpNet> = self
            .sent
            .keys()
            .filter(|p| !wanted.contains_key(p))
            .copied()
            .collect();
        let announce: Vec<(IpNet, PathAttrs)> = wanted
            .iter()
            .filter(|(p, a)| self.sent.get(p) != Some(a))
            .map(|(p, a)| (*p, a.clone()))
            .collect();
        let sender = Sender {
            local_as: self.config.local_as,
            ebgp: self.config.local_as != self.config.peer_as,
            asn4: self.asn4(),
        };
        let (mut msgs, unsent) = message::encode_updates_checked(sender, &withdraw, &announce);
        // What could not be sent is not the peer's: leave it out of `sent`,
        // and withdraw an older version of it the peer still has.
        let mut wanted = wanted;
        let stale: Vec<IpNet> = unsent
            .iter()
            .filter(|p| self.sent.contains_key(p))
            .copied()
            .collect();
        for p in &unsent {
            wanted.remove(p);
        }
        msgs.extend(message::encode_updates(sender, &stale, &[]));
        self.sent = wanted;
        msgs.into_iter().map(Output::Send).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VM: Ipv4Addr = Ipv4Addr::new(172, 16, 10, 3);

    fn config() -> Config {
        Config {
            local_as: 64512,
            router_id: Ipv4Addr::new(10, 0, 0, 10),
            peer_as: 65000,
            hold_time: 90,
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// A peer's messages: the mirror of our own encoders.
    fn peer_open(asn: u32, hold: u16) -> Vec<u8> {
        message::encode_open(asn, hold, VM)
    }

    fn sent(out: &[Output]) -> Vec<Message> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send(b) => message::decode(b, true).ok(),
                _ => None,
            })
            .collect()
    }

    fn established() -> Session {
        let (mut s, out) = Session::accept(config(), secs(0));
        assert!(matches!(sent(&out)[..], [Message::Open(_)]));
        let out = s.receive(&peer_open(65000, 30), secs(1));
        assert_eq!(sent(&out), vec![Message::Keepalive]);
        assert_eq!(s.state(), State::OpenConfirm);
        let out = s.receive(&message::encode_keepalive(), secs(1));
        assert!(matches!(out[..], [Output::Established(_)]));
        assert_eq!(s.state(), State::Established);
        assert_eq!(s.hold_time(), 30);
        s
    }

    #[test]
    fn reaches_established_and_passes_updates() {
        let mut s = established();
        let prefix: IpNet = "192.168.100.0/26".parse().expect("prefix");
        let attrs = PathAttrs::new(VM, vec![]);
        let peer = Sender {
            local_as: 65000,
            ebgp: true,
            asn4: true,
        };
        let update = message::encode_updates(peer, &[], &[(prefix, attrs)]);
        // Delivered one byte at a time: framing must not care.
        let mut out = Vec::new();
        for b in &update[0] {
            out.extend(s.receive(&[*b], secs(2)));
        }
        let [Output::Update(u)] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(u.announced.len(), 1);
        assert_eq!(u.announced[0].0, prefix);
        assert_eq!(u.announced[0].1.as_path, vec![65000]);
    }

    #[test]
    fn wrong_peer_as_is_refused_with_bad_peer_as() {
        let (mut s, _) = Session::accept(config(), secs(0));
        let out = s.receive(&peer_open(65001, 90), secs(1));
        let [Output::Send(bytes), Output::Down(Down::Sent(n))] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!((n.code, n.subcode), (2, 2));
        assert_eq!(
            message::decode(bytes, true),
            Ok(Message::Notification(n.clone()))
        );
        assert_eq!(s.state(), State::Closed);
        assert!(s.receive(&message::encode_keepalive(), secs(2)).is_empty());
    }

    #[test]
    fn hold_timer_expiry_and_keepalives() {
        let mut s = established();
        // Hold 30 s: a KEEPALIVE every 10 s.
        assert_eq!(s.deadline(), Some(secs(11)));
        assert_eq!(sent(&s.tick(secs(11))), vec![Message::Keepalive]);
        assert!(s.tick(secs(12)).is_empty());
        let out = s.tick(secs(31));
        let [Output::Send(_), Output::Down(Down::Sent(n))] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(n.code, 4);
    }

    #[test]
    fn received_keepalive_restarts_the_hold_timer() {
        let mut s = established();
        let _ = s.tick(secs(11));
        let _ = s.tick(secs(21));
        assert!(s.receive(&message::encode_keepalive(), secs(25)).is_empty());
        assert!(
            !s.tick(secs(31))
                .iter()
                .any(|o| matches!(o, Output::Down(_)))
        );
        assert!(
            s.tick(secs(55))
                .iter()
                .any(|o| matches!(o, Output::Down(_)))
        );
    }

    #[test]
    fn unexpected_messages_are_fsm_errors() {
        let (mut s, _) = Session::accept(config(), secs(0));
        let out = s.receive(&message::encode_keepalive(), secs(1));
        assert!(
            matches!(&out[..], [_, Output::Down(Down::Sent(n))] if (n.code, n.subcode) == (5, 1))
        );
        let mut s = established();
        let out = s.receive(&peer_open(65000, 90), secs(2));
        assert!(
            matches!(&out[..], [_, Output::Down(Down::Sent(n))] if (n.code, n.subcode) == (5, 3))
        );
    }

    #[test]
    fn notification_and_close_end_the_session() {
        let mut s = established();
        let n = Notification::admin_shutdown();
        assert_eq!(
            s.receive(&n.to_bytes(), secs(2)),
            vec![Output::Down(Down::Received(n))]
        );
        let mut s = established();
        assert_eq!(
            s.connection_closed(),
            vec![Output::Down(Down::ConnectionClosed)]
        );
        assert!(s.connection_closed().is_empty());
    }

    #[test]
    fn advertise_sends_differences() {
        let mut s = established();
        let a: IpNet = "172.16.10.3/32".parse().expect("prefix");
        let b: IpNet = "172.16.10.4/32".parse().expect("prefix");
        let nh = Ipv4Addr::new(172, 16, 10, 1);
        let attrs = PathAttrs::new(nh, vec![]);
        let out = s.advertise(&[(a, attrs.clone()), (b, attrs.clone())]);
        let [Message::Update(u)] = &sent(&out)[..] else {
            panic!("{out:?}")
        };
        let announced: Vec<IpNet> = u.announced.iter().map(|(p, _)| *p).collect();
        assert_eq!(announced, vec![a, b]);
        assert!(
            s.advertise(&[(a, attrs.clone()), (b, attrs.clone())])
                .is_empty()
        );
        let out = s.advertise(&[(a, attrs)]);
        let [Message::Update(u)] = &sent(&out)[..] else {
            panic!("{out:?}")
        };
        assert_eq!((u.withdrawn.clone(), u.announced.len()), (vec![b], 0));
    }

    #[test]
    fn ipv6_routes_go_only_to_a_peer_that_negotiated_ipv6() {
        // A peer's OPEN with the 4-octet AS capability and no multiprotocol
        // one: IPv4 unicast only (RFC 4760 §8).
        let mut open = vec![0xff; 16];
        open.extend_from_slice(&37u16.to_be_bytes());
        open.extend_from_slice(&[1, 4]);
        open.extend_from_slice(&65000u16.to_be_bytes());
        open.extend_from_slice(&30u16.to_be_bytes());
        open.extend_from_slice(&VM.octets());
        open.extend_from_slice(&[8, 2, 6, 65, 4]);
        open.extend_from_slice(&65000u32.to_be_bytes());
        let (mut s, _) = Session::accept(config(), secs(0));
        s.receive(&open, secs(1));
        s.receive(&message::encode_keepalive(), secs(1));
        assert_eq!(s.state(), State::Established);
        let v4: IpNet = "172.16.10.3/32".parse().expect("prefix");
        let v6: IpNet = "fd00:172:16:10::3/128".parse().expect("prefix");
        let attrs = |nh: std::net::IpAddr| PathAttrs::new(nh, vec![]);
        let wanted = [
            (v4, attrs(Ipv4Addr::new(172, 16, 10, 1).into())),
            (v6, attrs("fd00:172:16:10::1".parse().expect("address"))),
        ];
        let out = s.advertise(&wanted);
        let [Message::Update(u)] = &sent(&out)[..] else {
            panic!("{out:?}")
        };
        let announced: Vec<IpNet> = u.announced.iter().map(|(p, _)| *p).collect();
        assert_eq!(announced, vec![v4]);
        // A peer that announced both families (our own OPEN does) gets both.
        let mut both = established();
        let out = both.advertise(&wanted);
        let announced: Vec<IpNet> = sent(&out)
            .iter()
            .flat_map(|m| match m {
                Message::Update(u) => u.announced.iter().map(|(p, _)| *p).collect(),
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(announced, vec![v4, v6]);
    }

    #[test]
    fn malformed_update_ends_the_session_without_routes() {
        let mut s = established();
        // An UPDATE whose attribute length runs past the message.
        let mut msg = vec![0xff; 16];
        msg.extend_from_slice(&25u16.to_be_bytes());
        msg.extend_from_slice(&[2, 0, 0, 0, 200, 8, 10]);
        let out = s.receive(&msg, secs(2));
        assert!(!out.iter().any(|o| matches!(o, Output::Update(_))));
        assert!(
            matches!(out.last(), Some(Output::Down(Down::Sent(n))) if n.code == 3 || n.code == 1)
        );
    }
}
