//! Table-driven tests of the h7sh command language.

use h7sh::lang::*;

fn name(s: &str) -> Target {
    Target::Name(s.into())
}
fn addr(a: u64, size: Option<AccessSize>) -> Target {
    Target::Address { addr: a, size }
}
fn num(n: u64) -> Value {
    Value::Number(n)
}
fn sym(s: &str) -> Value {
    Value::Symbol(s.into())
}
fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// One input → the single command it must produce.
fn good_cases() -> Vec<(&'static str, Command)> {
    use Command as C;
    vec![
        ("ap", C::Ap(None)),
        ("ap 3", C::Ap(Some(3))),
        ("AP 0x1", C::Ap(Some(1))),
        ("ap 300", C::Ap(Some(300))),
        ("core", C::Core(None)),
        ("core cm7", C::Core(Some(CoreName::Cm7))),
        ("Core CM4", C::Core(Some(CoreName::Cm4))),
        (
            "read GPIOA.MODER",
            C::Read {
                target: name("GPIOA.MODER"),
                count: None,
            },
        ),
        (
            "r RCC_CR",
            C::Read {
                target: name("RCC_CR"),
                count: None,
            },
        ),
        (
            "R gpioa.afr[1]",
            C::Read {
                target: name("gpioa.afr[1]"),
                count: None,
            },
        ),
        (
            "read P.CL[2].REG",
            C::Read {
                target: name("P.CL[2].REG"),
                count: None,
            },
        ),
        (
            "read RCC.CR.HSION",
            C::Read {
                target: name("RCC.CR.HSION"),
                count: None,
            },
        ),
        (
            "read 0x08000000/w 4",
            C::Read {
                target: addr(0x0800_0000, Some(AccessSize::U32)),
                count: Some(4),
            },
        ),
        (
            "read 0x5C001000/b",
            C::Read {
                target: addr(0x5C00_1000, Some(AccessSize::U8)),
                count: None,
            },
        ),
        (
            "read 0x2000_0000/H 0b10",
            C::Read {
                target: addr(0x2000_0000, Some(AccessSize::U16)),
                count: Some(2),
            },
        ),
        (
            "read 536870912",
            C::Read {
                target: addr(0x2000_0000, None),
                count: None,
            },
        ),
        (
            "write GPIOA.ODR 0x1",
            C::Write {
                target: name("GPIOA.ODR"),
                value: num(1),
            },
        ),
        (
            "w GPIOA.MODER.MODE0 Output",
            C::Write {
                target: name("GPIOA.MODER.MODE0"),
                value: sym("Output"),
            },
        ),
        (
            "W 0x30000000/w 0o17",
            C::Write {
                target: addr(0x3000_0000, Some(AccessSize::U32)),
                value: num(15),
            },
        ),
        (
            "write FLASH.OPTCR.LOCK true",
            C::Write {
                target: name("FLASH.OPTCR.LOCK"),
                value: sym("true"),
            },
        ),
        (
            "write GPIOA.MODER MODE0=0b01 MODE1=Alternate",
            C::WriteFields {
                register: "GPIOA.MODER".into(),
                fields: vec![("MODE0".into(), num(1)), ("MODE1".into(), sym("Alternate"))],
            },
        ),
        (
            "w RCC.CR HSION=1",
            C::WriteFields {
                register: "RCC.CR".into(),
                fields: vec![("HSION".into(), num(1))],
            },
        ),
        (
            "show GPIOA",
            C::Show {
                peripheral: "GPIOA".into(),
                registers: vec![],
            },
        ),
        (
            "SHOW RCC CR CFGR",
            C::Show {
                peripheral: "RCC".into(),
                registers: strings(&["CR", "CFGR"]),
            },
        ),
        ("find MODER", C::Find("MODER".into())),
        ("find \"rcc cr\"", C::Find("rcc cr".into())),
        ("info", C::Info),
        ("ap cm4", C::Ap(Some(3))),
        ("ap APB-D", C::Ap(Some(2))),
        ("ap d3", C::Ap(Some(1))),
        ("core 0", C::Core(Some(CoreName::Cm7))),
        ("core 3", C::Core(Some(CoreName::Cm4))),
        (
            "mdw 0x24000000 4",
            C::Read {
                target: addr(0x2400_0000, Some(AccessSize::U32)),
                count: Some(4),
            },
        ),
        (
            "mdh 0x24000002",
            C::Read {
                target: addr(0x2400_0002, Some(AccessSize::U16)),
                count: None,
            },
        ),
        (
            "MDB 0x24000003 2",
            C::Read {
                target: addr(0x2400_0003, Some(AccessSize::U8)),
                count: Some(2),
            },
        ),
        (
            "read32 0x24000000 16",
            C::Read {
                target: addr(0x2400_0000, Some(AccessSize::U32)),
                count: Some(4),
            },
        ),
        (
            "read16 0x24000000 4",
            C::Read {
                target: addr(0x2400_0000, Some(AccessSize::U16)),
                count: Some(2),
            },
        ),
        (
            "read8 0x24000000/b",
            C::Read {
                target: addr(0x2400_0000, Some(AccessSize::U8)),
                count: None,
            },
        ),
        (
            "mww 0x24000000 0x11223344",
            C::Write {
                target: addr(0x2400_0000, Some(AccessSize::U32)),
                value: num(0x1122_3344),
            },
        ),
        (
            "mwh 0x24000000 7",
            C::Write {
                target: addr(0x2400_0000, Some(AccessSize::U16)),
                value: num(7),
            },
        ),
        (
            "mwb 0x24000000 7",
            C::Write {
                target: addr(0x2400_0000, Some(AccessSize::U8)),
                value: num(7),
            },
        ),
        (
            "write32 0x24000000 1",
            C::Write {
                target: addr(0x2400_0000, Some(AccessSize::U32)),
                value: num(1),
            },
        ),
        (
            "write16 0x24000000 1",
            C::Write {
                target: addr(0x2400_0000, Some(AccessSize::U16)),
                value: num(1),
            },
        ),
        (
            "write8 0x24000000 1",
            C::Write {
                target: addr(0x2400_0000, Some(AccessSize::U8)),
                value: num(1),
            },
        ),
        ("h", C::Halt),
        ("g", C::Resume),
        ("go", C::Resume),
        ("c", C::Resume),
        ("continue", C::Resume),
        ("s", C::Step(1)),
        ("snap list", C::SnapList),
        (
            "snap save base.json",
            C::SnapSave {
                file: "base.json".into(),
                name: None,
            },
        ),
        (
            "snap save base.json bad",
            C::SnapSave {
                file: "base.json".into(),
                name: Some("bad".into()),
            },
        ),
        ("step 25", C::Step(25)),
        ("help ob set", C::Help(Some("ob set".into()))),
        ("status", C::Status),
        ("reconnect", C::Reconnect),
        ("halt", C::Halt),
        ("Resume", C::Resume),
        ("STEP", C::Step(1)),
        (
            "reset",
            C::Reset {
                kind: ResetKind::System,
                halt: false,
            },
        ),
        (
            "reset core",
            C::Reset {
                kind: ResetKind::Core,
                halt: false,
            },
        ),
        (
            "reset system halt",
            C::Reset {
                kind: ResetKind::System,
                halt: true,
            },
        ),
        (
            "reset HALT",
            C::Reset {
                kind: ResetKind::System,
                halt: true,
            },
        ),
        (
            "reset Core Halt",
            C::Reset {
                kind: ResetKind::Core,
                halt: true,
            },
        ),
        ("regs", C::Regs),
        (
            "reg pc",
            C::Reg {
                name: "pc".into(),
                value: None,
            },
        ),
        (
            "reg r0 0xdead_beef",
            C::Reg {
                name: "r0".into(),
                value: Some(num(0xdead_beef)),
            },
        ),
        ("help", C::Help(None)),
        ("help read", C::Help(Some("read".into()))),
        ("? w", C::Help(Some("w".into()))),
        ("quit", C::Quit),
        ("exit", C::Quit),
        ("Q", C::Quit),
        ("sim stats", C::Sim(SimCommand::Stats { reset: false })),
        ("sim STATS reset", C::Sim(SimCommand::Stats { reset: true })),
        ("sim power-cycle", C::Sim(SimCommand::PowerCycle)),
        ("sim wait 250", C::Sim(SimCommand::Wait { ms: 250 })),
        ("sim nrst", C::Sim(SimCommand::Nrst(None))),
        ("sim nrst hold", C::Sim(SimCommand::Nrst(Some(true)))),
        ("sim NRST Release", C::Sim(SimCommand::Nrst(Some(false)))),
        ("sim boot0", C::Sim(SimCommand::Boot0(None))),
        ("sim boot0 1", C::Sim(SimCommand::Boot0(Some(true)))),
        ("sim boot0 0", C::Sim(SimCommand::Boot0(Some(false)))),
        ("sim serve", C::Sim(SimCommand::Serve(None))),
        (
            "sim serve pyocd=5555,bitbang=0",
            C::Sim(SimCommand::Serve(Some("pyocd=5555,bitbang=0".into()))),
        ),
        (
            "sim serve bmp pyocd",
            C::Sim(SimCommand::Serve(Some("bmp,pyocd".into()))),
        ),
        ("ob", C::Ob),
        (
            "ob set RDP=0xAA BOR_LEV=Level2",
            C::ObSet(vec![
                ("RDP".into(), num(0xAA)),
                ("BOR_LEV".into(), sym("Level2")),
            ]),
        ),
        ("doctor", C::Doctor),
        ("report", C::Report(None)),
        ("report out.txt", C::Report(Some("out.txt".into()))),
        (
            "report 'my report.txt'",
            C::Report(Some("my report.txt".into())),
        ),
        (
            "wait RCC.CR.HSERDY == 1",
            C::Wait {
                target: name("RCC.CR.HSERDY"),
                op: WaitOp::Eq,
                value: num(1),
                timeout_ms: None,
            },
        ),
        (
            "wait PWR.CSR1 & 0x2000 timeout 500",
            C::Wait {
                target: name("PWR.CSR1"),
                op: WaitOp::And,
                value: num(0x2000),
                timeout_ms: Some(500),
            },
        ),
        (
            "wait 0x58024400/w != 0 TIMEOUT 10",
            C::Wait {
                target: addr(0x5802_4400, Some(AccessSize::U32)),
                op: WaitOp::Ne,
                value: num(0),
                timeout_ms: Some(10),
            },
        ),
        (
            "wait X < 5",
            C::Wait {
                target: name("X"),
                op: WaitOp::Lt,
                value: num(5),
                timeout_ms: None,
            },
        ),
        (
            "wait X > 5",
            C::Wait {
                target: name("X"),
                op: WaitOp::Gt,
                value: num(5),
                timeout_ms: None,
            },
        ),
        (
            "wait X <= Ready",
            C::Wait {
                target: name("X"),
                op: WaitOp::Le,
                value: sym("Ready"),
                timeout_ms: None,
            },
        ),
        (
            "wait X >= 5",
            C::Wait {
                target: name("X"),
                op: WaitOp::Ge,
                value: num(5),
                timeout_ms: None,
            },
        ),
        (
            "snap before",
            C::Snap {
                name: "before".into(),
                peripherals: vec![],
            },
        ),
        (
            "snap boot GPIOA RCC",
            C::Snap {
                name: "boot".into(),
                peripherals: strings(&["GPIOA", "RCC"]),
            },
        ),
        (
            "diff boot RCC",
            C::Diff {
                name: "boot".into(),
                peripherals: strings(&["RCC"]),
            },
        ),
        (
            "run init.rhai",
            C::Run {
                file: "init.rhai".into(),
                args: vec![],
            },
        ),
        (
            r#"run "my scripts/blink.rhai" 3 'two words' "q\"uote""#,
            C::Run {
                file: "my scripts/blink.rhai".into(),
                args: strings(&["3", "two words", "q\"uote"]),
            },
        ),
        (
            r#"run "C:\tmp\x.rhai""#,
            C::Run {
                file: r"C:\tmp\x.rhai".into(),
                args: vec![],
            },
        ),
        ("eval 1 + 2", C::Eval("1 + 2".into())),
        (
            "EVAL  let m = #{a: 1}; m.a  ",
            C::Eval("let m = #{a: 1}; m.a".into()),
        ),
        ("record session.h7", C::Record(Some("session.h7".into()))),
        ("record stop", C::Record(None)),
        ("record STOP", C::Record(None)),
        ("record \"stop\"", C::Record(Some("stop".into()))),
        // whitespace variants and comments
        ("   halt   ", C::Halt),
        ("\thalt\t# stop the core", C::Halt),
        ("halt#comment", C::Halt),
        ("find 'a#b'", C::Find("a#b".into())),
        ("halt\r", C::Halt),
    ]
}

