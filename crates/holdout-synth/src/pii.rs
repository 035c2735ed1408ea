//! Free-text comments, some of them carrying personal data written the way people write it:
//! glued to Chinese text, in full-width digits, with spaces or dashes inside numbers.

use std::fmt::Write as _;

use rand::Rng;

use crate::draw::{chance, pick};
use crate::geo::City;

/// Kinds of personal data a comment may contain (bit flags, recorded in the truth file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiiKind {
    ResidentId = 1,
    Mobile = 2,
    Email = 4,
    Qq = 8,
    Wechat = 16,
    BankCard = 32,
    Address = 64,
    Name = 128,
}

impl PiiKind {
    pub const ALL: [PiiKind; 8] = [
        PiiKind::ResidentId,
        PiiKind::Mobile,
        PiiKind::Email,
        PiiKind::Qq,
        PiiKind::Wechat,
        PiiKind::BankCard,
        PiiKind::Address,
        PiiKind::Name,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PiiKind::ResidentId => "resident_id",
            PiiKind::Mobile => "mobile",
            PiiKind::Email => "email",
            PiiKind::Qq => "qq",
            PiiKind::Wechat => "wechat",
            PiiKind::BankCard => "bank_card",
            PiiKind::Address => "address",
            PiiKind::Name => "name",
        }
    }
}

const OPINIONS: [&str; 24] = [
    "希望加大对电信诈骗的打击力度",
    "现在骚扰电话太多了，每天都接到推销电话",
    "个人信息泄露问题很严重，希望严格监管",
    "建议加强未成年人网络保护，游戏防沉迷要落实",
    "网络环境比去年好了很多，点赞",
    "希望平台落实责任，及时处理举报",
    "老年人容易上当受骗，需要多宣传反诈知识",
    "短视频里的虚假广告太多了",
    "APP过度收集个人信息，权限要求太多",
    "希望简化网络举报流程，反馈太慢",
    "网络暴力需要立法治理",
    "总体感觉安全感提升了，继续努力",
    "数字政府服务很方便，办事少跑腿",
    "希望加强数据安全保护，防止数据被盗",
    "刷单兼职诈骗还是很多，学生容易被骗",
    "建议学校多开展网络安全教育",
    "没有意见",
    "无",
    "很好",
    "希望网络更加清朗",
    "快递信息泄露后经常收到诈骗短信",
    "有些网站的隐私政策太长了看不懂",
    "希望打击黑灰产，保护消费者权益",
    "问卷题目有点多",
];
const SURNAMES: [&str; 16] =
    ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭"];
const GIVEN: [&str; 16] =
    ["伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超"];
const STREETS: [&str; 10] =
    ["人民路", "解放路", "建设路", "中山路", "和平路", "新华路", "文化路", "胜利路", "长江路", "黄河路"];
const DISTRICTS: [&str; 6] = ["城关区", "高新区", "新城区", "经开区", "滨江区", "南山区"];

/// A comment and the kinds of personal data it contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comment {
    pub text: String,
    pub pii: u32,
}

