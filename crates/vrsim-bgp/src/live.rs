//! The live runner: real TCP sessions for a fabric's BGPaaS objects.
//!
//! Each BGPaaS session (a BGPaaS object and one of the vRouter addresses its
//! VM peers with) gets a listening socket of its own, as Contrail gives each
//! BGPaaS session a port of the control node's BGPaaS port range: session `i`
//! (BGPaaS objects in topology order, then their peer addresses in order)
//! listens on the first port plus `i`. A connection is accepted only from the
//! session's remote address, which stands for the VM's (on one machine the
//! VM's own 172.16.x.y address is not local, so a test gives a loopback
//! address in its place), and only one at a time; anything else gets Cease /
//! Connection Rejected. The peer's AS must be the BGPaaS object's, or the OPEN
//! is refused with OPEN Message Error / Bad Peer AS.
//!
//! What a session does to the model, under the fabric's lock:
//! - Established: [`Event::SessionUp`];
//! - UPDATE: [`Event::Withdraw`] for each withdrawn prefix the session had
//!   sent, [`Event::Advertise`] for each announced one, IPv4 and IPv6. A
//!   NEXT_HOP equal to the remote address (for an IPv6 route, that address
//!   mapped into IPv6) is the VM's address (the agent NATs the VM's session
//!   through the vhost, docs/vrouter-reference.md §9), so it is rewritten to
//!   the VM's address of the route's family;
//! - down (NOTIFICATION either way, TCP close, hold timer expiry):
//!   [`Event::SessionDown`], which withdraws every path the session sent.
//!
//! After every change each Established session is sent the routes the control
//! node advertises to it ([`vrsim_control::Controller::bgpaas_routes_out`]):
//! the network's VM /32s and /128s and BGPaaS routes with NEXT_HOP rewritten
//! to the address the VM peers with (its IPv6 counterpart for IPv6 routes),
//! and Contrail's AS prepended toward eBGP peers; IPv6 routes only to a peer
//! that announced IPv6 unicast.
//!
//! The tokio runtime lives inside [`Live`]; callers stay synchronous.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use vrsim_control::Event;
use vrsim_control::bgp::PathAttrs;
use vrsim_fabric::Fabric;

use crate::message::{Notification, Open, Update};
use crate::session::{self, Down, Output, Session, State};

/// The live runner's one error type: what stops it from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// A remote address was given for a BGPaaS object that does not exist.
    #[error("--bgp-remote {name}: the scenario has no BGPaaS object {name} (it has: {known})")]
    UnknownBgpaas {
        /// The name given.
        name: String,
        /// The BGPaaS objects there are, comma-separated.
        known: String,
    },
    /// The port range runs past 65535.
    #[error(
        "BGPaaS session {session} would listen on port {port}, past 65535: choose a lower first port"
    )]
    PortRange {
        /// The session (`BGPAAS PEER`).
        session: String,
        /// The port it would need.
        port: u32,
    },
    /// The hold time is 1 or 2 (RFC 4271 §4.2 allows 0 or at least 3).
    #[error("hold time {hold_time}: must be 0 or at least 3 seconds")]
    HoldTime {
        /// The hold time given.
        hold_time: u16,
    },
    /// The scenario has no BGPaaS session to serve.
    #[error("the scenario has no BGPaaS session to serve")]
    NoSessions,
    /// A socket could not be bound.
    #[error("cannot listen on {addr} for BGPaaS session {session}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The session.
        session: String,
        /// Why.
        source: std::io::Error,
    },
    /// The runtime could not start.
    #[error("cannot start the BGP runtime: {source}")]
    Runtime {
        /// Why.
        source: std::io::Error,
    },
    /// The model refused to take the live sessions down at start.
    #[error("cannot reset BGPaaS session {session}: {source}")]
    Reset {
        /// The session.
        session: String,
        /// Why.
        source: vrsim_fabric::FabricError,
    },
}