#[test]
fn good_inputs_parse() {
    for (input, expected) in good_cases() {
        assert_eq!(parse(input), Ok(vec![expected.clone()]), "input: {input:?}");
    }
}

#[test]
fn every_command_and_alias_is_covered_by_the_table() {
    let cases = good_cases();
    for spec in commands() {
        for word in std::iter::once(&spec.name).chain(spec.aliases.iter()) {
            assert!(
                cases.iter().any(|(i, _)| i
                    .split_whitespace()
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case(word))),
                "no good case for `{word}`"
            );
        }
        for sub in spec.subcommands {
            let prefix = format!("{} {}", spec.name, sub.name);
            assert!(
                cases
                    .iter()
                    .any(|(i, _)| i.to_lowercase().starts_with(&prefix)),
                "no good case for `{prefix}`"
            );
        }
    }
}

#[test]
fn multiple_commands_separators_and_blank_input() {
    assert_eq!(parse(""), Ok(vec![]));
    assert_eq!(parse("  \n\n # nothing\n;;"), Ok(vec![]));
    assert_eq!(
        parse("halt; step ;resume"),
        Ok(vec![Command::Halt, Command::Step(1), Command::Resume])
    );
    assert_eq!(
        parse("halt\nread RCC.CR # c ; ignored\r\n\n  r 0x0/b 2;quit"),
        Ok(vec![
            Command::Halt,
            Command::Read {
                target: name("RCC.CR"),
                count: None
            },
            Command::Read {
                target: addr(0, Some(AccessSize::U8)),
                count: Some(2)
            },
            Command::Quit,
        ])
    );
    // eval swallows the rest of its line only
    assert_eq!(
        parse("halt; eval x; y\nstep"),
        Ok(vec![
            Command::Halt,
            Command::Eval("x; y".into()),
            Command::Step(1)
        ])
    );
}

