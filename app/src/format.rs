//! Figures as people read them: prices, durations, countdowns.

/// Formats cents as dollars for display.
pub fn format_price(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, (cents % 100).abs())
}

/// A duration in microseconds as people read it: `12 µs`, `0.8 ms`.
pub fn format_micros(micros: f64) -> String {
    if micros < 1.0 {
        "<1 µs".to_owned()
    } else if micros < 1000.0 {
        format!("{micros:.0} µs")
    } else {
        format!("{:.1} ms", micros / 1000.0)
    }
}

/// Seconds left as `m:ss` (or `h:mm:ss`), `expired` at zero.
pub fn format_countdown(seconds: i64) -> String {
    if seconds <= 0 {
        return "expired".to_owned();
    }
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes}:{seconds:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_show_two_decimals() {
        assert_eq!(format_price(450), "$4.50");
        assert_eq!(format_price(5), "$0.05");
        assert_eq!(format_price(12000), "$120.00");
    }

    #[test]
    fn durations_and_countdowns_read_naturally() {
        assert_eq!(format_micros(0.4), "<1 µs");
        assert_eq!(format_micros(12.3), "12 µs");
        assert_eq!(format_micros(850.0), "850 µs");
        assert_eq!(format_micros(1260.0), "1.3 ms");
        assert_eq!(format_countdown(0), "expired");
        assert_eq!(format_countdown(65), "1:05");
        assert_eq!(format_countdown(3 * 3600 + 61), "3:01:01");
    }
}