/// Writes a comment; with probability `pii_share` it carries one or two pieces of personal data
/// consistent with the respondent (birth year from `age`, area code from `city`).
pub(crate) fn comment(
    rng: &mut impl Rng,
    pii_share: f64,
    city: &City,
    province: &str,
    age: u8,
    female: bool,
) -> Comment {
    let mut text = String::from(OPINIONS[rng.gen_range(0..OPINIONS.len())]);
    if chance(rng, 0.3) {
        text.push('，');
        text.push_str(OPINIONS[rng.gen_range(0..OPINIONS.len())]);
    }
    let mut pii = 0;
    if chance(rng, pii_share) {
        let pieces = if chance(rng, 0.2) { 2 } else { 1 };
        for _ in 0..pieces {
            let kind = PiiKind::ALL[pick(rng, &[2.0, 3.0, 1.5, 1.5, 1.5, 1.0, 1.0])];
            text.push_str(match rng.gen_range(0..3) {
                0 => "。",
                1 => "，",
                _ => "",
            });
            pii |= kind as u32;
            match kind {
                PiiKind::ResidentId => {
                    let id = resident_id(rng, city, age, female);
                    let id = obfuscate(rng, &id, &[6, 14]);
                    if chance(rng, 0.5) {
                        let name = name(rng);
                        pii |= PiiKind::Name as u32;
                        let _ = write!(
                            text,
                            "本人{name}，身份证号{id}，被骗了{}元，请帮忙追回",
                            rng.gen_range(2..200) * 100
                        );
                    } else {
                        let _ = write!(text, "身份证{id}被冒用注册了账号");
                    }
                }
                PiiKind::Mobile => {
                    let m = mobile(rng);
                    let m = obfuscate(rng, &m, &[3, 7]);
                    let _ = write!(
                        text,
                        "{}{m}{}",
                        ["我的手机号", "电话", "手机：", "联系方式", "有事打我电话"][rng.gen_range(0..5)],
                        ["", "，希望有关部门联系我", "谢谢", "（微信同号）"][rng.gen_range(0..4)]
                    );
                    if text.ends_with("（微信同号）") {
                        pii |= PiiKind::Wechat as u32;
                    }
                }
                PiiKind::Email => {
                    let _ = write!(
                        text,
                        "{}{}",
                        ["邮箱", "我的邮箱是", "欢迎发邮件到", "email:"][rng.gen_range(0..4)],
                        email(rng)
                    );
                }
                PiiKind::Qq => {
                    let qq = qq_number(rng);
                    let qq = obfuscate(rng, &qq, &[]);
                    let _ = write!(
                        text,
                        "{}{qq}{}",
                        ["我的QQ号", "QQ：", "扣扣", "q号"][rng.gen_range(0..4)],
                        ["被盗了", "", "经常收到诈骗消息"][rng.gen_range(0..3)]
                    );
                }
                PiiKind::Wechat => {
                    let _ = write!(
                        text,
                        "{}{}",
                        ["有问题可以加我微信", "vx:", "微信号：", "wx "][rng.gen_range(0..4)],
                        wechat_id(rng)
                    );
                }
                PiiKind::BankCard => {
                    let card = bank_card(rng);
                    let groups: Vec<usize> = (4..card.len()).step_by(4).collect();
                    let card = obfuscate(rng, &card, &groups);
                    let _ = write!(text, "我的银行卡{card}被盗刷了");
                }
                // Names only ever appear beside a resident id (above); the weight of `Name` is 0.
                PiiKind::Address | PiiKind::Name => {
                    let _ = write!(
                        text,
                        "家住{province}{}{}{}{}号{}栋{}室，附近经常有人发诈骗传单",
                        if city.name == province { "" } else { &city.name },
                        DISTRICTS[rng.gen_range(0..DISTRICTS.len())],
                        STREETS[rng.gen_range(0..STREETS.len())],
                        rng.gen_range(1..300),
                        rng.gen_range(1..30),
                        rng.gen_range(1..30) * 100 + rng.gen_range(1..5)
                    );
                    pii |= PiiKind::Address as u32;
                }
            }
        }
    }
    Comment { text, pii }
}

fn name(rng: &mut impl Rng) -> String {
    let mut n = String::from(SURNAMES[rng.gen_range(0..SURNAMES.len())]);
    n.push_str(GIVEN[rng.gen_range(0..GIVEN.len())]);
    if chance(rng, 0.5) {
        n.push_str(GIVEN[rng.gen_range(0..GIVEN.len())]);
    }
    n
}

/// An 18-digit resident identity number with a valid ISO 7064 MOD 11-2 check character.
pub(crate) fn resident_id(rng: &mut impl Rng, city: &City, age: u8, female: bool) -> String {
    let year = 2024 - i32::from(age) - i32::from(rng.gen_bool(0.5));
    let mut body = format!(
        "{}{:02}{year}{:02}{:02}{:02}",
        city.code,
        rng.gen_range(1..9),
        rng.gen_range(1..=12),
        rng.gen_range(1..=28),
        rng.gen_range(0..100)
    );
    // The 17th digit is odd for men and even for women.
    let mut gender_digit = rng.gen_range(0..5) * 2;
    if !female {
        gender_digit += 1;
    }
    let _ = write!(body, "{gender_digit}");
    body.push(mod11_2_check(&body));
    body
}