/// Bad input → (message fragment, hint fragment, line, column).
#[test]
fn bad_inputs_give_clear_errors() {
    let cases: &[(&str, &str, &str, usize, usize)] = &[
        (
            "rdd GPIOA",
            "unknown command `rdd`",
            "did you mean `read`?",
            1,
            1,
        ),
        (
            "halt; stauts",
            "unknown command `stauts`",
            "did you mean `status`?",
            1,
            7,
        ),
        ("xyzzy", "unknown command `xyzzy`", "type `help`", 1, 1),
        ("\"read\" X", "unknown command `read`", "help", 1, 1),
        (
            "read",
            "missing TARGET for `read`",
            "usage: read|r TARGET [COUNT]",
            1,
            5,
        ),
        (
            "halt\n  write X",
            "missing VALUE for `write`",
            "usage: write",
            2,
            10,
        ),
        (
            "read 0xZZ",
            "invalid digit `Z` in hexadecimal",
            "0x2A",
            1,
            8,
        ),
        (
            "read X 12abc",
            "invalid digit `a` in decimal",
            "0x2A",
            1,
            10,
        ),
        (
            "read X abc",
            "COUNT for `read` must be a number",
            "0x2A",
            1,
            8,
        ),
        ("write X 99999999999999999999", "too large", "64 bits", 1, 9),
        ("write X -5", "negative number", "0xFFFFFFFB", 1, 9),
        ("read 0x10/q", "unknown access size `/q`", "/b", 1, 10),
        ("read 0x10/", "unknown access size", "/h", 1, 10),
        ("read GPIOA.", "incomplete name", "GPIOA.AFR[1]", 1, 11),
        ("read GPIOA X Y", "must be a number", "0x2A", 1, 12),
        (
            "read X 1 extra",
            "unexpected `extra` after the arguments of `read`",
            "separate commands with `;`",
            1,
            10,
        ),
        ("halt now", "unexpected `now`", "usage: halt", 1, 6),
        (
            "run \"abc",
            "unterminated quoted string",
            "closing `\"`",
            1,
            5,
        ),
        (
            "find 'abc",
            "unterminated quoted string",
            "closing `'`",
            1,
            6,
        ),
        ("run \"a\"b", "right after a quoted string", "space", 1, 8),
        ("core cm9", "unknown core `cm9`", "`cm7`, `cm4`", 1, 6),
        ("core 2", "AP2 has no core", "`core cm4` (AP3)", 1, 6),
        ("step 0", "cannot step 0 instructions", "`resume`", 1, 6),
        (
            "mdw RCC_CR",
            "takes an address, not the name `RCC_CR`",
            "read RCC_CR",
            1,
            5,
        ),
        (
            "mdw 0x24000000/h",
            "`mdw` makes 32-bit accesses",
            "drop the size suffix",
            1,
            5,
        ),
        (
            "read32 0x24000000 6",
            "LEN 6 is not a whole number",
            "in bytes, as pyOCD",
            1,
            19,
        ),
        ("mww 0x24000000 1 4", "unexpected", "usage: write", 1, 18),
        ("sim", "missing sub-command for `sim`", "sim stats", 1, 4),
        (
            "sim jump",
            "unknown sub-command `jump` for `sim`",
            "`stats`, `power-cycle`, `wait`",
            1,
            5,
        ),
        (
            "sim nrst press",
            "unknown NRST action `press` for `sim nrst`",
            "`hold`, `release`",
            1,
            10,
        ),
        (
            "sim wait",
            "missing MS for `sim wait`",
            "usage: sim wait MS",
            1,
            9,
        ),
        (
            "sim stats now",
            "unexpected `now` after the arguments of `sim stats`",
            "sim stats [reset]",
            1,
            11,
        ),
        (
            "ob set",
            "missing NAME=VALUE for `ob set`",
            "ob set NAME=VALUE",
            1,
            7,
        ),
        (
            "ob set RDP",
            "expected NAME=VALUE, found `RDP`",
            "without spaces",
            1,
            8,
        ),
        (
            "ob set RDP=",
            "missing value after `=`",
            "without spaces",
            1,
            12,
        ),
        (
            "ob set =1",
            "missing name before `=`",
            "without spaces",
            1,
            8,
        ),
        ("write R F=0xG", "invalid digit `G`", "0x2A", 1, 13),
        (
            "write R F=1 5",
            "expected FIELD=VALUE, found `5`",
            "usage: write",
            1,
            13,
        ),
        (
            "write 0x1000 F=1",
            "need a register name",
            "write REG FIELD=VALUE",
            1,
            7,
        ),
        (
            "wait X = 1",
            "unknown comparison `=`",
            "== != < > <= >= &",
            1,
            8,
        ),
        ("wait X==1", "unexpected `==` in `X==1`", "spaces", 1, 7),
        ("wait X<=1", "unexpected `<=` in `X<=1`", "spaces", 1, 7),
        (
            "write RCC.CR.HSION=1",
            "unexpected `=` in `RCC.CR.HSION=1`",
            "register first",
            1,
            19,
        ),
        (
            "wait X == 1 timeout",
            "missing MS for `wait`",
            "timeout MS",
            1,
            20,
        ),
        (
            "wait X ==",
            "missing VALUE for `wait`",
            "usage: wait",
            1,
            10,
        ),
        ("eval", "missing EXPR for `eval`", "usage: eval EXPR", 1, 5),
        ("eval   ", "missing EXPR", "eval EXPR", 1, 5),
        ("record", "missing FILE for `record`", "record stop", 1, 7),
        ("reg", "missing NAME for `reg`", "reg NAME [VALUE]", 1, 4),
        (
            "reg r0 Bad-Value",
            "unexpected `-` in value",
            "Enabled",
            1,
            11,
        ),
        ("show", "missing PERIPH", "show PERIPH", 1, 5),
        (
            "show GPIOA MODER.",
            "incomplete name",
            "names look like",
            1,
            17,
        ),
        ("ap x", "N for `ap` must be a number", "0x2A", 1, 4),
        ("ap -1", "negative number", "0xFFFFFFFF", 1, 4),
        (
            "reset warm",
            "unexpected `warm`",
            "reset [core|system] [halt]",
            1,
            7,
        ),
        ("read é", "not a valid name", "GPIOA", 1, 6),
        ("snap", "missing NAME for `snap`", "snap NAME", 1, 5),
        ("diff a 1x", "not a valid name", "names", 1, 8),
    ];
    for (input, msg, hint, line, col) in cases {
        let e = parse(input).expect_err(input);
        assert!(
            e.message.contains(msg),
            "{input:?}: message {:?}",
            e.message
        );
        assert!(e.hint.contains(hint), "{input:?}: hint {:?}", e.hint);
        assert_eq!(
            (e.line, e.column),
            (*line, *col),
            "{input:?}: position of {e:?}"
        );
        assert_eq!(e.to_string(), e.message);
    }
}