/// How to run the live sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveConfig {
    /// The listening address and the first port of the BGPaaS port range.
    pub listen: SocketAddr,
    /// Per BGPaaS object, the address its speaker connects from (default: the
    /// VM's own address).
    pub remotes: BTreeMap<String, IpAddr>,
    /// The hold time we propose (RFC 4271 suggests 90 s).
    pub hold_time: u16,
}

impl LiveConfig {
    /// Listen on `listen` and the ports after it, remotes at their defaults,
    /// hold time 90 s.
    pub fn new(listen: SocketAddr) -> Self {
        LiveConfig {
            listen,
            remotes: BTreeMap::new(),
            hold_time: 90,
        }
    }
}

/// One BGPaaS session the runner serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The BGPaaS object.
    pub bgpaas: String,
    /// The vRouter address its VM peers with (the network's gateway or DNS address).
    pub peer: Ipv4Addr,
    /// The VM port's address.
    pub vm_ip: Ipv4Addr,
    /// The VM port's IPv6 address, on a dual-stack network.
    pub vm_ip6: Option<Ipv6Addr>,
    /// The AS the peer must have.
    pub peer_as: u32,
    /// Contrail's AS.
    pub local_as: u32,
    /// Our BGP identifier: the control node serving this address (the
    /// gateway address the first control node, the DNS address the second).
    pub router_id: Ipv4Addr,
    /// Where we listen.
    pub listen: SocketAddr,
    /// The only address a connection is accepted from.
    pub remote: IpAddr,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.bgpaas, self.peer)
    }
}

/// The sessions a fabric's BGPaaS objects make, with their sockets.
pub fn endpoints(fabric: &Fabric, cfg: &LiveConfig) -> Result<Vec<Endpoint>, LiveError> {
    let config = fabric.control().config();
    let names: Vec<&str> = config.bgpaas.iter().map(|b| b.name.as_str()).collect();
    if let Some(unknown) = cfg.remotes.keys().find(|r| !names.contains(&r.as_str())) {
        return Err(LiveError::UnknownBgpaas {
            name: unknown.clone(),
            known: names.join(", "),
        });
    }
    let mut out = Vec::new();
    for b in &config.bgpaas {
        let Some(port) = config.port(&b.port) else {
            continue;
        };
        let network = config.network(&port.network);
        for &peer in &b.peers {
            let i = u32::try_from(out.len()).unwrap_or(u32::MAX);
            let number = u32::from(cfg.listen.port()).saturating_add(i);
            let number = u16::try_from(number).map_err(|_| LiveError::PortRange {
                session: format!("{} {peer}", b.name),
                port: number,
            })?;
            let dns = network.is_some_and(|n| n.dns_ip == peer);
            let control = if dns {
                config.control_nodes.get(1)
            } else {
                None
            }
            .or(config.control_nodes.first());
            out.push(Endpoint {
                bgpaas: b.name.clone(),
                peer,
                vm_ip: port.ip,
                vm_ip6: port.ip6,
                peer_as: b.asn,
                local_as: config.asn,
                router_id: control.map_or(peer, |c| c.ip),
                listen: SocketAddr::new(cfg.listen.ip(), number),
                remote: cfg
                    .remotes
                    .get(&b.name)
                    .copied()
                    .unwrap_or(IpAddr::V4(port.ip)),
            });
        }
    }
    if out.is_empty() {
        return Err(LiveError::NoSessions);
    }
    Ok(out)
}

/// A session's state as `vrsim serve` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    /// The session.
    pub endpoint: Endpoint,
    /// Its BGP state (Idle when there is no connection).
    pub state: State,
    /// When it entered that state.
    pub since: Instant,
    /// How many times it reached Established.
    pub established: u32,
    /// Prefixes the peer has sent us (Adj-RIB-In).
    pub received: usize,
    /// Prefixes we have sent the peer.
    pub sent: usize,
    /// The negotiated hold time.
    pub hold_time: u16,
    /// Why it last went down.
    pub last_error: Option<String>,
}

#[derive(Debug)]
struct Shared {
    fabric: Mutex<Fabric>,
    status: Mutex<Vec<SessionStatus>>,
    log: Mutex<Log>,
    generation: watch::Sender<u64>,
    started: Instant,
}

