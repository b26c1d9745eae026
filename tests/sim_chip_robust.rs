//! No panic and no hang on any access sequence; the same sequence gives the same results.

use h7sh::sim::bus::{Bus, Size};
use h7sh::sim::chip::{Chip, CM4, CM7};
use h7sh::sim::scenario::Scenario;

/// Small deterministic PRNG (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Interesting addresses: every modelled block plus random ones.
const HOT: &[u32] = &[
    0x0000_0000,
    0x0800_0000,
    0x0810_0000,
    0x1000_0000,
    0x1FF0_0000,
    0x2000_0000,
    0x2400_0000,
    0x3000_0000,
    0x3800_0000,
    0x3880_0000,
    0x5200_2000,
    0x5800_0400,
    0x5800_0700,
    0x5802_4400,
    0x5802_4800,
    0x5802_6400,
    0x5C00_1000,
    0xE000_0000,
    0xE000_1000,
    0xE000_2000,
    0xE000_E000,
    0xE000_ED00,
    0xE000_EDF0,
    0xE00E_0000,
    0xE00E_1000,
    0xE00E_3000,
    0xE00F_3000,
    0xE00F_5000,
    0xE00F_E000,
    0xE00F_F000,
];

fn run(seed: u64, scenario: &str) -> Vec<String> {
    let mut c = Chip::new(&Scenario::builtin(scenario).unwrap()).unwrap();
    let mut rng = Rng(seed);
    let mut log = Vec::new();
    for _ in 0..20_000 {
        let x = rng.next();
        let ap = (x % 5) as u8;
        let base = HOT[((x >> 8) as usize) % HOT.len()];
        let addr = if x & (1 << 40) != 0 {
            (rng.next() >> 16) as u32
        } else {
            base.wrapping_add(((x >> 20) & 0x1FF) as u32 * 4 + ((x >> 50) & 3) as u32)
        };
        let size = [Size::U8, Size::U16, Size::U32][((x >> 33) % 3) as usize];
        // Writes of DBGKEY/VECTKEY-looking values now and then, to reach the interesting paths.
        let value = match (x >> 36) & 7 {
            0 => 0xA05F_0003,
            1 => 0x05FA_0004,
            2 => 0x0819_2A3B,
            3 => 0x4C5D_6E7F,
            _ => rng.next() as u32,
        };
        match (x >> 44) & 0xF {
            0..=6 => log.push(format!("{:?}", c.read(ap, addr, size))),
            7..=12 => log.push(format!("{:?}", c.write(ap, addr, size, value))),
            13 => c.advance(rng.next() % 3_000_000),
            14 => c.set_reset_pin(x & 1 != 0),
            _ => {
                if x & 0xFF == 0 {
                    c.power_cycle()
                } else {
                    c.advance(1_000)
                }
            }
        }
        for ap in 0..6 {
            let _ = c.ap_power(ap);
        }
    }
    log.push(format!("{:?} {:?}", c.core_status(CM7), c.core_status(CM4)));
    log
}

#[test]
fn random_access_sequences_do_not_panic_and_are_deterministic() {
    for (i, (name, _)) in Scenario::builtin_names().iter().enumerate() {
        let seed = 0x1234_5678 + i as u64;
        assert_eq!(run(seed, name), run(seed, name), "{name}");
    }
}

#[test]
fn huge_waits_return() {
    let mut c = Chip::new(&Scenario::builtin("nucleo-h755zi-q").unwrap()).unwrap();
    c.wait_ms(u64::MAX);
    c.advance(u64::MAX);
    assert_eq!(c.core_status(CM7).unwrap().state, "main-loop");
}
