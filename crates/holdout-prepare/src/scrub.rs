//! Free-text PII scrubber: finds personal data in survey comments (resident ids, phones, emails,
//! QQ and `WeChat` ids, bank cards, passports and travel permits, Hong Kong ids, IPs, URLs,
//! licence plates, names, addresses, and any other long number) and replaces every span with a
//! placeholder naming its kind.
//!
//! Detection runs on a normalized view of the text (full-width digits, letters and the symbols
//! that occur in identifiers, plus the ideographic space, mapped 1:1 to ASCII); replacement runs
//! on the original, so a text without personal data comes back byte-identical.
//!
//! Regex `\b` is never used: Unicode `\b` does not fire between a Chinese character and a digit
//! (`手机13812345678号`), and the `regex` crate has no look-around. Numbers are found by a hand
//! scanner: digits are ASCII, full-width or Chinese numerals (`一三八`, `幺`, `两`, `〇`), in
//! groups joined by any run of separators (spaces, dots, dashes, brackets, `，` `、`), and are
//! classified by length, grouping, check digits, letters before them and context words. A number
//! of seven or more digits that is none of the known kinds is replaced as a generic number,
//! unless it is one people write without identifying anyone (a date, a decimal, a range with a
//! unit, years). Every other pattern checks its neighbouring characters by hand.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use regex::Regex;
use serde::Serialize;

/// Kinds of personal data the scrubber recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiType {
    ResidentId,
    Mobile,
    Landline,
    Email,
    Qq,
    Wechat,
    BankCard,
    /// Mainland passports: `E12345678`, `G12345678`, `EA1234567`.
    Passport,
    /// Travel permits for Hong Kong, Macao and Taiwan (`C12345678`, `H1234567890`,
    /// `T12345678`, 8 digits beside `台胞证`).
    TravelPermit,
    /// Hong Kong identity cards with a valid check character: `A123456(7)`.
    HkId,
    Ip,
    Url,
    LicencePlate,
    Name,
    Address,
    /// Any other number of seven or more digits (once numerals are mapped and separators
    /// dropped) that is not a date, decimal, range or year.
    LongNumber,
}

impl PiiType {
    pub const ALL: [PiiType; 16] = [
        PiiType::ResidentId,
        PiiType::Mobile,
        PiiType::Landline,
        PiiType::Email,
        PiiType::Qq,
        PiiType::Wechat,
        PiiType::BankCard,
        PiiType::Passport,
        PiiType::TravelPermit,
        PiiType::HkId,
        PiiType::Ip,
        PiiType::Url,
        PiiType::LicencePlate,
        PiiType::Name,
        PiiType::Address,
        PiiType::LongNumber,
    ];

    /// The `snake_case` name, as serialized.
    pub fn name(self) -> &'static str {
        match self {
            PiiType::ResidentId => "resident_id",
            PiiType::Mobile => "mobile",
            PiiType::Landline => "landline",
            PiiType::Email => "email",
            PiiType::Qq => "qq",
            PiiType::Wechat => "wechat",
            PiiType::BankCard => "bank_card",
            PiiType::Passport => "passport",
            PiiType::TravelPermit => "travel_permit",
            PiiType::HkId => "hk_id",
            PiiType::Ip => "ip",
            PiiType::Url => "url",
            PiiType::LicencePlate => "licence_plate",
            PiiType::Name => "name",
            PiiType::Address => "address",
            PiiType::LongNumber => "long_number",
        }
    }

    /// What replaces a span of this kind in scrubbed text.
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiType::ResidentId => "[身份证号]",
            PiiType::Mobile => "[手机号]",
            PiiType::Landline => "[固定电话]",
            PiiType::Email => "[邮箱]",
            PiiType::Qq => "[QQ号]",
            PiiType::Wechat => "[微信号]",
            PiiType::BankCard => "[银行卡号]",
            PiiType::Passport => "[护照号]",
            PiiType::TravelPermit => "[通行证号]",
            PiiType::HkId => "[香港身份证号]",
            PiiType::Ip => "[IP地址]",
            PiiType::Url => "[网址]",
            PiiType::LicencePlate => "[车牌号]",
            PiiType::Name => "[姓名]",
            PiiType::Address => "[地址]",
            PiiType::LongNumber => "[数字]",
        }
    }
}

/// A piece of personal data: its byte range in the original text and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub start: usize,
    pub end: usize,
    pub kind: PiiType,
}

/// A scrubbed text and what was replaced in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrubbed {
    pub text: String,
    /// One entry per replaced span, in text order.
    pub found: Vec<PiiType>,
}

/// The compiled detectors. Build once, share across threads (it is `Send + Sync`).
#[derive(Debug)]
pub struct Scrubber {
    email: Regex,
    url: Regex,
    ipv4: Regex,
    ipv6: Regex,
    wxid: Regex,
    wechat: Regex,
    plate: Regex,
    landline_parens: Regex,
    name_context: Regex,
    address_number: Regex,
}

impl Default for Scrubber {
    fn default() -> Scrubber {
        Scrubber::new()
    }
}

/// Address number parts: `88号`, `3栋`, `2单元`, `501室`, `A座`, `三号楼`.
const ADDRESS_UNIT: &str = "(?:[0-9]{1,5}(?:-[0-9]{1,5})?|[一二三四五六七八九十百零〇两]{1,4}|[A-Za-z])\
                            (?:号楼|号院|号|栋|幢|座|单元|层|楼|室|户)";

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("built-in scrubber pattern {pattern:?} does not compile: {e}"))
}