#[test]
fn parse_value_is_reusable() {
    assert_eq!(parse_value("0x0800_0000"), Ok(num(0x0800_0000)));
    assert_eq!(parse_value("Level0"), Ok(sym("Level0")));
    assert_eq!(parse_value("0b1"), Ok(num(1)));
    let e = parse_value("0x1G").unwrap_err();
    assert_eq!((e.line, e.column), (1, 4));
    assert!(e.hint.contains("0b"));
}

#[test]
fn to_line_round_trips_every_variant() {
    let mut extra = vec![
        Command::Read {
            target: addr(u64::MAX, None),
            count: Some(u64::MAX),
        },
        Command::Write {
            target: addr(0, Some(AccessSize::U16)),
            value: num(u64::MAX),
        },
        Command::Write {
            target: name("A"),
            value: num(9),
        },
        Command::Run {
            file: "".into(),
            args: strings(&["", "'x", "\"y", "a\\b", "semi;colon", "hash#", "é ü"]),
        },
        Command::Find("two  spaces".into()),
        Command::Help(Some("#".into())),
        Command::Snap {
            name: "with space".into(),
            peripherals: strings(&["GPIOA"]),
        },
        Command::Report(Some("STOP".into())),
        Command::Record(Some("Stop".into())),
        Command::Record(Some("a b".into())),
        Command::Eval("x # y; z".into()),
    ];
    let mut all: Vec<Command> = good_cases().into_iter().map(|(_, c)| c).collect();
    all.append(&mut extra);
    for c in all {
        let line = c.to_line();
        assert_eq!(parse(&line), Ok(vec![c.clone()]), "line: {line:?}");
    }
}