/// The most recent log lines, numbered from the start.
#[derive(Debug, Default)]
struct Log {
    lines: std::collections::VecDeque<String>,
    /// The number of the oldest line kept.
    first: usize,
}

/// How many log lines are kept.
const LOG_LINES: usize = 10_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves data that is still consistent
    // (every model update is all-or-nothing), so go on with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn log(&self, line: String) {
        let t = self.started.elapsed().as_secs_f64();
        let mut log = lock(&self.log);
        if log.lines.len() == LOG_LINES {
            log.lines.pop_front();
            log.first += 1;
        }
        log.lines.push_back(format!("[{t:8.3}] {line}"));
    }

    fn set_status(&self, i: usize, f: impl FnOnce(&mut SessionStatus)) {
        if let Some(s) = lock(&self.status).get_mut(i) {
            f(s);
        }
    }

    /// Apply an event; log it with the programming it caused.
    fn apply(&self, what: &str, event: Event) -> bool {
        let result = lock(&self.fabric).apply(event);
        match result {
            Ok(changes) => {
                self.log(what.to_owned());
                for c in &changes {
                    self.log(format!("    {c}"));
                }
                self.generation.send_modify(|g| *g += 1);
                true
            }
            Err(e) => {
                self.log(format!("{what}: not applied: {e}"));
                false
            }
        }
    }

    fn routes_out(&self, e: &Endpoint) -> Vec<(IpNet, PathAttrs)> {
        lock(&self.fabric)
            .control()
            .bgpaas_routes_out(&e.bgpaas, e.peer)
    }
}

