//! Fields of Linux's `/proc/PID/stat`, parsed from its text (reading the
//! file is the caller's). The command name, field 2, is in parentheses and
//! may hold spaces and parentheses, so fields are counted from the last `)`.

/// Clock ticks per second of the times in `stat`: Linux's `USER_HZ`, which
/// is 100 for user space on every architecture Cairn builds for.
pub const TICKS_PER_SEC: f64 = 100.0;

/// Field `n` (1-based, as `proc(5)` numbers them; `n` ≥ 3) as a number.
pub fn field(stat: &str, n: usize) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    after
        .split_whitespace()
        .nth(n.checked_sub(3)?)?
        .parse()
        .ok()
}

/// User plus system time (fields 14 and 15), in clock ticks.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    Some(field(stat, 14)? + field(stat, 15)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_count_from_the_end_of_the_name() {
        // Fields 14 and 15 are 250 and 31; field 20 (threads) is 9.
        let stat = "4242 (tokio (worker) 1) S 1 4242 4242 0 -1 4194560 5000 0 0 0 250 31 0 0 20 0 9 0 100 0 0";
        assert_eq!(cpu_ticks(stat), Some(281));
        assert_eq!(field(stat, 20), Some(9));
        assert_eq!(field(stat, 4), Some(1));
        assert_eq!(cpu_ticks("4242 (cairn) S 1 2 3"), None);
        assert_eq!(cpu_ticks("no parenthesis"), None);
        assert_eq!(field(stat, 2), None);
    }
}