#[test]
fn to_line_is_canonical() {
    let cases = [
        ("R gpioa.odr 0x10", "read gpioa.odr 16"),
        ("w gpioa.odr 0x10", "write gpioa.odr 0x10"),
        ("w 0x5C001000/W 0b1010", "write 0x5C001000/w 0xA"),
        ("W X 7", "write X 7"),
        ("reset", "reset system"),
        ("exit", "quit"),
        ("ob set RDP=170", "ob set RDP=0xAA"),
        ("wait X & 1 timeout 0x10", "wait X & 1 timeout 16"),
        ("record 'stop'", "record \"stop\""),
        ("run 'a b' c", "run \"a b\" c"),
        ("r 0x1 0x10", "read 0x00000001 16"),
    ];
    for (input, line) in cases {
        let c = parse(input).unwrap();
        assert_eq!(c[0].to_line(), line, "{input}");
    }
}

#[test]
fn help_for_every_command() {
    let overview = help_text(None).unwrap();
    for spec in commands() {
        assert!(overview.contains(spec.synopsis), "{}", spec.name);
        assert!(overview.contains(spec.summary), "{}", spec.name);
        for word in std::iter::once(&spec.name).chain(spec.aliases.iter()) {
            let h = help_text(Some(word)).unwrap();
            assert!(
                h.starts_with(&format!("usage: {}", spec.synopsis)),
                "{word}"
            );
            assert!(h.contains(spec.help));
            for sub in spec.subcommands {
                assert!(h.contains(sub.synopsis));
            }
        }
        let upper = spec.name.to_uppercase();
        assert_eq!(help_text(Some(&upper)), help_text(Some(spec.name)));
    }
    assert!(help_text(Some("q")).unwrap().contains("aliases: exit, q"));
    let e = help_text(Some("raed")).unwrap_err();
    assert!(e.message.contains("`raed`"));
    assert!(e.hint.contains("did you mean `read`?"));
    assert!(help_text(Some("reset")).unwrap().contains("system reset"));
}

