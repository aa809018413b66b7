//! Live BGPaaS sessions with a real BIRD 2 (Calico's BGP daemon).
//!
//! Each test starts its own `bird` processes, unprivileged on loopback, with
//! their own configuration, control socket and addresses (127.0.x.y: the
//! whole 127/8 is local on Linux) and its own ports, and stops them when it
//! ends, pass or fail. BIRD must be installed (Debian package `bird2`;
//! `scripts/test.sh` installs it): without it these tests fail, they do not
//! skip.
//!
//! - Scenario A: BIRD is the Docker VM (AS 65000) exporting the container
//!   block 192.168.100.0/26; vrsim is the Contrail side (AS 64512). With an
//!   `ipv6` channel on the same IPv4 session (MP-BGP, RFC 4760) it exports
//!   the IPv6 block fd80:24e2:f998:72d6::/122 too.
//! - Scenario B: two BIRD instances are the route reflectors RTR01 and RTR02
//!   (iBGP, AS 64512) passing on the Calico nodes' blocks with the nodes as
//!   next hops. The Calico nodes themselves are not run: each reflector
//!   originates the two blocks with the attributes a reflected route has.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ipnet::Ipv4Net;
use vrsim::dataplane::drop::DropReason;
use vrsim::dataplane::{NhId, VrfId};
use vrsim::fabric::Fabric;
use vrsim::fabric::packet::Probe;
use vrsim::fabric::trace::{FabricTrace, Outcome};
use vrsim_bgp::live::{Live, LiveConfig, SessionStatus};
use vrsim_bgp::session::State;

const WAIT: Duration = Duration::from_secs(30);

/// A BIRD daemon of a test's own.
struct Bird {
    name: String,
    dir: PathBuf,
    child: Child,
}

