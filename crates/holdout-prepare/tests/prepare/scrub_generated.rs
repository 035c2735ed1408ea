//! A corpus generated from the rules people write numbers by: every kind of identifying number
//! × every way of writing its digits (ASCII, full-width, Chinese numerals and their variants,
//! a mix) × every separator between them, inside Chinese sentences. After scrubbing, the
//! independent residual check finds nothing and the number's digits are gone. And a corpus of
//! ordinary numbers and words (dates, ranges, years, counts, 一些, 两个) that must survive.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use holdout_prepare::detect::residual_pii;
use holdout_prepare::scrub::{PiiType, Scrubber};
use holdout_synth::{luhn_check, mod11_2_check};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn scrubber() -> &'static Scrubber {
    static SCRUBBER: OnceLock<Scrubber> = OnceLock::new();
    SCRUBBER.get_or_init(Scrubber::new)
}

/// A piece of a written identifier: digits (split by separators) or fixed text (`(`, `E`, `+`).
#[derive(Debug, Clone)]
enum Part {
    Digits(String),
    Text(&'static str),
    Owned(String),
}

/// One generated identifier: its parts, the digits that must disappear, and sentences to put
/// it in (`{}` is the identifier).
#[derive(Debug, Clone)]
struct Item {
    kind: &'static str,
    /// The placeholder type it should get (reported, not required: removal is what counts).
    pii: PiiType,
    parts: Vec<Part>,
    secret: String,
    templates: &'static [&'static str],
}

const FORMS: [&str; 6] = ["ascii", "fullwidth", "chinese", "chinese_variants", "financial", "mixed"];

/// Separators between digit groups; `every digit` puts a space between all digits.
const SEPARATORS: [(&str, &str); 12] = [
    ("none", ""),
    ("space", " "),
    ("every_digit", " "),
    ("dot", "."),
    ("dash", "-"),
    ("spaced_dash", " - "),
    ("em_dash", "—"),
    ("fullwidth_dash", "－"),
    ("middle_dot", "·"),
    ("ideographic_space", "\u{3000}"),
    ("enumeration_comma", "、"),
    ("fullwidth_comma", "，"),
];

fn write_digit(form: &str, d: char, rng: &mut ChaCha8Rng) -> char {
    let v = d.to_digit(10).unwrap() as usize;
    match form {
        "ascii" => d,
        "fullwidth" => char::from_u32(u32::from(d) + 0xFEE0).unwrap(),
        "chinese" => "〇一二三四五六七八九".chars().nth(v).unwrap(),
        "chinese_variants" => "零幺两三四五六七八九".chars().nth(v).unwrap(),
        "financial" => "零壹贰叁肆伍陆柒捌玖".chars().nth(v).unwrap(),
        _ => {
            let form = ["ascii", "fullwidth", "chinese", "chinese_variants", "financial"].choose(rng).unwrap();
            write_digit(form, d, rng)
        }
    }
}

/// The identifier as written in `form` with `separator`.
fn write(item: &Item, form: &str, separator: &str, every_digit: bool, rng: &mut ChaCha8Rng) -> String {
    let mut out = String::new();
    let mut previous_digits = false;
    for part in &item.parts {
        match part {
            Part::Digits(group) => {
                if previous_digits {
                    out.push_str(separator);
                }
                for (k, d) in group.chars().enumerate() {
                    if every_digit && k > 0 {
                        out.push(' ');
                    }
                    out.push(if d.is_ascii_digit() { write_digit(form, d, rng) } else { d });
                }
                previous_digits = true;
            }
            Part::Text(text) => {
                out.push_str(text);
                previous_digits = false;
            }
            Part::Owned(text) => {
                out.push_str(text);
                previous_digits = false;
            }
        }
    }
    out
}

fn digits(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + rng.gen_range(0..10u8))).collect()
}

