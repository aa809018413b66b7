"""A whole fabric from Python: the seed trace, what-ifs, diff, JSON, pcap."""

import ipaddress

import vrsim


def test_the_seed_trace_both_ways():
    fabric = vrsim.Fabric.load("seed-bgpaas")
    trip = fabric.probe("earth", "192.168.100.1")
    assert trip.delivered and trip.reply_delivered
    assert trip.path == ["earth", "gw-01", "fabric", "compute01", "dockerhost", "centos-ssh"]
    assert "push MPLSoGRE label 35 10.0.0.1 > 10.0.0.21" in trip.text
    doc = trip.document()
    assert doc["schema"] == vrsim.SCHEMA == "vrsim-trace/1"
    assert doc["forward"]["outcome"]["device"] == "centos-ssh"
    assert doc["reply"]["outcome"]["ip"] == "203.0.113.10"
    kinds = {s["step"] for h in doc["forward"]["hops"] for s in h["steps"]}
    assert {"lookup", "arp", "push", "pop", "flow", "agent"} <= kinds | {"pop"}


def test_the_seed_trace_over_ipv6():
    fabric = vrsim.Fabric.load("seed-bgpaas")
    trip = fabric.probe("earth", ipaddress.ip_address("fd80:24e2:f998:72d6::1"))
    assert trip.delivered and trip.reply_delivered, trip.text
    assert trip.document()["probe"]["protocol"] == "icmpv6"


def test_bgpaas_down_drops_the_reply_and_diff_says_why():
    before = vrsim.Fabric.load("seed-bgpaas")
    after = before.copy()
    changes = after.bgpaas_down("dockerhost")
    assert "compute01: delete route 192.168.100.0/26 in vrf 1" in changes
    reply = after.probe("centos-ssh", "203.0.113.10")
    assert not reply.delivered
    assert reply.outcome.startswith("dropped by compute01: Invalid Source")
    flows = [("earth", "192.168.100.1"), "centos-ssh 203.0.113.10 tcp 22", ("earth", "172.16.10.3")]
    changed = before.diff(after, flows)
    assert [(c["src"], c["direction"]) for c in changed] == [("earth", "forward"), ("centos-ssh", "forward")]
    assert "route lookup inet.0 192.168.100.1" in changed[0]["why"]
    # Every flow between the hosts, as `vrsim diff --all`.
    every = before.diff(after)
    assert len({(c["src"], c["dst"]) for c in every}) == 4
    assert ("earth", "192.168.100.1") in {(c["src"], c["dst"]) for c in every}
    # The original fabric is untouched.
    assert before.probe("earth", "192.168.100.1").delivered


def test_withdraw_rpf_and_policy_what_ifs():
    f = vrsim.Fabric.load("k8s-rr")
    f.withdraw("rtr01", "10.233.64.0/26")
    assert f.probe("pod-a", "10.233.64.5").delivered
    f.withdraw("rtr02", ipaddress.ip_network("10.233.64.0/26"))
    assert not f.probe("pod-b", "203.0.113.10").delivered
    f.set_rpf("k8s", False)
    assert f.probe("pod-b", "203.0.113.10").delivered
    g = vrsim.Fabric.load("seed-bgpaas")
    g.add_policy_rule("public", "deny icmp any <> 203.0.113.10")
    assert not g.probe("earth", "192.168.100.1").delivered
    assert g.show_route("192.168.100.0/26").startswith("contrail-public.inet.0")
    assert "Vrf:1" in g.dump("compute01", "vif --get 37")


def test_pcap_of_a_round_trip(tmp_path):
    trip = vrsim.Fabric.load("seed-bgpaas").probe("earth", "192.168.100.1", "udp", 53)
    path = tmp_path / "trip.pcapng"
    trip.write_pcap(path)
    from scapy.all import rdpcap

    frames = rdpcap(str(path))
    assert len(frames) == 10
    assert frames[1].haslayer("GRE")


def test_a_conformance_case_through_check(conformance_dir):
    results = vrsim.check(conformance_dir / "mplsoudp_route.toml")
    assert [r.name for r in results] == ["mplsoudp_route"]
    assert all(results), results
    everything = vrsim.check(conformance_dir)
    assert len(everything) >= 39 and all(r.passed for r in everything)


def test_what_if_is_a_context_manager_and_paths_load(tmp_path):
    fabric = vrsim.Fabric.load("seed-bgpaas")
    with fabric.what_if() as after:
        after.bgpaas_down("dockerhost")
        changed = fabric.diff(after, (("centos-ssh", "203.0.113.10"),))
        assert changed and changed[0]["after"].startswith("dropped by compute01")
    assert fabric.probe("centos-ssh", "203.0.113.10").delivered
    import copy
    import pathlib

    assert copy.deepcopy(fabric).name == "seed-bgpaas"
    scenario = pathlib.Path(__file__).resolve().parents[3] / "scenarios" / "k8s-rr.toml"
    assert vrsim.Fabric.load(scenario).name == "k8s-rr"
