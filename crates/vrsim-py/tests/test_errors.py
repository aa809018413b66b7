"""What a Python caller passes wrong is an exception, never a crash."""

import pytest

import vrsim


def test_unknown_nexthop_is_a_config_error():
    r = vrsim.VRouter()
    with pytest.raises(vrsim.ConfigError, match="nh 7"):
        r.add_route(vrf=0, prefix="10.0.0.0/8", nh=7)


def test_bad_mac_names_the_value():
    r = vrsim.VRouter()
    with pytest.raises(vrsim.ConfigError, match="is not a MAC address"):
        r.add_vif(id=1, type="virtual", name="tap1", mac="de:ad:be:ef")


def test_unknown_field_and_missing_field():
    r = vrsim.VRouter()
    with pytest.raises(vrsim.ConfigError, match="colour"):
        r.add_vif(id=1, type="virtual", name="tap1", mac="de:ad:be:ef:00:01", colour="red")
    with pytest.raises(vrsim.ConfigError, match="type"):
        r.add_vif(id=1)


def test_wrong_types_are_type_errors():
    r = vrsim.VRouter()
    with pytest.raises(TypeError):
        r.add_vif(id=object())
    with pytest.raises(TypeError):
        r.process("zero", b"\x00" * 60)
    with pytest.raises(TypeError):
        r.process(0, "not bytes")
    with pytest.raises(vrsim.ConfigError):
        r.add_vif(id="one", type="virtual", name="tap1", mac="de:ad:be:ef:00:01")
    with pytest.raises(OverflowError):
        r.process(1 << 20, b"")


def test_garbage_frames_are_counted_not_crashes():
    r = vrsim.VRouter()
    r.add_vif(id=0, type="physical", name="eth1", mac="00:1b:21:bb:f9:48")
    for frame in [b"", b"\xff", bytes(13), bytes(range(256)) * 8]:
        result = r.process(0, frame)
        assert result.disposition == "drop"
    with pytest.raises(vrsim.VrsimError, match="vif 9"):
        r.dump("vif --get 9")
    missing = r.process(9, bytes(60))
    assert missing.disposition == "drop"


def test_fabric_errors_name_what_and_where(tmp_path):
    with pytest.raises(vrsim.ConfigError, match="no-such-scenario"):
        vrsim.Fabric.load("no-such-scenario")
    bad = tmp_path / "bad.toml"
    bad.write_text('version = 1\nname = "bad"\n[contrail]\nasn = "x"\n')
    with pytest.raises(vrsim.ConfigError, match=r"bad.toml:4:"):
        vrsim.Fabric.load(str(bad))
    f = vrsim.Fabric.load("seed-bgpaas")
    with pytest.raises(vrsim.VrsimError, match="mars"):
        f.probe("mars", "192.168.100.1")
    with pytest.raises(vrsim.VrsimError, match="not an IPv4 or IPv6 address"):
        f.probe("earth", "192.168.100")
    with pytest.raises(vrsim.VrsimError):
        f.bgpaas_down("no-such-vm")
    with pytest.raises(vrsim.ConfigError):
        f.add_policy_rule("public", "deny gre any > any")


def test_self_holding_and_deep_values_are_refused_not_followed():
    r = vrsim.VRouter()
    loop = []
    loop.append(loop)
    with pytest.raises(vrsim.ConfigError, match="nested more than 8 deep"):
        r.add_vif(id=1, type="virtual", name="tap1", mac="de:ad:be:ef:00:01", flags=loop)
    deep = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(vrsim.ConfigError, match="nested"):
        r.add_nh(id=5, type="composite", members=deep)


def test_endless_iterables_are_not_flows():
    import itertools

    f = vrsim.Fabric.load("seed-bgpaas")
    with pytest.raises(TypeError):
        f.diff(f.copy(), [itertools.count()])
    with pytest.raises(TypeError):
        f.diff(f.copy(), itertools.repeat(("earth", "192.168.100.1")))