/// The check character of the first 17 digits of a resident identity number.
pub fn mod11_2_check(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.chars().filter_map(|c| c.to_digit(10)).zip(WEIGHTS).map(|(d, w)| d * w).sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

fn mobile(rng: &mut impl Rng) -> String {
    const PREFIXES: [&str; 16] = [
        "130", "133", "135", "136", "138", "139", "150", "152", "158", "159", "176", "177", "180", "186", "188", "199",
    ];
    format!("{}{:08}", PREFIXES[rng.gen_range(0..PREFIXES.len())], rng.gen_range(0..100_000_000))
}

fn qq_number(rng: &mut impl Rng) -> String {
    let digits = rng.gen_range(6..=10);
    let low = 10u64.pow(digits - 1);
    rng.gen_range(low..low * 10).to_string()
}

fn email(rng: &mut impl Rng) -> String {
    const DOMAINS: [&str; 6] = ["qq.com", "163.com", "126.com", "sina.com", "gmail.com", "foxmail.com"];
    const SYLLABLES: [&str; 12] =
        ["zhang", "wang", "li", "xiao", "ming", "hua", "jun", "lin", "yu", "chen", "hao", "jie"];
    let domain = DOMAINS[pick(rng, &[4.0, 3.0, 1.5, 0.5, 0.5, 0.5])];
    if domain == "qq.com" && chance(rng, 0.6) {
        return format!("{}@qq.com", qq_number(rng));
    }
    let mut local = String::new();
    for _ in 0..rng.gen_range(1..3) {
        local.push_str(SYLLABLES[rng.gen_range(0..SYLLABLES.len())]);
    }
    if chance(rng, 0.7) {
        let _ = write!(local, "{}", rng.gen_range(1..2000));
    }
    format!("{local}@{domain}")
}

fn wechat_id(rng: &mut impl Rng) -> String {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    if chance(rng, 0.4) {
        let mut s = String::from("wxid_");
        for _ in 0..14 {
            s.push(ALNUM[rng.gen_range(0..ALNUM.len())] as char);
        }
        return s;
    }
    let mut s = String::new();
    s.push((b'a' + rng.gen_range(0..26)) as char);
    for _ in 0..rng.gen_range(5..12) {
        s.push(ALNUM[rng.gen_range(0..ALNUM.len())] as char);
    }
    if chance(rng, 0.3) {
        s.push('_');
        let _ = write!(s, "{}", rng.gen_range(10..99));
    }
    s
}

/// A UnionPay-style card number (prefix 62, 16 or 19 digits) with a valid Luhn check digit.
pub(crate) fn bank_card(rng: &mut impl Rng) -> String {
    let len = if chance(rng, 0.7) { 19 } else { 16 };
    let mut digits = String::from(["6222", "6228", "6217", "6212", "6214"][rng.gen_range(0..5)]);
    while digits.len() < len - 1 {
        digits.push((b'0' + rng.gen_range(0..10)) as char);
    }
    digits.push(luhn_check(&digits));
    digits
}

/// The Luhn check digit to append to `body`.
pub fn luhn_check(body: &str) -> char {
    let sum: u32 = body
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    char::from_digit((10 - sum % 10) % 10, 10).unwrap_or('0')
}

/// Writes a number the way people type it: plain, with spaces or dashes at `breaks`, or in
/// full-width digits.
fn obfuscate(rng: &mut impl Rng, digits: &str, breaks: &[usize]) -> String {
    let style = pick(rng, &[0.55, 0.15, 0.12, 0.18]);
    let mut out = String::with_capacity(digits.len() * 3);
    for (i, c) in digits.chars().enumerate() {
        if breaks.contains(&i) {
            match style {
                1 => out.push(' '),
                2 => out.push('-'),
                _ => {}
            }
        }
        if style == 3 && c.is_ascii_digit() {
            out.push(char::from_u32(u32::from(c) - u32::from('0') + 0xFF10).unwrap_or(c));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_match_published_examples() {
        // GB 11643-1999 example number.
        assert_eq!(mod11_2_check("11010519491231002"), 'X');
        assert_eq!(luhn_check("7992739871"), '3');
    }
}