impl Scrubber {
    pub fn new() -> Scrubber {
        Scrubber {
            // ASCII-only local part, so that `邮箱abc@qq.com` does not swallow the Chinese text.
            email: compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
            url: compile(r"(?i:https?://|www\.)[-A-Za-z0-9._~:/?#\[\]@!$&'*+,;=%()]+"),
            ipv4: compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}"),
            ipv6: compile(r"[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*"),
            wxid: compile(r"(?i:wxid_)[A-Za-z0-9_-]{4,30}"),
            wechat: compile(
                r"(?i:(微信号?|vx号?|v信号?|薇信|威信|加微|加v|\+v|wx|wechat|weixin))[ :是为]*([A-Za-z][-_A-Za-z0-9]{5,31})",
            ),
            plate: compile(
                "[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Za-hj-np-z][·•・ .]?\
                 (?:[A-HJ-NP-Za-hj-np-z0-9]{5,6}|[A-HJ-NP-Za-hj-np-z0-9]{4}[挂学警港澳领使])",
            ),
            landline_parens: compile(r"\(0[0-9]{2,3}\)[ -]?[2-9][0-9]{6,7}(?:-[0-9]{1,6})?"),
            name_context: compile("(我叫|名叫|名字叫|名字是|姓名|联系人|收件人|本人|我是)[ :是为]*"),
            address_number: compile(&format!("(?:{ADDRESS_UNIT})+")),
        }
    }

    /// Returns the text with every PII span replaced by its type's placeholder, and what was found.
    pub fn scrub(&self, text: &str) -> Scrubbed {
        let found = self.find(text);
        if found.is_empty() {
            return Scrubbed { text: text.to_owned(), found: Vec::new() };
        }
        let mut out = String::with_capacity(text.len() + 8 * found.len());
        let mut at = 0;
        for f in &found {
            out.push_str(&text[at..f.start]);
            out.push_str(f.kind.placeholder());
            at = f.end;
        }
        out.push_str(&text[at..]);
        Scrubbed { text: out, found: found.iter().map(|f| f.kind).collect() }
    }

    /// The personal data in `text`: non-overlapping spans of the original text, in text order.
    /// Allocates nothing when the text has no full-width characters, no digits or numerals and no
    /// personal data.
    pub fn find(&self, text: &str) -> Vec<Found> {
        let view = View::new(text);
        let t: &str = &view.text;
        let mut candidates = Vec::new();
        scan_numbers(t, &mut candidates);
        self.patterns(t, &mut candidates);
        self.names(t, &mut candidates);
        let mut spans = resolve(candidates);
        self.addresses(t, &mut spans);
        spans.sort_unstable_by_key(|f| f.start);
        for f in &mut spans {
            f.start = view.original(f.start);
            f.end = view.original(f.end);
        }
        spans
    }

    /// Emails, URLs, IP addresses, `WeChat` ids, licence plates and bracketed landlines.
    fn patterns(&self, t: &str, out: &mut Vec<Found>) {
        let b = t.as_bytes();
        let push = |out: &mut Vec<Found>, start: usize, end: usize, kind: PiiType| out.push(Found { start, end, kind });
        if t.contains('@') {
            for m in self.email.find_iter(t) {
                let lead = m.as_str().len() - m.as_str().trim_start_matches(['.', '-', '+', '%', '_']).len();
                push(out, m.start() + lead, m.end() - glued_to_tld(m.as_str()), PiiType::Email);
            }
        }
        for m in self.url.find_iter(t) {
            let s = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '(', '\'']);
            if s.len() > "www.".len() + 2 {
                push(out, m.start(), m.start() + s.len(), PiiType::Url);
            }
        }
        for m in self.ipv4.find_iter(t) {
            let (s, e) = (m.start(), m.end());
            let before = s.checked_sub(1).map(|i| b[i]);
            let glued = before.is_some_and(|c| c.is_ascii_digit() || c == b'.' || c == b'v' || c == b'V')
                || b.get(e).is_some_and(u8::is_ascii_digit)
                || (b.get(e) == Some(&b'.') && b.get(e + 1).is_some_and(u8::is_ascii_digit));
            let version = context(t, s, 8, &["版本", "version", "Version", "VERSION"]).is_some();
            if !glued && !version && m.as_str().parse::<Ipv4Addr>().is_ok() {
                push(out, s, e, PiiType::Ip);
            }
        }
        if t.contains(':') {
            for m in self.ipv6.find_iter(t) {
                let s = m.as_str().trim_end_matches('.');
                let glued = m.start().checked_sub(1).is_some_and(|i| b[i].is_ascii_alphanumeric())
                    || b.get(m.start() + s.len()).is_some_and(u8::is_ascii_alphanumeric);
                let groups = s.split(':').filter(|g| !g.is_empty()).count();
                if !glued && groups >= 2 && s.matches(':').count() >= 2 && s.parse::<Ipv6Addr>().is_ok() {
                    push(out, m.start(), m.start() + s.len(), PiiType::Ip);
                }
            }
        }
        for m in self.wxid.find_iter(t) {
            if !m.start().checked_sub(1).is_some_and(|i| b[i].is_ascii_alphanumeric()) {
                push(out, m.start(), m.end(), PiiType::Wechat);
            }
        }
        // Resume after each context word rather than after the id, so that a context word glued
        // to the end of a previous id (`wx abc123vx:def456`) still counts.
        let mut at = 0;
        while let Some(c) = self.wechat.captures_at(t, at) {
            let (Some(word), Some(id)) = (c.get(1), c.get(2)) else { break };
            at = word.end();
            // `vx`/`wx` glued to the id (`wxid_…`, `wxyz123`) is part of a word, not a context
            // word; with a separator after it, it is one even when glued to a previous word
            // (`li@126.comwx abc123`).
            let ascii_word = !word.as_str().starts_with(|ch: char| is_han(ch));
            let glued_word = ascii_word && id.start() == word.end();
            let longer = b.get(id.end()).is_some_and(|&ch| is_id_byte(ch));
            if !glued_word && !longer {
                push(out, id.start(), id.end(), PiiType::Wechat);
            }
        }
        for m in self.plate.find_iter(t) {
            let digits = m.as_str().bytes().filter(u8::is_ascii_digit).count();
            if digits >= 2 && !b.get(m.end()).is_some_and(u8::is_ascii_alphanumeric) {
                push(out, m.start(), m.end(), PiiType::LicencePlate);
            }
        }
        if t.contains('(') {
            for m in self.landline_parens.find_iter(t) {
                if !b.get(m.end()).is_some_and(u8::is_ascii_digit) {
                    push(out, m.start(), m.end(), PiiType::Landline);
                }
            }
        }
    }

    /// Names after a context word: `我叫王伟`, `姓名：王伟`, `联系人王伟`, `本人王伟，`, `我是王伟。`.
    fn names(&self, t: &str, out: &mut Vec<Found>) {
        for c in self.name_context.captures_iter(t) {
            let (Some(all), Some(word)) = (c.get(0), c.get(1)) else { continue };
            let strong = !matches!(word.as_str(), "我是" | "本人");
            if let Some(len) = name_length(&t[all.end()..], strong) {
                out.push(Found { start: all.end(), end: all.end() + len, kind: PiiType::Name });
            }
        }
    }

    /// Addresses: a run of house-number parts (`88号3栋501室`) preceded by a Chinese address
    /// cascade that names a road, street or residential community. Runs after the other kinds
    /// are resolved: an address never swallows them, it stops at their end.
    fn addresses(&self, t: &str, spans: &mut Vec<Found>) {
        let b = t.as_bytes();
        for m in self.address_number.find_iter(t) {
            let (s, mut e) = (m.start(), m.end());
            if s > 0 && b[s - 1].is_ascii_digit() {
                continue;
            }
            let run = m.as_str();
            if run.ends_with('号') && t[e..].starts_with(NOT_AFTER_HAO) {
                continue;
            }
            // A room number without `室` after a building part: `3栋2单元501`.
            if run.ends_with(['栋', '幢', '座', '元', '楼']) {
                let digits = b[e..].iter().take_while(|c| c.is_ascii_digit()).count();
                if (3..=4).contains(&digits) {
                    e += digits;
                }
            }
            if spans.iter().any(|f| f.start < e && s < f.end) {
                continue;
            }
            // A further part of the address just before (`中山北路200号江苏大厦15楼`) extends it.
            let previous = spans.iter().enumerate().filter(|(_, f)| f.end <= s).max_by_key(|(_, f)| f.end);
            if let Some((p, f)) = previous
                && f.kind == PiiType::Address
                && continues_address(&t[f.end..s])
            {
                spans[p].end = e;
                continue;
            }
            let barrier = spans.iter().filter(|f| f.end <= s).map(|f| f.end).max().unwrap_or(0);
            if let Some(start) = address_start(t, barrier, s) {
                spans.push(Found { start, end: e, kind: PiiType::Address });
            }
        }
    }
}

