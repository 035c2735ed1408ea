//! The residual check run on scrubbed text before release: what it flags in raw text, that it
//! passes placeholders, and its counts.

use holdout_prepare::detect::{ResidualCounts, ResidualKind, count_residuals, residual_pii};
use holdout_prepare::scrub::{PiiType, Scrubber};

/// The residual kinds found in `text`, in text order.
fn kinds(scrubber: &Scrubber, text: &str) -> Vec<ResidualKind> {
    residual_pii(scrubber, text).iter().map(|r| r.kind).collect()
}

#[test]
fn flags_long_numbers_however_written() {
    let scrubber = Scrubber::new();
    for text in [
        "1 9 4 3 2 0 1 7 1 8 5",
        "一三八一二三四五六七八",
        "幺三八 幺两三四 五六七八",
        "１３８－１２３４－５６７８",
        "138.1234.5678",
        "(020)8888-6666",
        "订单号 4 0 0 8 2 0 8 8 2 0",
        "1、3、8、1、2、3、4",
    ] {
        let found = residual_pii(&scrubber, text);
        assert!(found.iter().any(|r| r.kind == ResidualKind::LongDigits), "{text}: {found:?}");
        let long = found.iter().find(|r| r.kind == ResidualKind::LongDigits).unwrap();
        assert!(text.is_char_boundary(long.start) && text.is_char_boundary(long.end));
        // Scrubbed, nothing is left.
        let clean = scrubber.scrub(text).text;
        assert_eq!(residual_pii(&scrubber, &clean), [], "{text} -> {clean}");
    }
    assert_eq!(kinds(&scrubber, "1234567"), [ResidualKind::LongDigits, ResidualKind::FirstPass(PiiType::LongNumber)]);
}

#[test]
fn passes_placeholders_and_ordinary_numbers() {
    let scrubber = Scrubber::new();
    for text in [
        "我的电话是[手机号]，有事找我",
        "[手机号] [手机号] [身份证号]",
        "2024-07-17 14:30:00",
        "3000-5000元",
        "一直没人管，两个月了",
        "",
    ] {
        assert_eq!(residual_pii(&scrubber, text), [], "{text}");
    }
}

#[test]
fn reports_what_the_scrubber_would_still_find() {
    let scrubber = Scrubber::new();
    assert_eq!(kinds(&scrubber, "邮箱abc@qq.com"), [ResidualKind::FirstPass(PiiType::Email)]);
    assert_eq!(kinds(&scrubber, "香港身份证Z683365(A)"), [ResidualKind::FirstPass(PiiType::HkId)]);
    assert_eq!(kinds(&scrubber, "QQ号 12345"), [ResidualKind::FirstPass(PiiType::Qq)]);
}

#[test]
fn counts_add_up_over_texts() {
    let scrubber = Scrubber::new();
    let mut counts = ResidualCounts::default();
    assert_eq!(count_residuals(&scrubber, "没有问题", &mut counts), 0);
    assert_eq!(count_residuals(&scrubber, "手机13812345678，邮箱abc@qq.com", &mut counts), 3);
    assert_eq!(count_residuals(&scrubber, "1 2 3 4 5 6 7", &mut counts), 2);
    assert_eq!(counts.long_digits, 2);
    assert_eq!(counts.first_pass.get(&PiiType::Mobile), Some(&1));
    assert_eq!(counts.first_pass.get(&PiiType::LongNumber), Some(&1));
    assert_eq!(counts.total(), 5);
    assert!(!counts.is_empty() && ResidualCounts::default().is_empty());
    assert_eq!(
        serde_json::to_value(&counts).unwrap(),
        serde_json::json!({"long_digits": 2, "first_pass": {"mobile": 1, "email": 1, "long_number": 1}})
    );
    let residual = residual_pii(&scrubber, "QQ号 12345").remove(0);
    assert_eq!(
        serde_json::to_value(residual).unwrap(),
        serde_json::json!({"kind": {"first_pass": "qq"}, "start": 6, "end": 11})
    );
}

/// The two methods agree on random text made of digits in every script, separators, units and
/// words: whatever the scrubber leaves, the residual check finds no long number in it, and the
/// scrubber never changes a text in which the residual check finds nothing at all.
#[test]
fn scrubbed_random_text_has_no_long_digits() {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const ALPHABET: [&str; 44] = [
        "1",
        "3",
        "8",
        "0",
        "2",
        "5",
        "9",
        "１",
        "８",
        "一",
        "三",
        "八",
        "〇",
        "零",
        "幺",
        "两",
        "伍",
        " ",
        "　",
        ".",
        "-",
        " - ",
        "—",
        "－",
        "·",
        "、",
        "，",
        "。",
        "(",
        ")",
        "（",
        "）",
        "年",
        "元",
        "个",
        "直",
        "些",
        "X",
        "E",
        "A",
        "QQ",
        "身份证",
        "卡号",
        "¥",
    ];
    let scrubber = Scrubber::new();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    for _ in 0..30_000 {
        let len = rng.gen_range(0..40);
        let text: String = (0..len).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())]).collect();
        let clean = scrubber.scrub(&text).text;
        let left = residual_pii(&scrubber, &clean);
        assert!(!left.iter().any(|r| r.kind == ResidualKind::LongDigits), "{text:?} -> {clean:?}: {left:?}");
        if residual_pii(&scrubber, &text).is_empty() {
            assert_eq!(clean, text);
        }
    }
}