fn groups(s: &str, lens: &[usize]) -> Vec<Part> {
    let mut at = 0;
    lens.iter()
        .map(|&l| {
            let g = Part::Digits(s[at..at + l].to_owned());
            at += l;
            g
        })
        .collect()
}

/// The MOD 11 check character of a Hong Kong identity card, written from its definition.
fn hk_check(letters: &str, body: &str) -> char {
    let mut values: Vec<u32> = letters.bytes().map(|c| u32::from(c - b'A') + 10).collect();
    if values.len() == 1 {
        values.insert(0, 36);
    }
    values.extend(body.chars().map(|c| c.to_digit(10).unwrap()));
    let sum: u32 = values.iter().zip((2..=9).rev()).map(|(v, w)| v * w).sum();
    match (11 - sum % 11) % 11 {
        10 => 'A',
        r => char::from_digit(r, 10).unwrap(),
    }
}

const PHONE_TEMPLATES: &[&str] =
    &["我的电话是{}，有事找我", "手机{}", "{}", "有事打{}，一直开机", "联系方式：{}。谢谢"];

/// One item of each kind, drawn from `rng`.
fn items(rng: &mut ChaCha8Rng) -> Vec<Item> {
    let mut out = Vec::new();
    phones(rng, &mut out);
    cards(rng, &mut out);
    documents(rng, &mut out);
    others(rng, &mut out);
    out
}

/// Mobiles, and landlines in every notation of the area code.
fn phones(rng: &mut ChaCha8Rng, out: &mut Vec<Item>) {
    let mobile = format!("1{}{}", rng.gen_range(3..=9), digits(rng, 9));
    out.push(Item {
        kind: "mobile",
        pii: PiiType::Mobile,
        parts: groups(&mobile, &[3, 4, 4]),
        secret: mobile.clone(),
        templates: PHONE_TEMPLATES,
    });

    let (area, sub) = if rng.gen_bool(0.5) {
        (
            ["010", "020", "021", "025"].choose(rng).unwrap().to_string(),
            format!("{}{}", rng.gen_range(2..=9), digits(rng, 7)),
        )
    } else {
        let sub_len = if rng.gen_bool(0.5) { 7 } else { 8 };
        (
            ["0755", "0571", "0991", "0311"].choose(rng).unwrap().to_string(),
            format!("{}{}", rng.gen_range(2..=9), digits(rng, sub_len - 1)),
        )
    };
    let sub_groups = if sub.len() == 8 { vec![4, 4] } else { vec![3, 4] };
    let secret = format!("{}{sub}", &area[1..]);
    let notations: [(&str, Vec<Part>); 6] = [
        (
            "landline_parens",
            [vec![Part::Text("("), Part::Digits(area.clone()), Part::Text(")")], groups(&sub, &sub_groups)].concat(),
        ),
        (
            "landline_fullwidth_parens",
            [vec![Part::Text("（"), Part::Digits(area.clone()), Part::Text("）")], groups(&sub, &sub_groups)].concat(),
        ),
        ("landline_area_dash", [vec![Part::Digits(area.clone())], groups(&sub, &sub_groups)].concat()),
        (
            "landline_plus86_dash",
            [vec![Part::Text("+86-"), Part::Digits(area[1..].to_owned())], groups(&sub, &sub_groups)].concat(),
        ),
        (
            "landline_plus86_space",
            [vec![Part::Text("+86 "), Part::Digits(area[1..].to_owned())], groups(&sub, &sub_groups)].concat(),
        ),
        (
            "landline_86_dash",
            [vec![Part::Text("86-"), Part::Digits(area[1..].to_owned())], groups(&sub, &sub_groups)].concat(),
        ),
    ];
    for (kind, parts) in notations {
        out.push(Item { kind, pii: PiiType::Landline, parts, secret: secret.clone(), templates: PHONE_TEMPLATES });
    }
}

