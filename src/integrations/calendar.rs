//! The NYSE calendar: trading days, holidays, early closes and option expiration days. Crypto
//! trades every day, so only stocks and options consult it. Rules, not a table, so it does not
//! run out; the tests pin the published 2025–2027 holidays.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid calendar date")
}

/// The `n`th `weekday` of a month (1-based).
fn nth_weekday(y: i32, m: u32, weekday: Weekday, n: u32) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(y, m, weekday, n as u8).expect("nth weekday exists")
}

fn last_weekday(y: i32, m: u32, weekday: Weekday) -> NaiveDate {
    let mut d = if m == 12 {
        date(y + 1, 1, 1)
    } else {
        date(y, m + 1, 1)
    } - Duration::days(1);
    while d.weekday() != weekday {
        d -= Duration::days(1);
    }
    d
}

/// Easter Sunday (anonymous Gregorian algorithm).
fn easter(y: i32) -> NaiveDate {
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    date(y, month as u32, day as u32)
}

/// A fixed-date holiday as observed: Saturday → Friday, Sunday → Monday.
fn observed(d: NaiveDate) -> NaiveDate {
    match d.weekday() {
        Weekday::Sat => d - Duration::days(1),
        Weekday::Sun => d + Duration::days(1),
        _ => d,
    }
}

/// Whether NYSE is closed all day on `d` for a holiday (weekends aside).
pub fn is_holiday(d: NaiveDate) -> bool {
    let y = d.year();
    // New Year's Day on a Saturday is not moved to the Friday before (NYSE rule 7.2).
    let new_year = date(y, 1, 1);
    let new_year_observed = if new_year.weekday() == Weekday::Sun {
        new_year + Duration::days(1)
    } else {
        new_year
    };
    let mut holidays = vec![
        new_year_observed,
        nth_weekday(y, 1, Weekday::Mon, 3),
        nth_weekday(y, 2, Weekday::Mon, 3),
        easter(y) - Duration::days(2),
        last_weekday(y, 5, Weekday::Mon),
        observed(date(y, 7, 4)),
        nth_weekday(y, 9, Weekday::Mon, 1),
        nth_weekday(y, 11, Weekday::Thu, 4),
        observed(date(y, 12, 25)),
    ];
    if y >= 2022 {
        holidays.push(observed(date(y, 6, 19)));
    }
    holidays.contains(&d)
}

/// Whether NYSE trades on `d`.
pub fn is_trading_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !is_holiday(d)
}

/// Whether `d` is a trading day that closes at 13:00 New York time: the day after Thanksgiving,
/// Christmas Eve, and July 3 when Independence Day falls on a weekday after it.
pub fn is_early_close(d: NaiveDate) -> bool {
    if !is_trading_day(d) {
        return false;
    }
    let y = d.year();
    let after_thanksgiving = nth_weekday(y, 11, Weekday::Thu, 4) + Duration::days(1);
    let july_3 = date(y, 7, 3);
    d == after_thanksgiving
        || d == date(y, 12, 24)
        || (d == july_3 && !matches!(date(y, 7, 4).weekday(), Weekday::Sat | Weekday::Sun))
}

/// The last trading day strictly before `d`.
pub fn previous_trading_day(d: NaiveDate) -> NaiveDate {
    let mut p = d - Duration::days(1);
    while !is_trading_day(p) {
        p -= Duration::days(1);
    }
    p
}

/// Whether US Eastern time is on daylight saving on `d` (second Sunday of March to first Sunday
/// of November).
fn is_eastern_dst(d: NaiveDate) -> bool {
    let start = nth_weekday(d.year(), 3, Weekday::Sun, 2);
    let end = nth_weekday(d.year(), 11, Weekday::Sun, 1);
    d >= start && d < end
}

/// When the session of trading day `d` closes, in UTC (16:00 New York, 13:00 on early closes).
pub fn session_close(d: NaiveDate) -> DateTime<Utc> {
    let hour_et = if is_early_close(d) { 13 } else { 16 };
    let offset = if is_eastern_dst(d) { 4 } else { 5 };
    Utc.from_utc_datetime(&d.and_hms_opt(hour_et + offset, 0, 0).expect("valid hour"))
}

/// When the session of trading day `d` opens, in UTC (09:30 New York).
pub fn session_open(d: NaiveDate) -> DateTime<Utc> {
    let offset = if is_eastern_dst(d) { 4 } else { 5 };
    Utc.from_utc_datetime(&d.and_hms_opt(9 + offset, 30, 0).expect("valid hour"))
}