impl Bird {
    fn start(name: &str, config: &str) -> Bird {
        let dir = std::env::temp_dir().join(format!("vrsim-bird-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let conf = dir.join("bird.conf");
        let config = config.replace("@LOG@", &dir.join("bird.log").display().to_string());
        std::fs::write(&conf, config).expect("write bird.conf");
        let bird = ["/usr/sbin/bird", "/usr/bin/bird", "bird"]
            .into_iter()
            .find(|b| !b.starts_with('/') || std::path::Path::new(b).exists())
            .unwrap_or("bird");
        let child = Command::new(bird)
            .arg("-f")
            .arg("-c")
            .arg(&conf)
            .arg("-s")
            .arg(dir.join("bird.ctl"))
            .arg("-P")
            .arg(dir.join("bird.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start BIRD ({bird}: {e}): install the Debian package bird2 \
                     (scripts/test.sh does)"
                )
            });
        let b = Bird {
            name: name.to_owned(),
            dir,
            child,
        };
        for _ in 0..100 {
            if b.birdc("show status").contains("Daemon is up") {
                return b;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("BIRD {name} did not come up:\n{}", b.log());
    }

    fn birdc(&self, cmd: &str) -> String {
        let birdc = ["/usr/sbin/birdc", "/usr/bin/birdc"]
            .into_iter()
            .find(|b| std::path::Path::new(b).exists())
            .unwrap_or("birdc");
        let out = Command::new(birdc)
            .arg("-s")
            .arg(self.dir.join("bird.ctl"))
            .args(cmd.split_whitespace())
            .output()
            .unwrap_or_else(|e| panic!("birdc {cmd}: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("bird.log")).unwrap_or_default()
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- BIRD {} log ---\n{}", self.name, self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The session to vrsim: from `local` (AS `asn`) to 127.0.0.1:`port`, with
/// `export` as the channel's export clause. BIRD's own listening socket is
/// bound to `local` and a port of the test's (not 179), so that several
/// daemons run side by side and none needs privileges.
fn contrail_session(local: Ipv4Addr, port: u16, asn: u32, export: &str) -> String {
    contrail_session_with(local, port, asn, export, "")
}

/// [`contrail_session`] with more channels (`ipv6 { … };`).
fn contrail_session_with(local: Ipv4Addr, port: u16, asn: u32, export: &str, more: &str) -> String {
    let listen = port + 50;
    format!(
        r#"protocol bgp contrail {{
  local {local} port {listen} as {asn};
  strict bind yes;
  neighbor 127.0.0.1 port {port} as 64512;
  multihop;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 {{ import all; export {export}; }};
  {more}
}}
"#
    )
}

/// BIRD as scenario A's Docker VM: AS `asn`, the container block exported,
/// connecting from `local` to vrsim on `port`.
fn docker_vm(local: Ipv4Addr, port: u16, asn: u32) -> String {
    let session = contrail_session(local, port, asn, r#"where proto = "calico"; next hop self"#);
    format!(
        r#"router id 172.16.10.3;
log "@LOG@" all;
protocol device {{ }}
protocol static calico {{
  ipv4;
  route 192.168.100.0/26 blackhole;
}}
{session}"#
    )
}

/// BIRD as scenario A's dual-stack Docker VM: the IPv4 and the IPv6
/// container blocks, on one IPv4 session with an `ipv6` channel. An IPv6
/// route on an IPv4 session needs its next hop given (BIRD: "Missing next
/// hop address" otherwise): the VM's own IPv6 address, as the Docker VM's
/// BIRD would be configured.
fn docker_vm_dual_stack(local: Ipv4Addr, port: u16) -> String {
    let v6 = r#"ipv6 { import all; export where proto = "calico6"; next hop address fd00:172:16:10::3; };"#;
    let export = r#"where proto = "calico"; next hop self"#;
    let session = contrail_session_with(local, port, 65000, export, v6);
    format!(
        r#"router id 172.16.10.3;
log "@LOG@" all;
protocol device {{ }}
protocol static calico {{
  ipv4;
  route 192.168.100.0/26 blackhole;
}}
protocol static calico6 {{
  ipv6;
  route fd80:24e2:f998:72d6::/122 blackhole;
}}
{session}"#
    )
}

/// BIRD as one of scenario B's route reflectors (iBGP, AS 64512).
fn reflector(router_id: Ipv4Addr, local: Ipv4Addr, port: u16) -> String {
    let session = contrail_session(local, port, 64512, "filter to_contrail");
    format!(
        r#"router id {router_id};
log "@LOG@" all;
protocol device {{ }}
protocol static calico_nodes {{
  ipv4;
  route 10.233.64.0/26 blackhole;
  route 10.233.65.0/26 blackhole;
}}
filter to_contrail {{
  if proto != "calico_nodes" then reject;
  if net = 10.233.64.0/26 then bgp_next_hop = 172.16.20.22;
  if net = 10.233.65.0/26 then bgp_next_hop = 172.16.20.21;
  accept;
}}
{session}"#
    )
}

fn load(name: &str) -> Fabric {
    vrsim::scenarios::load(name).expect("built-in scenario")
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("address")
}

fn net(s: &str) -> Ipv4Net {
    s.parse().expect("prefix")
}

fn live(scenario: &str, port: u16, remotes: &[(&str, Ipv4Addr)]) -> Live {
    let mut cfg = LiveConfig::new(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    for (name, addr) in remotes {
        cfg.remotes.insert((*name).to_owned(), IpAddr::V4(*addr));
    }
    Live::start(load(scenario), &cfg).expect("live sessions start")
}

fn state_of(sessions: &[SessionStatus], bgpaas: &str) -> State {
    sessions
        .iter()
        .find(|s| s.endpoint.bgpaas == bgpaas)
        .map_or(State::Closed, |s| s.state)
}

fn route_nh(f: &Fabric, node: &str, vrf: u16, prefix: Ipv4Net) -> Option<NhId> {
    f.control()
        .vrouter(node)?
        .vrf(VrfId::from(vrf))?
        .inet4
        .get(&prefix)
        .map(|r| r.nh)
}

fn route6_nh(f: &Fabric, node: &str, vrf: u16, prefix: &str) -> Option<NhId> {
    let prefix: ipnet::Ipv6Net = prefix.parse().expect("prefix");
    f.control()
        .vrouter(node)?
        .vrf(VrfId::from(vrf))?
        .inet6
        .get(&prefix)
        .map(|r| r.nh)
}

fn assert_rpf_drop(t: &FabricTrace, device: &str) {
    match &t.outcome {
        Outcome::Dropped { device: d, cause } => assert_eq!(
            (d.as_str(), cause.vrouter()),
            (device, Some(DropReason::InvalidSource)),
            "{t}"
        ),
        other => panic!("not an RPF drop: {other}\n{t}"),
    }
}

fn wait(live: &Live, what: &str, pred: impl FnMut(&mut Fabric, &[SessionStatus]) -> bool) {
    assert!(
        live.wait_until(WAIT, pred),
        "timed out waiting for {what}\nsessions:\n{}\nlog:\n{}",
        live.describe_sessions(),
        live.log_since(0).join("\n")
    );
}

const BLOCK: &str = "192.168.100.0/26";

fn container_reachable(f: &mut Fabric) -> bool {
    let t = f
        .probe("earth", ip("192.168.100.1").into(), Probe::Icmp)
        .expect("probe");
    t.forward.delivered() && t.reply.as_ref().is_some_and(FabricTrace::delivered)
}

#[test]
fn a_bird_vm_feeds_the_container_block_and_disable_withdraws_it() {
    let vm_addr = ip("127.0.10.3");
    let live = live("seed-bgpaas", 17_910, &[("dockerhost", vm_addr)]);
    // Live sessions start down: the scripted /26 is gone until BIRD sends it.
    assert_eq!(
        live.with_fabric(|f| route_nh(f, "compute01", 1, net(BLOCK))),
        None
    );
    let bird = Bird::start("a-vm", &docker_vm(vm_addr, 17_910, 65000));

    wait(&live, "the /26 on nh 90", |f, s| {
        state_of(s, "dockerhost") == State::Established
            && route_nh(f, "compute01", 1, net(BLOCK)) == NhId::new(90)
    });
    live.with_fabric(|f| {
        assert!(container_reachable(f));
        // The seed trace, hop by hop, is the scripted scenario's: both
        // fabrics have seen one ping, so this one hits the flows it made.
        let mut scripted = load("seed-bgpaas");
        assert!(container_reachable(&mut scripted));
        let scripted = scripted
            .probe("earth", ip("192.168.100.1").into(), Probe::Icmp)
            .expect("probe");
        let t = f
            .probe("earth", ip("192.168.100.1").into(), Probe::Icmp)
            .expect("probe");
        assert_eq!(t.forward.minimal(), scripted.forward.minimal());
    });
    // What Contrail advertises back: the VM's /32 with NEXT_HOP rewritten to
    // the gateway address and AS 64512 prepended.
    let routes = bird.birdc("show route all protocol contrail");
    assert!(routes.contains("172.16.10.3/32"), "{routes}");
    assert!(routes.contains("BGP.next_hop: 172.16.10.1"), "{routes}");
    assert!(routes.contains("BGP.as_path: 64512"), "{routes}");

    bird.birdc("disable contrail");
    wait(&live, "the session down and the /26 withdrawn", |f, s| {
        state_of(s, "dockerhost") == State::Closed
            && route_nh(f, "compute01", 1, net(BLOCK)).is_none()
    });
    live.with_fabric(|f| {
        let reply = f
            .probe("centos-ssh", ip("203.0.113.10").into(), Probe::Icmp)
            .expect("probe");
        assert_rpf_drop(&reply.forward, "compute01");
    });
    let why = live.sessions()[0].last_error.clone().unwrap_or_default();
    assert!(
        why.contains("Cease (6) / Administrative Shutdown (2)"),
        "{why}"
    );

    bird.birdc("enable contrail");
    wait(&live, "delivery restored", |f, s| {
        state_of(s, "dockerhost") == State::Established && container_reachable(f)
    });
}

const BLOCK6: &str = "fd80:24e2:f998:72d6::/122";

fn container_reachable_v6(f: &mut Fabric) -> bool {
    let to: IpAddr = "fd80:24e2:f998:72d6::1".parse().expect("address");
    let t = f.probe("earth", to, Probe::Icmp).expect("probe");
    t.forward.delivered() && t.reply.as_ref().is_some_and(FabricTrace::delivered)
}

#[test]
fn a_bird_vm_with_an_ipv6_channel_feeds_the_ipv6_block() {
    let vm_addr = ip("127.0.12.3");
    let live = live("seed-bgpaas", 17_930, &[("dockerhost", vm_addr)]);
    let bird = Bird::start("a-v6", &docker_vm_dual_stack(vm_addr, 17_930));
    wait(&live, "the /26 and the /122 on nh 90", |f, s| {
        state_of(s, "dockerhost") == State::Established
            && route_nh(f, "compute01", 1, net(BLOCK)) == NhId::new(90)
            && route6_nh(f, "compute01", 1, BLOCK6) == NhId::new(90)
    });
    live.with_fabric(|f| {
        assert!(container_reachable_v6(f));
        assert!(container_reachable(f));
        // The gateway learned the /122 from the control node.
        let shown = f
            .gateway("gw-01")
            .and_then(|g| g.show_route(BLOCK6.parse().expect("prefix")))
            .unwrap_or_default();
        assert!(shown.contains("AS path: 65000 I"), "{shown}");
    });
    // What Contrail advertises back on the ipv6 channel: the VM's /128 with
    // NEXT_HOP the network's IPv6 gateway address.
    let mut routes = String::new();
    for _ in 0..100 {
        routes = bird.birdc("show route all protocol contrail");
        if routes.contains("fd00:172:16:10::3/128") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(routes.contains("fd00:172:16:10::3/128"), "{routes}");
    assert!(
        routes.contains("BGP.next_hop: fd00:172:16:10::1"),
        "{routes}"
    );

    bird.birdc("disable contrail");
    wait(&live, "the /122 withdrawn", |f, _| {
        route6_nh(f, "compute01", 1, BLOCK6).is_none()
    });
    live.with_fabric(|f| {
        let earth: IpAddr = "2001:db8:113::10".parse().expect("address");
        let reply = f.probe("centos-ssh", earth, Probe::Icmp).expect("probe");
        assert_rpf_drop(&reply.forward, "compute01");
    });
}

#[test]
fn a_wrong_peer_as_is_refused_with_bad_peer_as() {
    let vm_addr = ip("127.0.11.3");
    let live = live("seed-bgpaas", 17_920, &[("dockerhost", vm_addr)]);
    let bird = Bird::start("a-bad-as", &docker_vm(vm_addr, 17_920, 65001));
    wait(&live, "the OPEN refused", |_, s| {
        s[0].last_error.as_deref().is_some_and(|e| {
            e.contains("sent NOTIFICATION OPEN Message Error (2) / Bad Peer AS (2)")
        })
    });
    // BIRD got the NOTIFICATION and says so.
    let mut shown = String::new();
    for _ in 0..100 {
        shown = bird.birdc("show protocols all contrail");
        if shown.contains("Bad peer AS") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(shown.contains("Received: Bad peer AS"), "{shown}");
    live.with_fabric(|f| assert_eq!(route_nh(f, "compute01", 1, net(BLOCK)), None));
    assert!(live.sessions().iter().all(|s| s.established == 0));
}

/// Every compute node's vRouter tables and the gateways' routes, as text.
fn programmed_state(f: &Fabric) -> String {
    use vrsim::dataplane::dump::{self, Layout};
    let mut out = String::new();
    for c in &f.control().config().computes {
        let r = f.control().vrouter(&c.name).expect("compute node");
        out.push_str(&dump::nh_list(r));
        out.push_str(&dump::mpls_dump(r));
        for v in (0..64).map(VrfId::from).filter(|&v| r.vrf(v).is_some()) {
            out.push_str(&dump::rt_dump(r, v, Layout::Current).unwrap_or_default());
        }
        out.push_str(&format!("{:?}", f.control().node_state(&c.name)));
    }
    for g in &f.control().config().gateways {
        out.push_str(&format!("{:?}", f.control().gateway_routes(&g.name)));
    }
    out
}

#[test]
fn a_flapping_session_leaves_the_state_of_a_fresh_start() {
    let vm_addr = ip("127.0.12.3");
    let live = live("seed-bgpaas", 17_930, &[("dockerhost", vm_addr)]);
    let bird = Bird::start("a-flap", &docker_vm(vm_addr, 17_930, 65000));
    let up = |f: &mut Fabric, s: &[SessionStatus]| {
        state_of(s, "dockerhost") == State::Established
            && route_nh(f, "compute01", 1, net(BLOCK)).is_some()
    };
    wait(&live, "the first Established", up);
    let fresh = live.with_fabric(|f| programmed_state(f));
    for cycle in 1..=20 {
        bird.birdc("disable contrail");
        wait(&live, &format!("down, cycle {cycle}"), |f, s| {
            state_of(s, "dockerhost") == State::Closed
                && route_nh(f, "compute01", 1, net(BLOCK)).is_none()
        });
        bird.birdc("enable contrail");
        wait(&live, &format!("up, cycle {cycle}"), up);
    }
    assert_eq!(live.sessions()[0].established, 21);
    assert_eq!(live.with_fabric(|f| programmed_state(f)), fresh);
    live.with_fabric(|f| assert!(container_reachable(f)));
}

#[test]
fn b_two_bird_reflectors_feed_k8s_rr() {
    let (rr1, rr2) = (ip("127.0.20.1"), ip("127.0.20.2"));
    let live = live("k8s-rr", 17_940, &[("rtr01", rr1), ("rtr02", rr2)]);
    let pod_b = ip("10.233.64.5");
    let pod_to_pod = |f: &mut Fabric| {
        let t = f.probe("pod-a", pod_b.into(), Probe::Icmp).expect("probe");
        t.forward.delivered() && t.reply.as_ref().is_some_and(FabricTrace::delivered)
    };
    live.with_fabric(|f| assert!(!pod_to_pod(f)));
    let b1 = Bird::start("b-rtr01", &reflector(ip("172.16.20.11"), rr1, 17_940));
    let b2 = Bird::start("b-rtr02", &reflector(ip("172.16.20.12"), rr2, 17_941));
    wait(
        &live,
        "both reflectors up and pod-a reaching pod-b",
        |f, s| {
            s.iter()
                .all(|s| s.state == State::Established && s.received == 2)
                && pod_to_pod(f)
        },
    );
    // The scripted scenario's trace, hop by hop, once both have seen a ping
    // (so both hit the flows it made).
    let mut scripted = load("k8s-rr");
    assert!(pod_to_pod(&mut scripted));
    let scripted = scripted
        .probe("pod-a", pod_b.into(), Probe::Icmp)
        .expect("probe");
    live.with_fabric(|f| {
        let t = f.probe("pod-a", pod_b.into(), Probe::Icmp).expect("probe");
        assert_eq!(t.forward.minimal(), scripted.forward.minimal());
    });

    b1.birdc("disable contrail");
    wait(&live, "rtr01 down, still delivered", |f, s| {
        state_of(s, "rtr01") == State::Closed && pod_to_pod(f)
    });
    b2.birdc("disable contrail");
    wait(&live, "both down", |_, s| {
        s.iter().all(|s| s.state == State::Closed)
    });
    live.with_fabric(|f| {
        let reply = f
            .probe("pod-b", ip("203.0.113.10").into(), Probe::Icmp)
            .expect("probe");
        assert_rpf_drop(&reply.forward, "compute03");
    });
}