/// Live BGPaaS sessions around a fabric.
#[derive(Debug)]
pub struct Live {
    shared: Arc<Shared>,
    endpoints: Vec<Endpoint>,
    shutdown: watch::Sender<bool>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Live {
    /// Take the fabric's live sessions down (their scripted routes go with
    /// them), bind every session's socket and start serving.
    pub fn start(mut fabric: Fabric, cfg: &LiveConfig) -> Result<Live, LiveError> {
        if cfg.hold_time == 1 || cfg.hold_time == 2 {
            return Err(LiveError::HoldTime {
                hold_time: cfg.hold_time,
            });
        }
        let endpoints = endpoints(&fabric, cfg)?;
        for e in &endpoints {
            fabric
                .apply(Event::SessionDown {
                    bgpaas: e.bgpaas.clone(),
                    peer: e.peer,
                })
                .map_err(|source| LiveError::Reset {
                    session: e.to_string(),
                    source,
                })?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("vrsim-bgp")
            .enable_all()
            .build()
            .map_err(|source| LiveError::Runtime { source })?;
        let mut listeners = Vec::new();
        for e in &endpoints {
            let l = runtime
                .block_on(TcpListener::bind(e.listen))
                .map_err(|source| LiveError::Bind {
                    addr: e.listen,
                    session: e.to_string(),
                    source,
                })?;
            listeners.push(l);
        }
        let now = Instant::now();
        let status = endpoints
            .iter()
            .map(|e| SessionStatus {
                endpoint: e.clone(),
                state: State::Closed,
                since: now,
                established: 0,
                received: 0,
                sent: 0,
                hold_time: cfg.hold_time,
                last_error: None,
            })
            .collect();
        let (generation, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            fabric: Mutex::new(fabric),
            status: Mutex::new(status),
            log: Mutex::new(Log::default()),
            generation,
            started: now,
        });
        let (shutdown, _) = watch::channel(false);
        for (i, (e, l)) in endpoints.iter().zip(listeners).enumerate() {
            shared.log(format!(
                "{e}: listening on {}, for AS {} from {}",
                e.listen, e.peer_as, e.remote
            ));
            runtime.spawn(listen(
                shared.clone(),
                i,
                e.clone(),
                cfg.hold_time,
                l,
                shutdown.subscribe(),
            ));
        }
        Ok(Live {
            shared,
            endpoints,
            shutdown,
            runtime: Some(runtime),
        })
    }

    /// The sessions served, in port order.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// Run `f` on the fabric under its lock (sessions wait meanwhile).
    pub fn with_fabric<R>(&self, f: impl FnOnce(&mut Fabric) -> R) -> R {
        f(&mut lock(&self.shared.fabric))
    }

    /// A copy of the fabric as it is now.
    pub fn snapshot(&self) -> Fabric {
        lock(&self.shared.fabric).clone()
    }

    /// Every session's status.
    pub fn sessions(&self) -> Vec<SessionStatus> {
        lock(&self.shared.status).clone()
    }

    /// The log lines from the `from`-th on (counting from the first ever
    /// logged; only the last 10,000 are kept).
    pub fn log_since(&self, from: usize) -> Vec<String> {
        self.log_from(from).1
    }

    /// As [`Live::log_since`], with the number of the line after the last
    /// one returned: the `from` of the next call, so that nothing is read
    /// twice even when lines were dropped meanwhile.
    pub fn log_from(&self, from: usize) -> (usize, Vec<String>) {
        let log = lock(&self.shared.log);
        let skip = from.saturating_sub(log.first);
        let lines: Vec<String> = log.lines.iter().skip(skip).cloned().collect();
        (log.first + log.lines.len(), lines)
    }

    /// Poll until `pred` holds for the fabric and the sessions, or `timeout`
    /// passes; whether it held.
    pub fn wait_until(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&mut Fabric, &[SessionStatus]) -> bool,
    ) -> bool {
        let end = Instant::now() + timeout;
        loop {
            let sessions = self.sessions();
            if pred(&mut lock(&self.shared.fabric), &sessions) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `birdc show protocols`-like lines, one per session.
    pub fn describe_sessions(&self) -> String {
        let mut out = format!(
            "{:<12} {:<15} {:<21} {:<12} {:>8} {:>5} {:>5} {:>4}  last error\n",
            "bgpaas", "peer", "listen", "state", "since", "recv", "sent", "ups"
        );
        for s in self.sessions() {
            out.push_str(&format!(
                "{:<12} {:<15} {:<21} {:<12} {:>7.1}s {:>5} {:>5} {:>4}  {}\n",
                s.endpoint.bgpaas,
                s.endpoint.peer,
                s.endpoint.listen.to_string(),
                s.state.name(),
                s.since.elapsed().as_secs_f64(),
                s.received,
                s.sent,
                s.established,
                s.last_error.as_deref().unwrap_or("-"),
            ));
        }
        out
    }

    /// End every session with Cease / Administrative Shutdown and stop
    /// serving (the fabric and the log stay readable). Dropping a `Live`
    /// stops it too.
    pub fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(rt) = self.runtime.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                // Dropped inside another runtime, where blocking is not
                // allowed: the sessions end with their connections.
                rt.shutdown_background();
                return;
            }
            // Give the sessions a moment to send their NOTIFICATIONs.
            let shared = self.shared.clone();
            rt.block_on(async move {
                let end = tokio::time::Instant::now() + Duration::from_secs(2);
                while tokio::time::Instant::now() < end
                    && lock(&shared.status)
                        .iter()
                        .any(|s| s.state != State::Closed)
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            });
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn reject(mut sock: TcpStream) {
    let _ = sock
        .write_all(&Notification::connection_rejected().to_bytes())
        .await;
    let _ = sock.shutdown().await;
}

/// The connection a session is on, as its listener sees it.
#[derive(Debug, Default)]
struct Slot {
    /// A session task is running.
    busy: bool,
    /// Tells the running session to give way to a newer connection.
    kick: Option<watch::Sender<bool>>,
}

/// Ends a session task's hold on its slot, whatever way the task ends: should
/// it panic, the session is still taken down in the model.
struct Release {
    shared: Arc<Shared>,
    i: usize,
    e: Endpoint,
    slot: Arc<Mutex<Slot>>,
}

impl Drop for Release {
    fn drop(&mut self) {
        let still_up = lock(&self.shared.status)
            .get(self.i)
            .is_some_and(|s| s.state != State::Closed);
        if still_up {
            self.shared.apply(
                &format!("{}: down: the session task ended", self.e),
                Event::SessionDown {
                    bgpaas: self.e.bgpaas.clone(),
                    peer: self.e.peer,
                },
            );
            self.shared.set_status(self.i, |st| {
                st.state = State::Closed;
                st.since = Instant::now();
                st.received = 0;
                st.sent = 0;
            });
        }
        let mut slot = lock(&self.slot);
        slot.busy = false;
        slot.kick = None;
    }
}

async fn listen(
    shared: Arc<Shared>,
    i: usize,
    e: Endpoint,
    hold_time: u16,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    let slot = Arc::new(Mutex::new(Slot::default()));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (sock, from) = match accepted {
                    Ok(a) => a,
                    Err(err) => {
                        // Out of descriptors and the like: wait rather than spin.
                        shared.log(format!("{e}: accept failed: {err}"));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if from.ip().to_canonical() != e.remote.to_canonical() {
                    shared.log(format!(
                        "{e}: refused a connection from {from}: the peer is {} (sent Cease / Connection Rejected)",
                        e.remote
                    ));
                    tokio::spawn(reject(sock));
                    continue;
                }
                if !claim(&shared, i, &e, &slot, from).await {
                    tokio::spawn(reject(sock));
                    continue;
                }
                let config = session::Config {
                    local_as: e.local_as,
                    router_id: e.router_id,
                    peer_as: e.peer_as,
                    hold_time,
                };
                let (kick_tx, kick) = watch::channel(false);
                lock(&slot).kick = Some(kick_tx);
                let release = Release {
                    shared: shared.clone(),
                    i,
                    e: e.clone(),
                    slot: slot.clone(),
                };
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    let r = &release;
                    run(&r.shared, r.i, &r.e, config, sock, shutdown, kick).await;
                    drop(release);
                });
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Take the session's slot for a new connection from `from`. A session that is
/// not Established gives way (Cease / Connection Collision Resolution, as
/// when the VM restarted and its old connection is half dead); an Established
/// one keeps it, and the newcomer is refused.
async fn claim(
    shared: &Shared,
    i: usize,
    e: &Endpoint,
    slot: &Mutex<Slot>,
    from: SocketAddr,
) -> bool {
    let established = lock(&shared.status)
        .get(i)
        .is_some_and(|s| s.state == State::Established);
    {
        let mut s = lock(slot);
        if !s.busy {
            s.busy = true;
            return true;
        }
        if established {
            drop(s);
            shared.log(format!(
                "{e}: refused a second connection from {from} while Established (sent Cease / Connection Rejected)"
            ));
            return false;
        }
        if let Some(k) = &s.kick {
            let _ = k.send(true);
        }
    }
    shared.log(format!(
        "{e}: a new connection from {from} replaces one not yet Established"
    ));
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut s = lock(slot);
        if !s.busy {
            s.busy = true;
            return true;
        }
        drop(s);
        // The old session made it to Established meanwhile: it keeps the slot
        // (it ignores the kick then).
        let up = lock(&shared.status)
            .get(i)
            .is_some_and(|st| st.state == State::Established);
        if up {
            return false;
        }
    }
    false
}

/// Carry out a session's outputs; `false` once it is down.
async fn perform(
    shared: &Shared,
    i: usize,
    e: &Endpoint,
    s: &mut Session,
    sock: &mut TcpStream,
    outputs: Vec<Output>,
) -> bool {
    let mut queue = std::collections::VecDeque::from(outputs);
    while let Some(o) = queue.pop_front() {
        match o {
            Output::Send(bytes) => {
                // A peer that stops reading must not hold the session (and
                // its routes) forever: give it the hold time (at least 3 s).
                let limit = Duration::from_secs(u64::from(s.hold_time().max(3)));
                // A failed or stalled send ends the session at once: nothing
                // queued after it is sent (the stream may hold half a message)
                // or applied.
                match tokio::time::timeout(limit, sock.write_all(&bytes)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => {
                        queue.clear();
                        queue.extend(s.connection_closed());
                    }
                    Err(_) => {
                        queue.clear();
                        queue.extend(s.send_timeout());
                    }
                }
            }
            Output::Established(open) => queue.extend(established(shared, i, e, s, &open)),
            Output::Update(u) => received(shared, i, e, u),
            Output::Down(why) => {
                went_down(shared, i, e, &why);
                return false;
            }
        }
    }
    let state = s.state();
    shared.set_status(i, |st| {
        if st.state != state {
            st.state = state;
            st.since = Instant::now();
        }
    });
    true
}

/// The session reached Established with `open`'s speaker: tell the model,
/// and return the UPDATEs that advertise the routes the VM should learn.
fn established(
    shared: &Shared,
    i: usize,
    e: &Endpoint,
    s: &mut Session,
    open: &Open,
) -> Vec<Output> {
    let hold = s.hold_time();
    shared.set_status(i, |st| {
        st.state = State::Established;
        st.since = Instant::now();
        st.established += 1;
        st.hold_time = hold;
        st.last_error = None;
    });
    let up = Event::SessionUp {
        bgpaas: e.bgpaas.clone(),
        peer: e.peer,
    };
    shared.apply(
        &format!(
            "{e}: Established with AS {} ({}), hold time {hold} s",
            open.asn, open.router_id
        ),
        up,
    );
    let routes = shared.routes_out(e);
    let out = s.advertise(&routes);
    let n = s.sent().len();
    shared.set_status(i, |st| st.sent = n);
    out
}

/// The peer sent an UPDATE: its withdrawals (of routes it had announced)
/// and announcements, IPv4 and IPv6 unicast, go to the model. A next hop
/// that is the peer's own connection address (for an IPv6 route, that
/// address mapped into IPv6, as a speaker on an IPv4 session without an
/// IPv6 address of its own sends it) is read as the VM's address of the
/// route's family: the speaker runs where the harness runs, not on the VM.
fn received(shared: &Shared, i: usize, e: &Endpoint, u: Update) {
    for prefix in u.withdrawn {
        let known = lock(&shared.fabric)
            .control()
            .sessions()
            .any(|((b, p), sess)| {
                *b == e.bgpaas && *p == e.peer && sess.routes.contains_key(&prefix)
            });
        // Withdrawing what was never announced is allowed in BGP
        // and changes nothing.
        if known {
            shared.apply(
                &format!("{e}: withdraw {prefix}"),
                Event::Withdraw {
                    bgpaas: e.bgpaas.clone(),
                    peer: e.peer,
                    prefix,
                },
            );
        }
    }
    for (prefix, mut attrs) in u.announced {
        attrs.next_hop = vm_next_hop(e, attrs.next_hop);
        shared.apply(
            &format!(
                "{e}: advertise {prefix} next hop {} AS path {}",
                attrs.next_hop,
                attrs.as_path_text()
            ),
            Event::Advertise {
                bgpaas: e.bgpaas.clone(),
                peer: e.peer,
                prefix,
                attrs,
            },
        );
    }
    let received = lock(&shared.fabric)
        .control()
        .sessions()
        .find(|((b, p), _)| *b == e.bgpaas && *p == e.peer)
        .map_or(0, |(_, sess)| sess.routes.len());
    shared.set_status(i, |st| st.received = received);
}

/// The VM's address for a next hop naming the peer's connection address
/// (or its IPv4-mapped form); any other next hop as it is.
fn vm_next_hop(e: &Endpoint, next_hop: IpAddr) -> IpAddr {
    let remote = e.remote.to_canonical();
    match next_hop {
        IpAddr::V4(_) if next_hop == remote => e.vm_ip.into(),
        IpAddr::V6(a)
            if IpAddr::V6(a) == remote || a.to_ipv4_mapped().map(IpAddr::V4) == Some(remote) =>
        {
            e.vm_ip6.unwrap_or_else(|| e.vm_ip.to_ipv6_mapped()).into()
        }
        other => other,
    }
}

/// The session went down: its routes leave the model.
fn went_down(shared: &Shared, i: usize, e: &Endpoint, why: &Down) {
    let text = why.to_string();
    shared.apply(
        &format!("{e}: down: {text}"),
        Event::SessionDown {
            bgpaas: e.bgpaas.clone(),
            peer: e.peer,
        },
    );
    shared.set_status(i, |st| {
        st.state = State::Closed;
        st.since = Instant::now();
        st.received = 0;
        st.sent = 0;
        st.last_error = Some(text);
    });
}

async fn run(
    shared: &Shared,
    i: usize,
    e: &Endpoint,
    config: session::Config,
    mut sock: TcpStream,
    mut shutdown: watch::Receiver<bool>,
    mut kick: watch::Receiver<bool>,
) {
    let _ = sock.set_nodelay(true);
    let start = tokio::time::Instant::now();
    let now = move || start.elapsed();
    let mut generation = shared.generation.subscribe();
    let (mut s, out) = Session::accept(config, now());
    shared.log(format!(
        "{e}: connection from {}",
        sock.peer_addr().map_or("?".into(), |a| a.to_string())
    ));
    if !perform(shared, i, e, &mut s, &mut sock, out).await {
        let _ = sock.shutdown().await;
        return;
    }
    let mut buf = vec![0u8; 8192];
    loop {
        let deadline = s.deadline().map(|d| start + d);
        let out = tokio::select! {
            read = sock.read(&mut buf) => match read {
                Ok(0) | Err(_) => s.connection_closed(),
                Ok(n) => s.receive(&buf[..n], now()),
            },
            _ = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => s.tick(now()),
            _ = generation.changed() => {
                let routes = shared.routes_out(e);
                let out = s.advertise(&routes);
                let n = s.sent().len();
                shared.set_status(i, |st| st.sent = n);
                out
            }
            _ = shutdown.changed() => s.shutdown(),
            _ = kick.changed() => s.collision(),
        };
        if !perform(shared, i, e, &mut s, &mut sock, out).await {
            let _ = sock.shutdown().await;
            return;
        }
    }
}

#[cfg(test)]
mod next_hop_tests {
    use super::*;

    fn endpoint(remote: IpAddr, vm_ip6: Option<Ipv6Addr>) -> Endpoint {
        Endpoint {
            bgpaas: "dockerhost".into(),
            peer: Ipv4Addr::new(172, 16, 10, 1),
            vm_ip: Ipv4Addr::new(172, 16, 10, 3),
            vm_ip6,
            peer_as: 65000,
            local_as: 64512,
            router_id: Ipv4Addr::new(10, 0, 0, 10),
            listen: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 1790),
            remote,
        }
    }

    #[test]
    fn the_peers_own_address_reads_as_the_vms_of_the_routes_family() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("address");
        let vm6 = Some("fd00:172:16:10::3".parse().expect("address"));
        let e = endpoint(ip("127.0.0.2"), vm6);
        assert_eq!(vm_next_hop(&e, ip("127.0.0.2")), ip("172.16.10.3"));
        assert_eq!(
            vm_next_hop(&e, ip("::ffff:127.0.0.2")),
            ip("fd00:172:16:10::3")
        );
        // Other next hops are kept as they are.
        assert_eq!(vm_next_hop(&e, ip("172.16.10.9")), ip("172.16.10.9"));
        assert_eq!(
            vm_next_hop(&e, ip("fd00:172:16:10::9")),
            ip("fd00:172:16:10::9")
        );
        // A VM without an IPv6 address: its IPv4 address, mapped.
        let e = endpoint(ip("127.0.0.2"), None);
        assert_eq!(
            vm_next_hop(&e, ip("::ffff:127.0.0.2")),
            ip("::ffff:172.16.10.3")
        );
        // A peer connecting over IPv6.
        let e = endpoint(ip("::1"), vm6);
        assert_eq!(vm_next_hop(&e, ip("::1")), ip("fd00:172:16:10::3"));
    }
}
