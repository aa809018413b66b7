"""One vRouter programmed from Python, scapy packets in and out."""

import pytest
from scapy.all import ICMP, IP, UDP, Ether

import vrsim
from conftest import FABRIC_MAC, MPLS, VM_MAC, VROUTER_MAC


def mplsoudp(label, inner):
    return (Ether(dst=FABRIC_MAC, src="00:1b:21:bb:f9:46") / IP(src="8.0.0.3", dst="8.0.0.2")
            / UDP(sport=53363, dport=6635) / MPLS(label=label, s=1, ttl=64) / inner)


def test_mplsoudp_from_the_fabric_reaches_the_tap(compute):
    inner = Ether(dst=VM_MAC, src="02:e7:03:ea:67:f1") / IP(src="1.1.1.5", dst="1.1.1.3") / ICMP(type=0)
    result = compute.process(0, bytes(mplsoudp(42, inner)))
    assert result.disposition == "transmit", result.trace
    assert result.vif == 5
    out = Ether(result.frame)
    # The inner frame leaves the tap as it came (a bridge Encap nexthop).
    assert out[Ether].dst == VM_MAC
    assert out[IP].src == "1.1.1.5" and out[ICMP].type == 0
    assert bytes(out) == bytes(inner)
    assert "mpls label 42 -> nh 44" in result.trace
    kinds = [s["step"] for s in result.steps]
    assert "label" in kinds and kinds[-1] == "tx"
    assert compute.vifs()[0]["rx_packets"] == 1


def test_a_routed_packet_leaves_in_mplsoudp_with_its_label(compute):
    # The vRouter's MAC leads to an L2 Receive nexthop: frames to it are routed.
    compute.add_nh(id=13, type="l2-receive", vrf=5)
    compute.add_bridge(vrf=5, mac=VROUTER_MAC, nh=13)
    ping = Ether(dst=VROUTER_MAC, src=VM_MAC) / IP(src="1.1.1.3", dst="1.1.1.5", ttl=64) / ICMP()
    result = compute.process(5, bytes(ping))
    assert result.transmitted and result.vif == 0, result.trace
    out = Ether(result.frame)
    assert (out[IP].src, out[IP].dst) == ("8.0.0.2", "8.0.0.3")
    assert out[UDP].dport == 6635
    assert out[MPLS].label == 23 and out[MPLS].s == 1
    inner = out[MPLS].payload
    assert isinstance(inner, IP) and inner.ttl == 63 and inner.dst == "1.1.1.5"
    # The dumps agree, as text and as dicts.
    assert "1.1.1.5/32" in compute.dump("rt --dump 5")
    routes = {r["prefix"]: r for r in compute.routes(5)}
    assert routes["1.1.1.5/32"]["nh"] == 21 and routes["1.1.1.5/32"]["label"] == 23
    assert compute.labels() == {42: 44}
    assert {n["id"]: n["type"] for n in compute.nexthops()}[21] == "Tunnel"


def test_unknown_label_is_dropped_and_counted(compute):
    inner = Ether(dst=VM_MAC) / IP(dst="1.1.1.3") / ICMP()
    result = compute.process(0, bytes(mplsoudp(99, inner)))
    assert (result.disposition, result.drop_reason) == ("drop", "Invalid Label")
    assert result.frame == b""
    assert compute.dropstats() == {"Invalid Label": 1}
    assert "Invalid Label" in compute.dump("dropstats")


def test_flows_held_answered_by_the_agent_and_listed():
    r = vrsim.VRouter()
    r.add_vif(id=0, type="physical", name="eth1", mac=FABRIC_MAC, flags=["Vp"])
    r.add_vif(id=5, type="virtual", name="tap5", mac=VROUTER_MAC, ip="1.1.1.3",
              vrf=5, nh=38, flags=["P"])
    r.add_nh(id=38, type="encap", family="inet", vrf=5, oif=5,
             encap="02c2234cd055 00005e000100 0800", flags=["Policy"])
    r.add_nh(id=13, type="l2-receive", vrf=5)
    r.add_bridge(vrf=5, mac=VROUTER_MAC, nh=13)
    r.add_route(vrf=5, prefix="1.1.1.3/32", nh=38)
    r.add_route(vrf=5, prefix="1.1.1.4/32", nh=38)
    ping = bytes(Ether(dst=VROUTER_MAC, src=VM_MAC) / IP(src="1.1.1.3", dst="1.1.1.4") / ICMP())
    held = r.process(5, ping)
    assert held.disposition == "held" and held.flow is not None
    decision = r.answer_flow_miss(held.flow)
    assert "action F" in decision
    [sent] = r.release(held.flow)
    assert sent.transmitted and sent.vif == 5
    # With agent=True the miss is answered in the same call; the next
    # packet hits the flow.
    again = r.process(5, ping, agent=True)
    assert again.transmitted
    flows = r.flows()
    assert len(flows) == 2
    assert {f["action"] for f in flows} == {"F"}
    assert "Action:F" in r.dump("flow -l")


def test_objects_by_id_flow_pairs_and_ipv6_dumps(compute):
    # A vif or nexthop is deleted by its id alone.
    compute.add_vif(id=9, type="virtual", name="tap9", mac=VROUTER_MAC, vrf=5)
    compute.delete_vif(id=9)
    assert 9 not in {v["id"] for v in compute.vifs()}
    # add_flow returns the index; rflow links a pair as `reverse` does in a case.
    first = compute.add_flow(sip="1.1.1.3", dip="1.1.1.5", sport=4145, proto="icmp",
                             nh=38, src_nh=38, vrf=5)
    second = compute.add_flow(sip="1.1.1.5", dip="1.1.1.3", sport=4145, proto="icmp",
                              nh=38, src_nh=21, vrf=5, rflow=first)
    by_index = {f["index"]: f for f in compute.flows()}
    assert by_index[second]["rflow"] == first
    with pytest.raises(vrsim.ConfigError, match="reverse names a"):
        compute.add_flow(sip="1.1.1.6", dip="1.1.1.3", proto="icmp", nh=38, src_nh=21,
                         vrf=5, rflow=first, reverse=1)
    # IPv6 routes, and their dumps as text.
    compute.add_route(vrf=5, prefix="2001:db8::/64", nh=38)
    assert compute.routes(5, "inet6")[0]["prefix"] == "2001:db8::/64"
    assert "2001:db8::/64" in compute.dump("rt --dump 5 --family inet6")


def test_frames_may_be_bytearrays(compute):
    inner = Ether(dst=VM_MAC) / IP(src="1.1.1.5", dst="1.1.1.3") / ICMP()
    assert compute.process(0, bytearray(bytes(mplsoudp(42, inner)))).vif == 5
