fn main() {
    let mut f = vrsim::scenarios::load(std::env::args().nth(1).as_deref().unwrap_or("seed-bgpaas"))
        .unwrap();
    let from = std::env::args().nth(2).unwrap_or("earth".into());
    let to = std::env::args().nth(3).unwrap_or("192.168.100.1".into());
    let t = f
        .probe(
            &from,
            to.parse().unwrap(),
            vrsim::fabric::packet::Probe::Icmp,
        )
        .unwrap();
    println!("{}\n", t.forward);
    if let Some(r) = t.reply {
        println!("{r}\n");
        println!("{}", r.minimal());
    }
    println!("{}", t.forward.minimal());
}