/// Resident ids (valid check character) and bank cards (valid Luhn digit).
fn cards(rng: &mut ChaCha8Rng, out: &mut Vec<Item>) {
    let birth = format!("{}{:02}{:02}", rng.gen_range(1950..2010), rng.gen_range(1..=12), rng.gen_range(1..=28));
    let body = format!("{}{}{birth}{}", ["11", "31", "44", "51"].choose(rng).unwrap(), digits(rng, 4), digits(rng, 3));
    let id = format!("{body}{}", mod11_2_check(&body));
    out.push(Item {
        kind: "resident_id",
        pii: PiiType::ResidentId,
        parts: groups(&id, &[6, 8, 4]),
        secret: body.clone(),
        templates: &["身份证号{}，请保密", "我的身份证是{}", "证件号码：{}。"],
    });

    let card_len = rng.gen_range(13..=16);
    let card_body = format!("62{}", digits(rng, card_len));
    let card = format!("{card_body}{}", luhn_check(&card_body));
    let card_groups: Vec<usize> = (0..card.len()).step_by(4).map(|k| (card.len() - k).min(4)).collect();
    out.push(Item {
        kind: "bank_card",
        pii: PiiType::BankCard,
        parts: groups(&card, &card_groups),
        secret: card.clone(),
        templates: &["银行卡{}被盗刷了", "卡号：{}，请冻结", "我的账户{}"],
    });
}

/// Passports, travel permits and Hong Kong identity cards.
fn documents(rng: &mut ChaCha8Rng, out: &mut Vec<Item>) {
    let letter = *["E", "G"].choose(rng).unwrap();
    let passport = digits(rng, 8);
    out.push(Item {
        kind: "passport",
        pii: PiiType::Passport,
        parts: [vec![Part::Text(letter)], groups(&passport, &[4, 4])].concat(),
        secret: passport.clone(),
        templates: &["护照号{}，下月出国", "我的护照是{}", "{}"],
    });
    let second = *["A", "B", "D", "H"].choose(rng).unwrap();
    let passport = digits(rng, 7);
    out.push(Item {
        kind: "passport_two_letters",
        pii: PiiType::Passport,
        parts: [vec![Part::Owned(format!("E{second}"))], groups(&passport, &[3, 4])].concat(),
        secret: passport.clone(),
        templates: &["护照号{}，下月出国", "我的护照是{}"],
    });

    for (kind, letter, len, lens) in [
        ("permit_hk_macao", "C", 8, &[4, 4][..]),
        ("permit_home_return_8", "H", 8, &[4, 4]),
        ("permit_home_return_10", "M", 10, &[5, 5]),
        ("permit_taiwan_mainland", "T", 8, &[4, 4]),
    ] {
        let number = digits(rng, len);
        out.push(Item {
            kind,
            pii: PiiType::TravelPermit,
            parts: [vec![Part::Text(letter)], groups(&number, lens)].concat(),
            secret: number,
            templates: &["通行证号码{}，请保密", "我的证件{}丢了"],
        });
    }
    // Eight digits, not date-like (a date is kept when it leads a number).
    let number = format!("{}{}", rng.gen_range(3..=9), digits(rng, 7));
    out.push(Item {
        kind: "permit_taiwan_resident",
        pii: PiiType::TravelPermit,
        parts: groups(&number, &[4, 4]),
        secret: number,
        templates: &["台胞证号码{}，请保密", "我的台湾居民来往大陆通行证是{}"],
    });

    for letters in ["A", "Z", "XA"] {
        let body = loop {
            let body = digits(rng, 6);
            if hk_check(letters, &body) != 'A' {
                break body;
            }
        };
        let check = hk_check(letters, &body).to_string();
        out.push(Item {
            kind: if letters.len() == 1 { "hk_id" } else { "hk_id_two_letters" },
            pii: PiiType::HkId,
            parts: vec![
                Part::Text(letters),
                Part::Digits(body.clone()),
                Part::Text("("),
                Part::Digits(check.clone()),
                Part::Text(")"),
            ],
            secret: format!("{body}{check}"),
            templates: &["香港身份证{}，请保密", "我的身份证号码是{}"],
        });
    }
}

