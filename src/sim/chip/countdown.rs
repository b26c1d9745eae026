//! The down-counter both kinds of watchdog are built on: a value stepped down by a clock, with
//! the time already spent towards its next step, so any chunking of time gives the same count.

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Countdown {
    pub value: u32,
    /// Time towards the next step.
    part: u64,
}

impl Countdown {
    /// Load `value` (a start or a refresh): the next step is a whole step away.
    pub fn load(&mut self, value: u32) {
        self.value = value;
        self.part = 0;
    }

    /// The step length changed: the running step starts again.
    pub fn restart_step(&mut self) {
        self.part = 0;
    }

    /// Time until the value comes down to `floor`, at `step` nanoseconds a step.
    pub fn nanos_to(&self, floor: u32, step: u64) -> u64 {
        (u64::from(self.value.saturating_sub(floor)) * step).saturating_sub(self.part)
    }

    /// `nanos` of clock time at `step` a step; true (value left at `floor`) when it got there.
    pub fn advance(&mut self, floor: u32, step: u64, nanos: u64) -> bool {
        self.part += nanos;
        let steps = self.part / step;
        self.part %= step;
        if u64::from(self.value.saturating_sub(floor)) <= steps {
            self.value = floor;
            return true;
        }
        self.value -= steps as u32;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_chunking_of_time_gives_the_same_count() {
        let (mut a, mut b) = (Countdown::default(), Countdown::default());
        a.load(10);
        b.load(10);
        assert!(!a.advance(2, 100, 450));
        for _ in 0..9 {
            assert!(!b.advance(2, 100, 50));
        }
        assert_eq!(a, b);
        assert_eq!(a.nanos_to(2, 100), 350);
        assert!(a.advance(2, 100, 350));
        assert_eq!(a.value, 2);
    }
}