#[test]
fn lookup_by_name_and_alias() {
    assert_eq!(lookup("R").map(|s| s.name), Some("read"));
    assert_eq!(lookup("write").map(|s| s.name), Some("write"));
    assert_eq!(lookup("EXIT").map(|s| s.name), Some("quit"));
    assert!(lookup("rd").is_none());
    assert!(lookup("").is_none());
}

fn ctx(line: &str) -> CompletionContext {
    completion_context(line, line.len())
}

#[test]
fn completion_contexts() {
    let c = ctx("");
    assert_eq!((c.start, c.kind), (0, CompletionKind::CommandName));
    let c = ctx("  re");
    assert_eq!(
        (c.start, c.word.as_str(), c.kind),
        (2, "re", CompletionKind::CommandName)
    );
    let c = ctx("halt; re");
    assert_eq!((c.start, c.kind), (6, CompletionKind::CommandName));

    let c = ctx("read GPIOA.MO");
    assert_eq!(c.kind, CompletionKind::Arg(ArgKind::Target));
    assert_eq!(
        (c.start, c.word.as_str(), c.command),
        (5, "GPIOA.MO", Some("read"))
    );
    assert_eq!(ctx("R X ").kind, CompletionKind::Arg(ArgKind::Number));
    assert_eq!(ctx("read X 1 ").kind, CompletionKind::Nothing);

    let c = ctx("write GPIOA.MODER MO");
    assert_eq!(c.kind, CompletionKind::Arg(ArgKind::FieldAssignments));
    assert_eq!(c.args, strings(&["GPIOA.MODER"]));
    let c = ctx("w GPIOA.MODER MODE0=1 MODE1=Alt");
    assert_eq!(
        c.kind,
        CompletionKind::AssignmentValue {
            name: "MODE1".into()
        }
    );
    assert_eq!((c.start, c.word.as_str()), (28, "Alt"));
    assert_eq!(c.args, strings(&["GPIOA.MODER", "MODE0=1"]));
    let c = ctx("ob set RDP=");
    assert_eq!(
        c.kind,
        CompletionKind::AssignmentValue { name: "RDP".into() }
    );
    assert_eq!((c.start, c.word.as_str()), (11, ""));

    assert_eq!(
        ctx("core ").kind,
        CompletionKind::Arg(ArgKind::Keywords(&["cm7", "cm4"]))
    );
    assert_eq!(
        ctx("sim ").kind,
        CompletionKind::Arg(ArgKind::Keywords(&[
            "stats",
            "power-cycle",
            "wait",
            "nrst",
            "boot0",
            "serve"
        ]))
    );
    assert_eq!(ctx("sim wait ").kind, CompletionKind::Arg(ArgKind::Number));
    assert_eq!(
        ctx("SIM stats r").kind,
        CompletionKind::Arg(ArgKind::Keywords(&["reset"]))
    );
    assert_eq!(ctx("sim bogus ").kind, CompletionKind::Nothing);
    assert_eq!(
        ctx("show GPIOA CR ").kind,
        CompletionKind::Arg(ArgKind::Name)
    );
    assert_eq!(ctx("show G").kind, CompletionKind::Arg(ArgKind::Peripheral));
    assert_eq!(ctx("reg ").kind, CompletionKind::Arg(ArgKind::CoreReg));
    assert_eq!(ctx("help ").kind, CompletionKind::Arg(ArgKind::CommandName));
    assert_eq!(
        ctx("wait X ").kind,
        CompletionKind::Arg(ArgKind::Keywords(&["==", "!=", "<", ">", "<=", ">=", "&"]))
    );
    assert_eq!(
        ctx("wait X == 1 timeout ").kind,
        CompletionKind::Arg(ArgKind::Number)
    );

    let c = ctx("run \"my dir/sc");
    assert_eq!(c.kind, CompletionKind::Arg(ArgKind::File));
    assert_eq!((c.start, c.word.as_str()), (4, "my dir/sc"));
    assert_eq!(
        ctx("run a.rhai x ").kind,
        CompletionKind::Arg(ArgKind::Word)
    );

    assert_eq!(ctx("eval x").kind, CompletionKind::Nothing);
    assert_eq!(ctx("eval x; re").kind, CompletionKind::Nothing);
    assert_eq!(ctx("halt # re").kind, CompletionKind::Nothing);
    assert_eq!(ctx("bogus ").kind, CompletionKind::Nothing);
    assert_eq!(ctx("halt ").kind, CompletionKind::Nothing);

    // the cursor in the middle of the line, and out-of-range / mid-char positions
    let c = completion_context("read X; halt", 6);
    assert_eq!((c.start, c.word.as_str()), (5, "X"));
    assert_eq!(c.kind, CompletionKind::Arg(ArgKind::Target));
    let c = completion_context("read é", 6);
    assert_eq!((c.start, c.word.as_str()), (5, ""));
    assert_eq!(
        completion_context("halt", 99).kind,
        CompletionKind::CommandName
    );
}

