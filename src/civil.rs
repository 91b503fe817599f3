//! Calendar arithmetic in UTC (the proleptic Gregorian calendar, as `date -u`): Unix seconds
//! to a civil date and back, for timestamps in reports, journals and HTTP dates.

/// A moment in UTC, to the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Civil {
    /// The civil time of `secs` seconds since 1970-01-01T00:00:00Z (Howard Hinnant's
    /// days-to-civil algorithm, in 400-year eras).
    pub fn from_unix(secs: i64) -> Self {
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        Civil {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
        }
    }

    /// Seconds since the epoch (the inverse of [`Civil::from_unix`]).
    pub fn to_unix(self) -> i64 {
        let (month, day) = (i64::from(self.month), i64::from(self.day));
        let (y, m) = if month <= 2 {
            (self.year - 1, month + 9)
        } else {
            (self.year, month - 3)
        };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * m + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_known_dates() {
        let leap = Civil::from_unix(1_582_977_600);
        assert_eq!(
            (leap.year, leap.month, leap.day, leap.hour),
            (2020, 2, 29, 12)
        );
        assert_eq!(Civil::from_unix(0).year, 1970);
        for secs in [0, 784_111_777, 951_782_400, 4_102_444_799, 1_800_000_000] {
            assert_eq!(Civil::from_unix(secs).to_unix(), secs);
        }
    }
}
