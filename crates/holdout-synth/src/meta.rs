//! Collection metadata as the survey platform records it: submission time profile, fill
//! duration, device, user agent, IP address and `WeChat` openid.

use std::fmt::Write as _;

use rand::Rng;

use crate::draw::{chance, normal, pick};

/// Operating systems in the schema's level order.
pub(crate) const OS_ANDROID: u8 = 0;
pub(crate) const OS_IOS: u8 = 1;
pub(crate) const OS_WINDOWS: u8 = 2;
pub(crate) const OS_MAC: u8 = 3;
pub(crate) const OS_LINUX: u8 = 4;
/// Browsers in the schema's level order.
pub(crate) const BR_WECHAT: u8 = 0;
pub(crate) const BR_CHROME: u8 = 1;
pub(crate) const BR_SAFARI: u8 = 2;
pub(crate) const BR_EDGE: u8 = 3;
pub(crate) const BR_QQ: u8 = 4;
pub(crate) const BR_UC: u8 = 5;
pub(crate) const BR_FIREFOX: u8 = 6;

/// Device and network of one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Device {
    pub os: u8,
    pub browser: u8,
    pub ua: String,
    pub ip: [u8; 4],
    pub openid: Option<String>,
}

/// Submission volume over the ten-day window: busiest on the first two and last two days,
/// with daily peaks late morning, mid afternoon and evening.
pub(crate) struct TimeProfile {
    /// Cumulative share of submissions at the end of each hour of the window.
    cumulative: Vec<f64>,
}

impl TimeProfile {
    pub fn new(hours: usize) -> TimeProfile {
        const HOUR: [f64; 24] = [
            0.9, 0.45, 0.25, 0.18, 0.15, 0.2, 0.45, 1.0, 1.8, 2.6, 3.4, 3.6, 3.0, 2.4, 2.7, 3.3, 3.4, 2.8, 2.4, 2.8,
            3.4, 3.6, 3.0, 1.8,
        ];
        let days = hours.div_ceil(24);
        let mut cumulative = Vec::with_capacity(hours);
        let mut acc = 0.0;
        for h in 0..hours {
            let day = h / 24;
            let day_weight = match (day, days - 1 - day) {
                (0, _) | (_, 0) => 1.6,
                (1, _) | (_, 1) => 1.25,
                _ => 0.85,
            };
            acc += day_weight * HOUR[h % 24];
            cumulative.push(acc);
        }
        for c in &mut cumulative {
            *c /= acc;
        }
        TimeProfile { cumulative }
    }

    /// Seconds since the window opened at which a share `u` of the submissions is in.
    pub fn seconds_at(&self, u: f64) -> f64 {
        let h = self.cumulative.partition_point(|&c| c < u).min(self.cumulative.len() - 1);
        let lo = if h == 0 { 0.0 } else { self.cumulative[h - 1] };
        let within = if self.cumulative[h] > lo { (u - lo) / (self.cumulative[h] - lo) } else { 0.0 };
        (h as f64 + within.clamp(0.0, 1.0)) * 3600.0
    }
}

/// Fill duration of a genuine respondent in ms: log-normal, median ≈ 210 s (public) and ≈ 1.3×
/// that for the longer practitioner questionnaire, never below 75 s.
pub(crate) fn genuine_duration_ms(rng: &mut impl Rng, practitioner: bool) -> u32 {
    let median: f64 = if practitioner { 255.0 } else { 196.0 };
    loop {
        let secs = (median.ln() + 0.66 * normal(rng)).exp();
        if (75.0..7200.0).contains(&secs) {
            return (secs * 1000.0) as u32 + rng.gen_range(0..1000);
        }
    }
}

const ANDROID_MODELS: [&str; 16] = [
    "V2203A",
    "PJZ110",
    "23049RAD8C",
    "ALN-AL00",
    "M2012K11AC",
    "SM-S9180",
    "PHB110",
    "NOH-AN00",
    "2211133C",
    "V2309A",
    "RMX3562",
    "PGT-AN10",
    "CMA-AN00",
    "22081212C",
    "LIO-AN00",
    "V2227A",
];
const IOS_VERSIONS: [&str; 6] = ["17_5_1", "17_4", "16_7_8", "17_3_1", "17_6", "15_8"];
/// First octets of address blocks allocated to Chinese ISPs (CNNIC).
const CN_FIRST_OCTETS: [u8; 26] = [
    36, 39, 42, 49, 58, 59, 60, 61, 101, 106, 110, 111, 112, 113, 114, 115, 116, 117, 119, 120, 121, 123, 171, 180,
    183, 223,
];