/// QQ numbers after their context word, and long numbers of no known kind.
fn others(rng: &mut ChaCha8Rng, out: &mut Vec<Item>) {
    let qq_len = rng.gen_range(6..=9);
    let qq = format!("{}{}", rng.gen_range(1..=9), digits(rng, qq_len));
    let qq_groups: Vec<usize> =
        if qq.len() % 2 == 0 { vec![qq.len() / 2; 2] } else { vec![qq.len() / 2, qq.len() / 2 + 1] };
    out.push(Item {
        kind: "qq",
        pii: PiiType::Qq,
        parts: groups(&qq, &qq_groups),
        secret: qq.clone(),
        templates: &["我的QQ号{}被盗了", "QQ：{}", "加扣扣{}，谢谢"],
    });

    let long_len = rng.gen_range(6..=14);
    let long = format!("{}{}", rng.gen_range(3..=9), digits(rng, long_len));
    let long_groups: Vec<usize> = (0..long.len()).step_by(4).map(|k| (long.len() - k).min(4)).collect();
    out.push(Item {
        kind: "long_number",
        pii: PiiType::LongNumber,
        parts: groups(&long, &long_groups),
        secret: long.clone(),
        templates: &["订单号{}，一直没发货", "快递单号是{}", "{}"],
    });
}

/// The text with digit-like characters mapped to ASCII and separators dropped: where a
/// number's digits would still show, however they were written.
fn digit_view(text: &str) -> String {
    text.chars()
        .filter(|c| !" \u{3000}.．-－—·、，()（）".contains(*c))
        .map(|c| match c {
            '０'..='９' => char::from_u32(u32::from(c) - 0xFEE0).unwrap(),
            _ => ["〇零", "一幺壹", "二两贰", "三叁", "四肆", "五伍", "六陆", "七柒", "八捌", "九玖"]
                .iter()
                .position(|s| s.contains(c))
                .map_or(c, |d| char::from_digit(d as u32, 10).unwrap()),
        })
        .collect()
}

#[test]
fn generated_identifiers_are_all_scrubbed() {
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    // kind → (texts, scrubbed, replaced by the kind's own placeholder)
    let mut table: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    for _round in 0..3 {
        for item in items(&mut rng) {
            for form in FORMS {
                for (name, separator) in SEPARATORS {
                    let number = write(&item, form, separator, name == "every_digit", &mut rng);
                    for template in item.templates {
                        let text = template.replace("{}", &number);
                        let scrubbed = scrubber().scrub(&text);
                        let labelled = scrubbed.found.contains(&item.pii);
                        let scrubbed = scrubbed.text;
                        let residual = residual_pii(scrubber(), &scrubbed);
                        let shown = digit_view(&scrubbed).contains(&item.secret);
                        let entry = table.entry(item.kind).or_default();
                        entry.0 += 1;
                        entry.2 += usize::from(labelled);
                        if residual.is_empty() && !shown {
                            entry.1 += 1;
                        } else {
                            misses.push(format!("{} {form} {name}: {text} -> {scrubbed} {residual:?}", item.kind));
                        }
                    }
                }
            }
        }
    }
    let mut report = String::from("kind: texts, recall, with its own placeholder\n");
    for (kind, (n, caught, labelled)) in &table {
        let rate = |k: usize| k as f64 / *n as f64;
        writeln!(report, "{kind}: {n}, {:.4}, {:.4}", rate(*caught), rate(*labelled)).unwrap();
    }
    println!("{report}");
    assert!(misses.is_empty(), "{report}\n{} misses:\n{}", misses.len(), misses[..misses.len().min(40)].join("\n"));
}