/// Deterministic xorshift generator for garbage inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

#[test]
fn no_panics_on_garbage() {
    let pieces = [
        "read",
        "r",
        "write",
        "w",
        "sim",
        "ob",
        "set",
        "wait",
        "eval",
        "record",
        "stop",
        "run",
        "help",
        "reset",
        "core",
        "ap",
        "reg",
        "show",
        "snap",
        "0x",
        "0xFFFF_FFFF_FFFF_FFFF_F",
        "/w",
        "/q",
        "=",
        "==",
        "&",
        "<",
        "F=1",
        "=x",
        "\"",
        "'",
        "\\",
        "#",
        ";",
        "\n",
        "\r\n",
        " ",
        "\t",
        "é",
        "日本",
        "🦀",
        "GPIOA.",
        "[1]",
        "]",
        "-",
        "-0x5",
        "timeout",
        "Enabled",
        "0b",
        "0o9",
        "\u{0}",
        "\u{a0}",
        ".",
        "..",
        "_",
        "99999999999999999999999",
        "halt",
        "stats",
        "X",
        "1",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut ok = 0usize;
    for _ in 0..20_000 {
        let n = (rng.next() % 12) as usize;
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(rng.pick(&pieces));
            if rng.next() & 1 == 0 {
                s.push(' ');
            }
        }
        match parse(&s) {
            Ok(cmds) => {
                ok += 1;
                for c in cmds {
                    let line = c.to_line();
                    assert_eq!(parse(&line), Ok(vec![c]), "from {s:?}");
                }
            }
            Err(e) => {
                assert!(e.line >= 1 && e.column >= 1, "{s:?}: {e:?}");
                assert!(!e.message.is_empty() && !e.hint.is_empty());
                let line = s.split('\n').nth(e.line - 1).unwrap_or("");
                let line_len = line.strip_suffix('\r').unwrap_or(line).chars().count();
                assert!(e.column <= line_len + 1, "{s:?}: {e:?}");
            }
        }
        for pos in [0, s.len() / 2, s.len(), s.len() + 3] {
            let c = completion_context(&s, pos);
            assert!(c.start <= s.len());
        }
    }
    assert!(
        ok > 100,
        "generator should also produce valid inputs ({ok})"
    );
    // long and random-byte lines
    let long = "read ".to_string() + "A".repeat(100_000).as_str();
    assert_eq!(parse(&long).unwrap().len(), 1);
    let many = "halt;".repeat(10_000);
    assert_eq!(parse(&many).unwrap().len(), 10_000);
    let deep = "[".repeat(50_000);
    assert!(parse(&format!("read X{deep}")).is_err());
    for seed in 1..300u64 {
        let mut r = Rng(seed);
        let s: String = (0..64)
            .filter_map(|_| char::from_u32((r.next() % 0x3000) as u32))
            .collect();
        let _ = parse(&s);
        let _ = completion_context(&s, (r.next() % 200) as usize);
        let _ = parse_value(&s);
        let _ = help_text(Some(&s));
    }
}