pub(crate) fn random_ip(rng: &mut impl Rng) -> [u8; 4] {
    [CN_FIRST_OCTETS[rng.gen_range(0..CN_FIRST_OCTETS.len())], rng.r#gen(), rng.r#gen(), rng.gen_range(1..255)]
}

/// A `WeChat` openid: 28 characters starting with `o`, from the base64url alphabet.
pub(crate) fn openid(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::with_capacity(28);
    s.push('o');
    for _ in 0..27 {
        s.push(ALPHABET[rng.gen_range(0..64)] as char);
    }
    s
}

/// A genuine respondent's device: mostly phones, mostly inside `WeChat`.
pub(crate) fn genuine_device(rng: &mut impl Rng) -> Device {
    let os = pick(rng, &[62.0, 30.0, 6.0, 1.0, 0.3, 0.7]) as u8;
    let mobile = os == OS_ANDROID || os == OS_IOS;
    let browser = if mobile {
        if chance(rng, 0.9) {
            BR_WECHAT
        } else {
            [BR_CHROME, BR_SAFARI, BR_QQ, BR_UC][pick(rng, &[2.0, if os == OS_IOS { 5.0 } else { 0.0 }, 2.0, 1.0])]
        }
    } else if chance(rng, 0.3) {
        BR_WECHAT
    } else {
        [BR_CHROME, BR_EDGE, BR_QQ, BR_FIREFOX, BR_SAFARI]
            [pick(rng, &[5.0, 3.0, 1.5, 0.5, if os == OS_MAC { 3.0 } else { 0.0 }])]
    };
    let ua = user_agent(rng, os, browser);
    let openid = (browser == BR_WECHAT).then(|| openid(rng));
    Device { os, browser, ua, ip: random_ip(rng), openid }
}

fn user_agent(rng: &mut impl Rng, os: u8, browser: u8) -> String {
    let chrome = [116, 118, 120, 122, 124, 126][rng.gen_range(0..6)];
    let mut ua = String::with_capacity(300);
    match os {
        OS_ANDROID => {
            let model = ANDROID_MODELS[rng.gen_range(0..ANDROID_MODELS.len())];
            let android = [10, 11, 12, 13, 14][rng.gen_range(0..5)];
            let _ = write!(
                ua,
                "Mozilla/5.0 (Linux; Android {android}; {model} Build/{}.{:06}.{:03}; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/{chrome}.0.{}.{} Mobile Safari/537.36",
                ["TP1A", "UKQ1", "SKQ1", "RKQ1"][rng.gen_range(0..4)],
                rng.gen_range(220_101..240_630),
                rng.gen_range(1..20),
                rng.gen_range(5000..6500),
                rng.gen_range(10..200)
            );
            if browser == BR_WECHAT {
                let _ = write!(
                    ua,
                    " XWEB/{} MMWEBSDK/20240404 MMWEBID/{} MicroMessenger/8.0.{}.{}(0x{:08X}) WeChat/arm64 Weixin NetType/{} Language/zh_CN ABI/arm64",
                    rng.gen_range(1_160_000..1_260_000),
                    rng.gen_range(1000..10_000),
                    rng.gen_range(47..51),
                    rng.gen_range(2500..2700),
                    0x2800_3000 + rng.gen_range(0..0x400u32),
                    ["WIFI", "WIFI", "4G", "5G"][rng.gen_range(0..4)]
                );
            } else if browser == BR_QQ {
                ua.push_str(" MQQBrowser/14.8 Mobile");
            } else if browser == BR_UC {
                ua.push_str(" UCBrowser/16.6.2.1245 Mobile");
            }
        }
        OS_IOS => {
            let v = IOS_VERSIONS[rng.gen_range(0..IOS_VERSIONS.len())];
            let _ = write!(
                ua,
                "Mozilla/5.0 (iPhone; CPU iPhone OS {v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
            );
            match browser {
                BR_WECHAT => {
                    let _ = write!(
                        ua,
                        " MicroMessenger/8.0.{}(0x{:08X}) NetType/{} Language/zh_CN",
                        rng.gen_range(47..51),
                        0x1800_3000 + rng.gen_range(0..0x200u32),
                        ["WIFI", "4G", "5G"][rng.gen_range(0..3)]
                    );
                }
                BR_CHROME => {
                    let _ = write!(ua, " CriOS/{chrome}.0.{}.{}", rng.gen_range(5000..6500), rng.gen_range(10..200));
                }
                BR_QQ => ua.push_str(" MQQBrowser/14.8.0 Mobile"),
                _ => ua.push_str(" Version/17.5 Safari/604.1"),
            }
        }
        _ => {
            let platform = match os {
                OS_WINDOWS => "Windows NT 10.0; Win64; x64",
                OS_MAC => "Macintosh; Intel Mac OS X 10_15_7",
                OS_LINUX => "X11; Linux x86_64",
                _ => "X11; U; Linux armv7l",
            };
            let _ = write!(
                ua,
                "Mozilla/5.0 ({platform}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 Safari/537.36"
            );
            match browser {
                BR_EDGE => {
                    let _ = write!(ua, " Edg/{chrome}.0.{}.{}", rng.gen_range(2000..2600), rng.gen_range(10..120));
                }
                BR_QQ => ua.push_str(" QQBrowser/12.8.5600.400"),
                BR_WECHAT => ua.push_str(
                    " NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63090a13) XWEB/11177 Flue",
                ),
                BR_FIREFOX => {
                    ua.clear();
                    let _ = write!(ua, "Mozilla/5.0 ({platform}; rv:128.0) Gecko/20100101 Firefox/128.0");
                }
                _ => {}
            }
        }
    }
    ua
}

/// User agents of scripted submissions: headless Chrome or one fixed desktop string.
pub(crate) fn bot_user_agent(rng: &mut impl Rng) -> (u8, String) {
    if chance(rng, 0.5) {
        (
            OS_LINUX,
            format!(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/{}.0.{}.{} Safari/537.36",
                [120, 124, 126][rng.gen_range(0..3)],
                rng.gen_range(6000..6500),
                rng.gen_range(50..130)
            ),
        )
    } else {
        (OS_WINDOWS, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36".to_owned())
    }
}