/// Ordinary numbers and words, generated and written by hand: each must come back
/// byte-identical, and the residual check must find nothing in it.
fn ordinary_texts() -> Vec<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(1817);
    let mut out: Vec<String> = [
        "2024年7月17日填写的问卷",
        "二〇二四年七月十七日",
        "二零二四年",
        "日期2024-07-17",
        "2024.07.17提交",
        "2024-07-17 14:30:00提交",
        "20240717",
        "2024-07-01—2024-07-17期间",
        "2024.07.01至2024.07.17",
        "13:00-14:00",
        "3000-5000元",
        "3000 - 5000元",
        "月薪8000—12000元",
        "¥3000-5000",
        "2019-2023",
        "2019、2020、2021年",
        "2023-2024学年",
        "满意度85.5%",
        "比去年提升了10%-20%",
        "被骗了12345.67元",
        "损失12.5万",
        "三次",
        "两个月",
        "五六个",
        "一两次",
        "四五十岁的人",
        "一二十个",
        "有一些问题",
        "一直没人管",
        "两个孩子",
        "三方平台",
        "第三方",
        "一五一十地说了",
        "三三两两",
        "乱七八糟",
        "七七八八",
        "一模一样",
        "零零散散",
        "十一二月",
        "损失了300000，两个月了还没追回",
        "花了30000，2024年又被骗",
        "被骗1234，一直没有追回",
        "打了5次，一直没人接",
        "第1、2、3题",
        "选项1，2，3",
        "第12题",
        "双11",
        "12306",
        "10086客服",
        "96110",
        "12,000元",
        "1,234,567元",
        "2024/07/17",
        "时间14:30",
        "版本 1.0.0.1",
        "iOS 17.5.1",
        "一、加强宣传；二、加大打击",
        "我是学生，希望加强网络安全教育",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for _ in 0..300 {
        let (y, m, d) = (rng.gen_range(1950..=2030), rng.gen_range(1..=12), rng.gen_range(1..=28));
        let sep = ["-", ".", "—", "－", " - "].choose(&mut rng).unwrap();
        out.push(format!("{y}{sep}{m:02}{sep}{d:02}"));
        let sep = ["-", "—", "－", " - ", "～"].choose(&mut rng).unwrap();
        out.push(format!("{y}年{m}月{d}日"));
        out.push(format!("{y}{m:02}{d:02}"));
        let low = rng.gen_range(1..100_000);
        let high = low + rng.gen_range(1..100_000);
        let unit = ["元", "块", "人", "个", "次", "万", "岁", "年"].choose(&mut rng).unwrap();
        out.push(format!("{low}{sep}{high}{unit}"));
        out.push(format!("{}%", rng.gen_range(0..=100)));
        out.push(format!("{}.{}%", rng.gen_range(0..=100), rng.gen_range(0..=99)));
        out.push(format!("{}年", rng.gen_range(1900..=2099)));
        out.push(format!("{}.{:02}元", rng.gen_range(0..1_000_000), rng.gen_range(0..100)));
        let count: String = (0..rng.gen_range(1..=2))
            .map(|_| *"一二三四五六七八九两".chars().collect::<Vec<_>>().choose(&mut rng).unwrap())
            .collect();
        out.push(format!("{count}{}", ["次", "个月", "个", "年", "天", "人"].choose(&mut rng).unwrap()));
        out.push(format!("{}，{count}个月", rng.gen_range(0..1_000_000)));
    }
    out
}

#[test]
fn ordinary_numbers_and_words_survive() {
    let mut failures = Vec::new();
    let texts = ordinary_texts();
    for text in &texts {
        let scrubbed = scrubber().scrub(text).text;
        let residual = residual_pii(scrubber(), text);
        if &scrubbed != text || !residual.is_empty() {
            failures.push(format!("{text} -> {scrubbed} {residual:?}"));
        }
    }
    println!("{} ordinary texts, {} changed or flagged", texts.len(), failures.len());
    assert!(failures.is_empty(), "{} of {}:\n{}", failures.len(), texts.len(), failures.join("\n"));
}