/// A text with full-width characters folded to ASCII, and the way back to original offsets.
struct View<'a> {
    text: Cow<'a, str>,
    /// Original byte offset of every normalized byte offset (and of the end); empty when the
    /// text needed no folding.
    offsets: Vec<usize>,
}

impl<'a> View<'a> {
    fn new(text: &'a str) -> View<'a> {
        if !text.chars().any(|c| fold(c) != c) {
            return View { text: Cow::Borrowed(text), offsets: Vec::new() };
        }
        let mut folded = String::with_capacity(text.len());
        let mut offsets = Vec::with_capacity(text.len() + 1);
        for (i, c) in text.char_indices() {
            let before = folded.len();
            folded.push(fold(c));
            offsets.resize(offsets.len() + folded.len() - before, i);
        }
        offsets.push(text.len());
        View { text: Cow::Owned(folded), offsets }
    }

    fn original(&self, i: usize) -> usize {
        if self.offsets.is_empty() { i } else { self.offsets[i] }
    }
}

/// Full-width digits, letters and identifier symbols to ASCII, the ideographic space to a space.
/// Sentence punctuation (`，` `；` `！` `？`) is left alone: it ends identifiers either way.
fn fold(c: char) -> char {
    match c {
        '０'..='９'
        | 'Ａ'..='Ｚ'
        | 'ａ'..='ｚ'
        | '＠'
        | '．'
        | '－'
        | '：'
        | '＋'
        | '（'
        | '）'
        | '＿'
        | '＃'
        | '／'
        | '％'
        | '＆'
        | '＝'
        | '～' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Letters glued after a common top-level domain (`li@126.comwx abc123`: the `wx` starts the
/// next piece of text), as a byte count to cut off the end of an email.
fn glued_to_tld(email: &str) -> usize {
    const TLDS: [&str; 6] = ["com", "net", "org", "edu", "gov", "cn"];
    const LONGER: [&str; 6] = ["company", "community", "computer", "network", "organic", "cnn"];
    let last = email.rsplit('.').next().unwrap_or_default();
    let lower = last.to_ascii_lowercase();
    if LONGER.contains(&lower.as_str()) {
        return 0;
    }
    TLDS.iter().find(|t| lower.len() > t.len() && lower.starts_with(*t)).map_or(0, |t| lower.len() - t.len())
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

fn is_id_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// Keeps the longest candidates (ties: the kind listed first in [`PiiType`]), dropping any that
/// overlap one already kept.
fn resolve(mut candidates: Vec<Found>) -> Vec<Found> {
    candidates.sort_unstable_by(|a, b| {
        (b.end - b.start).cmp(&(a.end - a.start)).then(a.kind.cmp(&b.kind)).then(a.start.cmp(&b.start))
    });
    let mut kept: Vec<Found> = Vec::with_capacity(candidates.len());
    for c in candidates {
        if kept.iter().all(|k| c.end <= k.start || k.end <= c.start) {
            kept.push(c);
        }
    }
    kept
}

/// How far (in bytes) before `pos` the nearest of `words` ends, looking back `chars` characters.
fn context(t: &str, pos: usize, chars: usize, words: &[&str]) -> Option<usize> {
    let head = &t[..pos];
    let from = head.char_indices().rev().nth(chars - 1).map_or(0, |(i, _)| i);
    let window = &head[from..];
    words.iter().filter_map(|w| window.rfind(w).map(|p| window.len() - p - w.len())).min()
}

/// Whether `t[..pos]`, after filler such as `：`, `是` and spaces, ends with one of `words`
/// (ASCII letters compared case-insensitively).
fn right_after(t: &str, pos: usize, words: &[&str]) -> bool {
    let head = t[..pos].trim_end_matches([' ', ':', '：', '是', '为', '#', '=']);
    words.iter().any(|w| {
        head.len() >= w.len() && head.is_char_boundary(head.len() - w.len()) && {
            let tail = &head[head.len() - w.len()..];
            tail.eq_ignore_ascii_case(w)
        }
    })
}

const RESIDENT_ID_WORDS: [&str; 4] = ["身份证", "证件号", "身份号", "证件"];
const CARD_WORDS: [&str; 5] = ["卡", "账号", "帐号", "账户", "帐户"];
const QQ_WORDS: [&str; 8] = ["qq", "qq号", "qq号码", "qq账号", "扣扣", "扣扣号", "企鹅号", "q号"];
const WECHAT_WORDS: [&str; 10] = ["微信", "微信号", "vx", "vx号", "v信", "薇信", "威信", "加微", "wx", "wechat"];
/// Characters of context looked at for resident ids and bank cards.
const NUMBER_CONTEXT: usize = 20;

/// The digit a character stands for (`'0'`–`'9'`), and whether it is a Chinese numeral.
/// Full-width digits are already folded to ASCII in the normalized view.
fn digit_of(c: char) -> Option<(u8, bool)> {
    let d = match c {
        '0'..='9' => return Some((c as u8, false)),
        '〇' | '零' => b'0',
        '一' | '幺' | '壹' => b'1',
        '二' | '两' | '贰' => b'2',
        '三' | '叁' => b'3',
        '四' | '肆' => b'4',
        '五' | '伍' => b'5',
        '六' | '陆' => b'6',
        '七' | '柒' => b'7',
        '八' | '捌' => b'8',
        '九' | '玖' => b'9',
        _ => return None,
    };
    Some((d, true))
}

/// Characters people put between the digits of one number: spaces, dots, dashes, brackets and
/// the full-width punctuation of a Chinese keyboard (`138　1234　5678`, `138—1234—5678`,
/// `(020)8888-6666`, `1、3、8…`). Colons, slashes and ASCII commas are not: they write times,
/// dates and thousands.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\u{a0}'
            | '\u{3000}'
            | '.'
            | '．'
            | '-'
            | '－'
            | '‐'
            | '‑'
            | '‒'
            | '–'
            | '—'
            | '―'
            | '·'
            | '•'
            | '・'
            | '，'
            | '、'
            | '。'
            | '('
            | ')'
            | '（'
            | '）'
            | '['
            | ']'
            | '【'
            | '】'
    )
}

/// Units and date words after a number: `3000-5000元`, `2024年`, `两个`.
pub(crate) const UNITS: &str = "元块角万亿千百人次个岁年月日天周时分秒米斤克件份名户家台辆张本条倍%％";
/// Characters that make words of the numerals before them: `一直`, `一些`, `三方`, `两万`.
pub(crate) const NUMERAL_WORDS: &str = "些直下起样般定切共点位层楼方面批部只成半十级等届期";

/// A maximal run of digits of one script (ASCII or Chinese numerals) inside a number.
#[derive(Debug, Clone, Copy)]
struct Group {
    /// Byte range in the normalized text.
    start: usize,
    end: usize,
    /// Range of its digits in the run's digit buffer.
    from: usize,
    to: usize,
    han: bool,
}

impl Group {
    fn len(&self) -> usize {
        self.to - self.from
    }
}

/// Letters written before a number: `E12345678`, `EA1234567`, `A123456(7)`.
#[derive(Debug, Clone, Copy)]
struct Prefix {
    start: usize,
    letters: [u8; 2],
    n: usize,
}

/// One number as written: its digit groups (joined by separators or a change of script), the
/// letters before it and a trailing `X`.
#[derive(Debug, Default)]
struct Run {
    digits: Vec<u8>,
    groups: Vec<Group>,
    lens: Vec<usize>,
    prefix: Option<Prefix>,
    /// End of a trailing `X` (resident ids), if there is one.
    x_end: Option<usize>,
    plus: bool,
}

/// The group of one script starting at `at`: (end, digit count, Chinese).
fn group_at(t: &str, at: usize) -> Option<(usize, usize, bool)> {
    let mut chars = t[at..].char_indices();
    let (_, first) = chars.next()?;
    let (_, han) = digit_of(first)?;
    let mut end = at + first.len_utf8();
    let mut n = 1;
    for (_, c) in chars {
        match digit_of(c) {
            Some((_, h)) if h == han => {
                end += c.len_utf8();
                n += 1;
            }
            _ => break,
        }
    }
    Some((end, n, han))
}

/// Whether the group at `at` (reached over separators or a change of script) continues the
/// number before it. It does not when it is a word: up to four digits followed by a unit
/// (`，2024年`, `，两个月`), or one or two Chinese numerals that make a word (`，一直`).
fn continues(t: &str, at: usize) -> bool {
    let Some((end, n, han)) = group_at(t, at) else { return false };
    let Some(next) = t[end..].chars().next() else { return true };
    !((han && n <= 2 && NUMERAL_WORDS.contains(next)) || (n <= 4 && UNITS.contains(next)))
}

impl Run {
    /// Reads the number starting at `i` (a digit) into `self`; returns where it ends.
    fn read(&mut self, t: &str, i: usize) -> usize {
        self.digits.clear();
        self.groups.clear();
        self.lens.clear();
        let mut at = i;
        while let Some((end, _, han)) = group_at(t, at) {
            let from = self.digits.len();
            self.digits.extend(t[at..end].chars().filter_map(|c| digit_of(c).map(|(d, _)| d)));
            self.groups.push(Group { start: at, end, from, to: self.digits.len(), han });
            self.lens.push(self.digits.len() - from);
            let gap = t[end..].find(|c: char| !is_separator(c)).map_or(t.len(), |k| end + k);
            if gap == t.len() || !continues(t, gap) {
                at = end;
                break;
            }
            at = gap;
        }
        let b = t.as_bytes();
        // `…002X`, `…002 X`: the check character of a resident id.
        let x_at = if matches!(b.get(at), Some(b' ' | b'-')) { at + 1 } else { at };
        self.x_end = (matches!(b.get(x_at), Some(b'X' | b'x'))
            && !b.get(x_at + 1).is_some_and(u8::is_ascii_alphanumeric))
        .then_some(x_at + 1);
        self.prefix = letter_prefix(b, i);
        self.plus = i > 0 && b[i - 1] == b'+';
        at
    }

    fn digits_of(&self, i: usize, j: usize) -> &[u8] {
        &self.digits[self.groups[i].from..self.groups[j].to]
    }

    /// Whether groups `i..=j` are written in an unusual way (one digit at a time, numerals,
    /// separators other than one space or dash): then their grouping says nothing.
    fn loose(&self, t: &str, i: usize, j: usize) -> bool {
        let g = &self.groups[i..=j];
        g.iter().any(|g| g.han || (g.len() == 1 && j > i))
            || g.windows(2).any(|w| !matches!(&t[w[0].end..w[1].start], " " | "-"))
    }
}

/// One or two ASCII letters right before the digits at `first`, glued or after one space or
/// dash, and not part of a longer word.
fn letter_prefix(b: &[u8], first: usize) -> Option<Prefix> {
    let mut end = first;
    if end >= 2 && matches!(b[end - 1], b' ' | b'-') && b[end - 2].is_ascii_alphabetic() {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && b[start - 1].is_ascii_alphabetic() && end - start < 3 {
        start -= 1;
    }
    let n = end - start;
    if n == 0 || n > 2 || (start > 0 && b[start - 1].is_ascii_alphanumeric()) {
        return None;
    }
    Some(Prefix { start, letters: [b[start].to_ascii_uppercase(), b[end - 1].to_ascii_uppercase()], n })
}

/// Finds numbers (digit groups, ASCII or Chinese, joined by separators) and classifies them.
fn scan_numbers(t: &str, out: &mut Vec<Found>) {
    let mut run = Run::default();
    let mut i = 0;
    while let Some(k) = t[i..].find(|c: char| digit_of(c).is_some()) {
        let start = i + k;
        i = run.read(t, start);
        classify_run(t, &run, out);
    }
}

/// Four dot-separated groups of at most three ASCII digits: an IPv4 address or a version,
/// left to the IP pattern (`139.12.34.178` is not a mobile).
fn dotted_quad(t: &str, run: &Run) -> bool {
    run.groups.len() == 4
        && run.groups.iter().all(|g| !g.han && g.len() <= 3)
        && run.groups.windows(2).all(|w| &t[w[0].end..w[1].start] == ".")
}

/// Splits a run into the longest classifiable segments of consecutive groups, left to right;
/// what is left over and still long is a generic number.
fn classify_run(t: &str, run: &Run, out: &mut Vec<Found>) {
    let groups = &run.groups;
    let count = groups.len();
    let mut i = 0;
    if let Some(p) = run.prefix {
        for j in (0..count).rev() {
            if let Some((kind, end)) = prefixed(t, &p, run.digits_of(0, j), groups[j].end) {
                out.push(Found { start: p.start, end, kind });
                i = j + 1;
                break;
            }
        }
    }
    // Dates lead a run (`2024-07-01—2024-07-17` is no landline); an IP address, a decimal or a
    // range is none of the known kinds, at most a generic number.
    i = leading_dates(run, i, count);
    let known = i < count && !dotted_quad(t, run) && !ordinary(t, run, i, count);
    let mut left_from = i;
    while i < count {
        let mut next = i + 1;
        let mut found = false;
        for j in (i..count).rev() {
            let digits = run.digits_of(i, j);
            if !known || digits.len() > 20 {
                continue;
            }
            let last = j + 1 == count;
            let x = last && run.x_end.is_some();
            if let Some((kind, used_x)) = classify(t, groups[i].start, digits, &run.lens[i..=j], run.loose(t, i, j), x)
            {
                let mut start = groups[i].start;
                let mut end = if used_x { run.x_end.unwrap_or(groups[j].end) } else { groups[j].end };
                if i == 0 && run.plus && matches!(kind, PiiType::Mobile | PiiType::Landline) {
                    start -= 1;
                }
                if kind == PiiType::Landline {
                    if start > 0 && t.as_bytes()[start - 1] == b'(' && t[start..end].contains(')') {
                        start -= 1;
                    }
                    end += extension(&t[end..]);
                }
                long_numbers(t, run, left_from, i, out);
                out.push(Found { start, end, kind });
                next = j + 1;
                left_from = next;
                found = true;
                break;
            }
        }
        if !found && i + 1 == count {
            long_numbers(t, run, left_from, count, out);
        }
        i = next;
    }
}

/// Byte length of a landline extension written `转801` at the start of `rest`, or 0.
fn extension(rest: &str) -> usize {
    let Some(digits) = rest.strip_prefix('转') else { return 0 };
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=6).contains(&n) { '转'.len_utf8() + n } else { 0 }
}

/// Words before a travel permit written as digits only (台湾居民来往大陆通行证: 8 digits).
const PERMIT_WORDS: [&str; 4] = ["台胞证", "台湾居民来往大陆通行证", "通行证", "回乡证"];

/// A passport, travel permit or Hong Kong identity card: letters, then the digits `d` ending at
/// `end`. Returns the kind and the end of its span.
fn prefixed(t: &str, p: &Prefix, d: &[u8], end: usize) -> Option<(PiiType, usize)> {
    let letters = &p.letters[..p.n];
    let kind = match (letters, d.len()) {
        // Mainland passports: E or G + 8 digits, or E + a letter + 7 digits.
        ([b'E' | b'G'], 8) => PiiType::Passport,
        ([b'E', l], 7) if l.is_ascii_uppercase() => PiiType::Passport,
        // Hong Kong/Macao permits (C, W), Taiwan (T), home-return permits (H, M).
        ([b'C' | b'T' | b'W'], 8) | ([b'H' | b'M'], 8 | 10) => PiiType::TravelPermit,
        _ => {
            // Context words, not a card's letters: `QQ1234567`, `vx1234567`.
            if matches!(letters, [b'Q' | b'V'] | [b'Q', b'Q'] | [b'V' | b'W', b'X'] | [b'I', b'D'] | [b'N', b'O']) {
                return None;
            }
            let rest = &t[end..];
            return match d.len() {
                7 if hk_check(letters, &d[..6]) == d[6] => {
                    Some((PiiType::HkId, end + usize::from(rest.starts_with(')'))))
                }
                6 if hk_check(letters, d) == b'A' => {
                    let tail = ["(A)", " (A)", "A"].iter().find(|s| rest.starts_with(**s))?;
                    let after = rest.as_bytes().get(tail.len());
                    (!after.is_some_and(u8::is_ascii_alphanumeric)).then_some((PiiType::HkId, end + tail.len()))
                }
                _ => None,
            };
        }
    };
    Some((kind, end))
}

/// The MOD 11 check character of a Hong Kong identity card: one or two letters and six digits.
fn hk_check(letters: &[u8], body: &[u8]) -> u8 {
    let value = |c: u8| u32::from(c - b'A') + 10;
    let (a, b) = match *letters {
        [l] => (36, value(l)),
        [l, m] => (value(l), value(m)),
        _ => return 0,
    };
    let sum = 9 * a + 8 * b + body.iter().zip((2..=7).rev()).map(|(&c, w)| u32::from(c - b'0') * w).sum::<u32>();
    match (11 - sum % 11) % 11 {
        10 => b'A',
        r => b'0' + r as u8,
    }
}

/// Groups `from..to` of a run that no kind claimed: a generic number if, after the ordinary
/// numbers people write (dates, decimals, ranges with a unit, years), seven or more digits are
/// left.
fn long_numbers(t: &str, run: &Run, from: usize, to: usize, out: &mut Vec<Found>) {
    let from = leading_dates(run, from, to);
    if from < to && run.groups[to - 1].to - run.groups[from].from >= 7 && !ordinary(t, run, from, to) {
        out.push(Found { start: run.groups[from].start, end: run.groups[to - 1].end, kind: PiiType::LongNumber });
    }
}

/// Skips the dates that lead groups `from..to`: `2024-07-17 14:30`, `2024.07.01—2024.07.17`,
/// `20240717`.
fn leading_dates(run: &Run, mut from: usize, to: usize) -> usize {
    while from < to {
        let g = &run.groups[from..to];
        let digits = |k: usize| &run.digits[g[k].from..g[k].to];
        if g[0].len() == 8 && ymd(&digits(0)[..4], &digits(0)[4..6], &digits(0)[6..]) {
            from += 1;
        } else if g.len() >= 3
            && g[0].len() == 4
            && (1..=2).contains(&g[1].len())
            && (1..=2).contains(&g[2].len())
            && ymd(digits(0), digits(1), digits(2))
        {
            from += 3;
        } else {
            break;
        }
    }
    from
}

/// Whether groups `from..to` (not empty) are a number nobody is identified by however long:
/// years, a decimal, or a range with a unit or currency.
fn ordinary(t: &str, run: &Run, from: usize, to: usize) -> bool {
    let g = &run.groups[from..to];
    let digits = |k: usize| &run.digits[g[k].from..g[k].to];
    let year = |d: &[u8]| d.len() == 4 && (1900..=2099).contains(&number(d));
    // Years: `2019-2023`, `2019、2020、2021年`.
    (g.len() >= 2 && (0..g.len()).all(|k| year(digits(k))))
        || (g.len() == 2 && {
            let sep = &t[g[0].end..g[1].start];
            let (a, b) = (digits(0), digits(1));
            // A decimal: `12345.67元`.
            (sep == "." && a.len() <= 6 && b.len() <= 2)
                // A range with a unit or a currency: `3000-5000元`, `¥3000 - 5000`.
                || (sep.trim().chars().count() == 1
                    && sep.contains(['-', '—', '–', '－'])
                    && a.len() <= 6
                    && b.len() <= 6
                    && number(a) < number(b)
                    && (t[g[1].end..].trim_start().starts_with(|c: char| UNITS.contains(c))
                        || t[..g[0].start].ends_with(['¥', '￥', '$'])))
        })
}

fn ymd(y: &[u8], m: &[u8], d: &[u8]) -> bool {
    date_ok(number(y), number(m), number(d)) && (1900..=2099).contains(&number(y))
}

/// What a segment of digits (`d`, written in groups of `lens` from byte `start`) is, if
/// anything; the flag says whether a trailing `X` belongs to it. `loose`: the grouping is not
/// one people use for any kind (digit by digit, numerals), so it is not checked.
fn classify(t: &str, start: usize, d: &[u8], lens: &[usize], loose: bool, x: bool) -> Option<(PiiType, bool)> {
    let len = d.len();
    let id_context = || context(t, start, NUMBER_CONTEXT, &RESIDENT_ID_WORDS);

    if x && len == 17 {
        let mut id = [0u8; 18];
        id[..17].copy_from_slice(d);
        id[17] = b'X';
        let (structure, date, check) = resident_id_18(&id);
        if (structure && date && check) || (id_context().is_some() && (date || check)) {
            return Some((PiiType::ResidentId, true));
        }
    }
    if is_mobile(d, lens, loose) {
        return Some((PiiType::Mobile, false));
    }
    let grouped_like_id = loose || lens.iter().all(|&l| l >= 2);
    let card_grouped = loose || card_grouping(lens);
    let long = match len {
        18 => eighteen_digits(t, start, d, grouped_like_id, card_grouped),
        15 if grouped_like_id && (resident_id_prefix(d) || id_context().is_some()) && legacy_date(d) => {
            Some(PiiType::ResidentId)
        }
        16 | 17 | 19
            if card_grouped
                && (context(t, start, NUMBER_CONTEXT, &CARD_WORDS).is_some() || (card_prefix(d) && luhn_ok(d))) =>
        {
            Some(PiiType::BankCard)
        }
        8 if context(t, start, NUMBER_CONTEXT, &PERMIT_WORDS).is_some() => Some(PiiType::TravelPermit),
        _ => None,
    };
    if let Some(kind) = long {
        return Some((kind, false));
    }
    if is_landline(d, lens, loose) {
        return Some((PiiType::Landline, false));
    }
    // Right after its context word a QQ number may be typed in groups (`QQ号码1234 5678`).
    if (5..=11).contains(&len) && d[0] != b'0' && grouped_like_id {
        if right_after(t, start, &QQ_WORDS) {
            return Some((PiiType::Qq, false));
        }
        if right_after(t, start, &WECHAT_WORDS) {
            return Some((PiiType::Wechat, false));
        }
    }
    None
}

/// An 18-digit number is a resident id or a bank card: the nearer context word decides, then
/// the check characters (a wrong MOD 11-2 check still counts beside `身份证`, and a card failing
/// Luhn beside `卡号`: some Chinese cards do).
fn eighteen_digits(t: &str, start: usize, d: &[u8], grouped_like_id: bool, card_grouped: bool) -> Option<PiiType> {
    let (structure, date, check) = resident_id_18(d);
    let id_near = context(t, start, NUMBER_CONTEXT, &RESIDENT_ID_WORDS);
    let card_near = context(t, start, NUMBER_CONTEXT, &CARD_WORDS);
    let id_nearer = id_near.is_some_and(|a| card_near.is_none_or(|c| a <= c));
    if grouped_like_id && id_nearer && (date || check) {
        Some(PiiType::ResidentId)
    } else if card_near.is_some() && card_grouped {
        Some(PiiType::BankCard)
    } else if grouped_like_id && structure && date && check {
        Some(PiiType::ResidentId)
    } else if card_grouped && card_prefix(d) && luhn_ok(d) {
        Some(PiiType::BankCard)
    } else {
        None
    }
}

/// `1[3-9]` + 9 digits, optionally after `86`/`0086`, written whole or grouped 3-4-4, 3-8 or 7-4
/// (any way when `loose`).
fn is_mobile(d: &[u8], lens: &[usize], loose: bool) -> bool {
    let prefix = match d.len() {
        11 => 0,
        13 if d.starts_with(b"86") => 2,
        15 if d.starts_with(b"0086") => 4,
        _ => return false,
    };
    let body = &d[prefix..];
    if body[0] != b'1' || !(b'3'..=b'9').contains(&body[1]) {
        return false;
    }
    if loose {
        return true;
    }
    let mut shape = [0usize; 4];
    let mut n = 0;
    let mut skip = prefix;
    for &l in lens {
        if skip >= l {
            // The prefix is a group of its own (`+86 138…`); a prefix split over groups is not.
            if skip > l {
                return false;
            }
            skip = 0;
            continue;
        }
        if n == shape.len() {
            return false;
        }
        shape[n] = l - skip;
        skip = 0;
        n += 1;
    }
    matches!(&shape[..n], [11] | [3, 4, 4] | [3, 8] | [7, 4])
}

/// A landline, also after the country code `86`/`0086` written as a group of its own
/// (`+86 20 8888 6666`, `86-755-86123456`; the area code's `0` may be dropped there).
fn is_landline(d: &[u8], lens: &[usize], loose: bool) -> bool {
    for cc in [&b"0086"[..], b"86"] {
        if d.len() >= cc.len() + 9 && d.starts_with(cc) && (loose || lens[0] == cc.len()) {
            let body = &d[cc.len()..];
            let rest = if lens[0] == cc.len() { &lens[1..] } else { &lens[..0] };
            if body[0] == b'0' {
                return domestic_landline(body, rest, loose || rest.is_empty());
            }
            let mut with_zero = [b'0'; 24];
            if body.len() >= with_zero.len() {
                return false;
            }
            with_zero[1..=body.len()].copy_from_slice(body);
            let mut lens0 = [0usize; 24];
            if rest.len() > lens0.len() {
                return false;
            }
            lens0[..rest.len()].copy_from_slice(rest);
            if let Some(first) = lens0.first_mut() {
                *first += 1;
            }
            return domestic_landline(&with_zero[..=body.len()], &lens0[..rest.len()], loose || rest.is_empty());
        }
    }
    domestic_landline(d, lens, loose)
}

/// `0` + area code (`010`, `02x`, or four digits `0[3-9]xx`) + a 7–8-digit subscriber number not
/// starting with 0 or 1, whole or grouped, with an optional extension group.
fn domestic_landline(d: &[u8], lens: &[usize], loose: bool) -> bool {
    if d.len() < 10 || d[0] != b'0' {
        return false;
    }
    let area = match d[1] {
        b'1' if d[2] == b'0' => 3,
        b'2' => 3,
        b'3'..=b'9' => 4,
        _ => return false,
    };
    if !(b'2'..=b'9').contains(&d[area]) {
        return false;
    }
    if loose {
        return d.len() == area + 7 || d.len() == area + 8;
    }
    match *lens {
        [whole] => whole == area + 8 || (area == 4 && whole == 11),
        [a, sub] => a == area && (7..=8).contains(&sub),
        [a, x, y] => a == area && (((7..=8).contains(&x) && (1..=6).contains(&y)) || ((3..=4).contains(&x) && y == 4)),
        [a, s1, s2, ext] => a == area && (3..=4).contains(&s1) && s2 == 4 && (1..=6).contains(&ext),
        _ => false,
    }
}

/// A card number is written whole, in groups of four (the last one shorter), or as 6 + rest.
fn card_grouping(lens: &[usize]) -> bool {
    match lens {
        [_] | [6, _] => true,
        [init @ .., last] => init.iter().all(|&l| l == 4) && (1..=4).contains(last),
        [] => false,
    }
}

/// `UnionPay` (62) and co-branded Visa (4) or Mastercard (5) numbers.
fn card_prefix(d: &[u8]) -> bool {
    d.starts_with(b"62") || d[0] == b'4' || d[0] == b'5'
}

fn number(d: &[u8]) -> u32 {
    d.iter().fold(0, |acc, &c| acc * 10 + u32::from(c - b'0'))
}

fn date_ok(year: u32, month: u32, day: u32) -> bool {
    if !(1850..=2099).contains(&year) || !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= days
}

/// A province-level code (GB/T 2260) at the start, or `9` + one for foreigners' permanent ids.
fn resident_id_prefix(d: &[u8]) -> bool {
    let province =
        |p: &[u8]| matches!(number(&p[..2]), 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83);
    province(d) || (d[0] == b'9' && province(&d[1..]))
}

/// (plausible address prefix, real birth date, correct check character) of 18 characters.
fn resident_id_18(d: &[u8]) -> (bool, bool, bool) {
    let date = date_ok(number(&d[6..10]), number(&d[10..12]), number(&d[12..14]));
    let check = check_char(&d[..17]) == d[17].to_ascii_uppercase();
    (resident_id_prefix(d), date, check)
}

/// A legacy 15-digit id carries `YYMMDD` of a 20th-century birth at positions 7–12.
fn legacy_date(d: &[u8]) -> bool {
    date_ok(1900 + number(&d[6..8]), number(&d[8..10]), number(&d[10..12]))
}

/// ISO 7064 MOD 11-2 check character of 17 ASCII digits.
fn check_char(first17: &[u8]) -> u8 {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(&c, w)| u32::from(c - b'0') * w).sum();
    b"10X98765432"[(sum % 11) as usize]
}

fn luhn_ok(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &c)| {
            let v = u32::from(c - b'0');
            if i % 2 == 1 { if v * 2 > 9 { v * 2 - 9 } else { v * 2 } } else { v }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The ISO 7064 MOD 11-2 check character (`0`–`9` or `X`) of the first 17 digits of a resident
/// identity number, or `None` if `first17` is not 17 ASCII digits.
pub fn resident_id_check(first17: &str) -> Option<char> {
    let d = first17.as_bytes();
    (d.len() == 17 && d.iter().all(u8::is_ascii_digit)).then(|| char::from(check_char(d)))
}

/// Whether a string of at least two ASCII digits passes the Luhn check.
pub fn luhn_valid(digits: &str) -> bool {
    let d = digits.as_bytes();
    d.len() >= 2 && d.iter().all(u8::is_ascii_digit) && luhn_ok(d)
}

/// Whether `id` is a resident identity number: 18 characters with a plausible province prefix,
/// a real birth date and a correct check character (`X` or `x`), or the legacy 15-digit form
/// with a plausible prefix and a real birth date.
pub fn is_resident_id(id: &str) -> bool {
    let d = id.as_bytes();
    match d.len() {
        18 if d[..17].iter().all(u8::is_ascii_digit) && (d[17].is_ascii_digit() || d[17] == b'X' || d[17] == b'x') => {
            resident_id_18(d) == (true, true, true)
        }
        15 if d.iter().all(u8::is_ascii_digit) => resident_id_prefix(d) && legacy_date(d),
        _ => false,
    }
}

/// Common surnames (百家姓, the most frequent ones). Characters that are mostly ordinary words
/// (和, 时, 文, 明, 高 …) are left out: after `我是` they would turn phrases into names.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁\
                        任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙陶黎贺顾毛郝龚邵万钱严覃\
                        武戴莫孔向汤常康施牛樊葛邢齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿焦俞左柳甘祝包宁尚符舒阮柯纪梅\
                        童凌毕季裴霍涂苗谷盛翁冉骆蓝辛靳管柴鲍喻祁蒲滕屈饶牟艾尤穆卓缪芦麦褚娄窦戚岑景党宫费卜冷晏\
                        席卫米柏宗瞿桂佟臧闵苟邬卞姬仇栾隋刁巫寇桑郎甄丛仲虞敖巩佘池邝";
const COMPOUND_SURNAMES: [&str; 20] = [
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "令狐", "司徒", "夏侯", "轩辕",
    "端木", "独孤", "南宫", "西门", "宇文", "呼延",
];
/// Characters that end a name after a strong context word (`我叫王伟今年30岁`).
const NAME_STOP: &str = "的是在今年岁住电手身家我了和从来现老先女男工学联号说也就都不被请今天";
/// Characters that, after a weak context word (`我是`, `本人`), show the words are not a name.
const NOT_GIVEN: &str =
    "族牛中生师人们个里日天时后前上下很太会要去到与员长者业户民众方面用网络感觉认为得好多少些种样么啥谁哪这那该其次";

/// Words that may follow a name without punctuation (`本人王伟身份证号…`).
const NAME_FOLLOWERS: [&str; 16] = [
    "身份证",
    "证件",
    "电话",
    "手机",
    "联系",
    "家住",
    "住在",
    "今年",
    "性别",
    "男",
    "女",
    "微信",
    "邮箱",
    "银行卡",
    "卡号",
    "出生",
];

/// Places that start with a surname character: `我是江西，` is not a name.
const PLACE_NAMES: [&str; 54] = [
    "万宁",
    "包头",
    "吕梁",
    "吴忠",
    "周口",
    "唐山",
    "娄底",
    "宁夏",
    "宁德",
    "宁波",
    "岳阳",
    "常州",
    "常德",
    "张家口",
    "张家界",
    "张掖",
    "徐州",
    "景德镇",
    "林芝",
    "柳州",
    "桂林",
    "梅州",
    "武威",
    "武汉",
    "毕节",
    "江苏",
    "江西",
    "江门",
    "池州",
    "沈阳",
    "焦作",
    "甘肃",
    "白城",
    "白山",
    "白杨",
    "白银",
    "石嘴山",
    "石家庄",
    "石河子",
    "秦皇岛",
    "胡杨河",
    "苏州",
    "许昌",
    "贺州",
    "邢台",
    "邵阳",
    "郑州",
    "金华",
    "金昌",
    "马鞍山",
    "黄冈",
    "黄山",
    "黄石",
    "龙岩",
];

/// Byte length of a 2–3 character name (3–4 with a compound surname) at the start of `rest`.
/// After a weak context word the name must be followed by a non-Han character or the end.
fn name_length(rest: &str, strong: bool) -> Option<usize> {
    let mut chars = ['\0'; 5];
    let mut ends = [0usize; 6];
    let mut n = 0;
    for (i, c) in rest.char_indices().take(5) {
        chars[n] = c;
        ends[n + 1] = i + c.len_utf8();
        n += 1;
    }
    let surname = if n >= 2 && COMPOUND_SURNAMES.iter().any(|s| rest.starts_with(s)) {
        2
    } else if n >= 1 && SURNAMES.contains(chars[0]) {
        1
    } else {
        return None;
    };
    let given_ok = |k: usize| {
        k <= n
            && chars[surname..k]
                .iter()
                .all(|&c| is_han(c) && !NAME_STOP.contains(c) && (strong || !NOT_GIVEN.contains(c)))
    };
    let boundary = |k: usize| {
        (k == n && n < 5)
            || (k < n && (!is_han(chars[k]) || NAME_FOLLOWERS.iter().any(|w| rest[ends[k]..].starts_with(w))))
    };
    let lengths = (surname + 1..=surname + 2).rev();
    let place = |k: usize| !strong && PLACE_NAMES.contains(&&rest[..ends[k]]);
    if let Some(k) = lengths.clone().find(|&k| given_ok(k) && boundary(k) && !place(k)) {
        return Some(ends[k]);
    }
    if strong { lengths.into_iter().find(|&k| given_ok(k)).map(|k| ends[k]) } else { None }
}

/// What `号` followed by these is not: a metro line, a number, a shop, a seat, a date word.
const NOT_AFTER_HAO: [char; 16] =
    ['线', '码', '店', '机', '位', '车', '次', '字', '床', '窗', '台', '人', '文', '令', '称', '角'];
/// Words that end the text before an address (`家住`, `我在`, `地址：`).
const ADDRESS_STOPS: [&str; 19] = [
    "在", "住", "是", "的", "到", "我", "了", "址", "位于", "老家", "家乡", "这个", "那个", "我们", "他们", "你们",
    "咱们", "这里", "那里",
];
/// Road, street and community words; an address must name one of them.
const ROAD_WORDS: [&str; 22] = [
    "路", "街", "大道", "巷", "弄", "胡同", "村", "小区", "花园", "家园", "公寓", "大厦", "苑", "园", "城", "广场",
    "社区", "庄", "屯", "湾", "大院", "宿舍",
];
/// Characters an address cascade may span before its house number.
const MAX_ADDRESS_CHARS: usize = 40;

/// Whether the text between two house-number runs belongs to one address: a few Han
/// characters or letters, no punctuation, no stop word.
fn continues_address(gap: &str) -> bool {
    gap.chars().count() <= 12
        && gap.chars().all(|c| is_han(c) || c.is_ascii_alphanumeric())
        && !ADDRESS_STOPS.iter().any(|w| gap.contains(w))
}

/// Where the address cascade that ends at `run` starts: Han characters, ASCII letters and digits
/// back to punctuation, `barrier` or a stop word, if they name a road or community.
fn address_start(t: &str, barrier: usize, run: usize) -> Option<usize> {
    let mut from = run;
    for (count, (i, c)) in t[barrier..run].char_indices().rev().enumerate() {
        if count == MAX_ADDRESS_CHARS || !(is_han(c) || c.is_ascii_alphanumeric() || c == '·') {
            break;
        }
        from = barrier + i;
    }
    let left = &t[from..run];
    let cut = ADDRESS_STOPS.iter().filter_map(|w| left.rfind(w).map(|p| p + w.len())).max().unwrap_or(0);
    let left = &left[cut..];
    // The road or community needs a name before it: `小区3栋` alone locates nobody.
    ROAD_WORDS.iter().any(|w| left.match_indices(w).any(|(p, _)| p > 0)).then_some(from + cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_characters_match_published_examples() {
        assert_eq!(resident_id_check("11010519491231002"), Some('X'));
        assert!(is_resident_id("11010519491231002X") && is_resident_id("11010519491231002x"));
        assert!(is_resident_id("110101202311012176") && is_resident_id("440524188001010014"));
        assert!(!is_resident_id("110101202311012177"));
        assert!(luhn_valid("79927398713") && !luhn_valid("79927398710"));
    }

    #[test]
    fn hong_kong_check_characters_match_published_examples() {
        assert_eq!(hk_check(b"A", b"123456"), b'3');
        assert_eq!(hk_check(b"Z", b"683365"), b'A');
        assert_eq!(hk_check(b"AB", b"987654"), b'3');
    }

    #[test]
    fn scrubber_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Scrubber>();
        let _ = Scrubber::new();
    }
}