/// The last completed or running session's date at `at`: today if the market has opened today,
/// otherwise the last trading day before.
pub fn current_session(at: DateTime<Utc>) -> NaiveDate {
    let today = at.date_naive();
    if is_trading_day(today) && at >= session_open(today) {
        today
    } else {
        previous_trading_day(today)
    }
}

/// The expiration day of the weekly options of the week ending `friday`: the Friday, or the
/// trading day before it when the Friday is a holiday (e.g. Good Friday → Thursday).
pub fn weekly_expiry(friday: NaiveDate) -> NaiveDate {
    if is_trading_day(friday) {
        friday
    } else {
        previous_trading_day(friday)
    }
}

/// Whether listed options can expire on `d` (a trading day; weeklies and monthlies alike).
pub fn is_expiration_day(d: NaiveDate) -> bool {
    let friday = match d.weekday() {
        Weekday::Fri => d,
        w => d + Duration::days(4 - i64::from(w.num_days_from_monday())),
    };
    weekly_expiry(friday) == d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nyse_holidays_2025_to_2027() {
        let holidays = [
            (2025, 1, 1),
            (2025, 1, 20),
            (2025, 2, 17),
            (2025, 4, 18),
            (2025, 5, 26),
            (2025, 6, 19),
            (2025, 7, 4),
            (2025, 9, 1),
            (2025, 11, 27),
            (2025, 12, 25),
            (2026, 1, 1),
            (2026, 1, 19),
            (2026, 2, 16),
            (2026, 4, 3),
            (2026, 5, 25),
            (2026, 6, 19),
            (2026, 7, 3),
            (2026, 9, 7),
            (2026, 11, 26),
            (2026, 12, 25),
            (2027, 1, 1),
            (2027, 1, 18),
            (2027, 2, 15),
            (2027, 3, 26),
            (2027, 5, 31),
            (2027, 6, 18),
            (2027, 7, 5),
            (2027, 9, 6),
            (2027, 11, 25),
            (2027, 12, 24),
        ];
        for (y, m, d) in holidays {
            assert!(is_holiday(date(y, m, d)), "{y}-{m}-{d} is a holiday");
            assert!(!is_trading_day(date(y, m, d)));
        }
        let count = |y| {
            (1..=366)
                .filter_map(|n| NaiveDate::from_yo_opt(y, n))
                .filter(|d| is_holiday(*d))
                .count()
        };
        assert_eq!(count(2025), 10);
        assert_eq!(count(2026), 10);
        assert!(!is_trading_day(date(2026, 11, 28)), "a Saturday");
        assert!(is_trading_day(date(2026, 11, 27)));
        // 2022-01-01 was a Saturday: no Friday holiday before it.
        assert!(is_trading_day(date(2021, 12, 31)));
    }

    #[test]
    fn early_closes_and_sessions() {
        assert!(is_early_close(date(2026, 11, 27)), "day after Thanksgiving");
        assert!(is_early_close(date(2026, 12, 24)));
        assert!(is_early_close(date(2025, 7, 3)));
        assert!(!is_early_close(date(2026, 7, 2)), "July 4th 2026 is a Saturday");
        assert_eq!(
            session_close(date(2026, 11, 27)).to_rfc3339(),
            "2026-11-27T18:00:00+00:00"
        );
        assert_eq!(
            session_close(date(2026, 11, 30)).to_rfc3339(),
            "2026-11-30T21:00:00+00:00"
        );
        assert_eq!(
            session_close(date(2026, 7, 1)).to_rfc3339(),
            "2026-07-01T20:00:00+00:00"
        );
        let sunday = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
        assert_eq!(current_session(sunday), date(2026, 11, 27));
        let monday_early = Utc.with_ymd_and_hms(2026, 11, 30, 13, 0, 0).unwrap();
        assert_eq!(current_session(monday_early), date(2026, 11, 27));
    }

    #[test]
    fn expiries_fall_on_real_expiration_days() {
        assert!(is_expiration_day(date(2026, 12, 18)));
        assert!(!is_expiration_day(date(2027, 1, 1)), "New Year's Day");
        assert!(!is_expiration_day(date(2026, 12, 19)), "a Saturday");
        assert_eq!(
            weekly_expiry(date(2026, 4, 3)),
            date(2026, 4, 2),
            "Good Friday → Thursday"
        );
        assert!(is_expiration_day(date(2026, 4, 2)));
        assert_eq!(weekly_expiry(date(2026, 12, 25)), date(2026, 12, 24));
    }
}
