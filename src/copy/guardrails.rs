//! Guardrails: the checks every piece of model copy passes before a shopper sees it.
//!
//! Invariants:
//! - [`check`] is pure: same copy, facts, brand list and config → same [`Verdict`]. No I/O.
//! - Checks run in a fixed order and the first failure is the reason, so a verdict is stable.
//! - Copy passes only if every number in it appears in the product's facts (in English copy also
//!   a number written as a word, `two days`: [`NUMBER_WORDS`]), every percentage is
//!   the product's discount (or a percentage the facts state), only the store's currency is
//!   named, no other catalog brand is named, and it carries nothing that looks like shopper data
//!   (URL, e-mail, phone, a digit run long enough to be a loyalty number).
//! - Prices are judged in their role (see `price_claim_failure`): an amount presented as what the
//!   shopper pays ("now", "just", "only", "for", "at", or on its own) is the selling price; a
//!   comparison ("was", "instead of", "down from", "reduced from", "originally") is the list price,
//!   which is above the price; a saving ("save ₹190", "₹190 off") is list − price; a discount
//!   ("29% off", "save 29%") is the catalog's. A product without a list price makes no comparison
//!   or discount claim at all ([`Reason::FakeDiscount`]); any other misuse is
//!   [`Reason::WrongPriceRole`]; so is an amount the price is said to be above (`just over`,
//!   `more than`: no catalog figure is one), and so is the price written as a measure (`175ml`
//!   for a mug at ₹175: [`crate::numbers::unit_after`]). English copy says no amount in words no figure
//!   backs (`a few dollars less`, `a third of the original`, `the price of just over two`:
//!   [`AmountWords`], the engine's gate keeps to the same rule while the model writes) and sets
//!   its price beside no other thing's (`for less than the price of a smartphone`:
//!   [`PRICE_COMPARISONS`], barred while the model writes too). No copy claims a stock level,
//!   which the kiosk does not know (`only a few left`, `sold out`, `库存有限`: [`STOCK_CLAIMS`]).
//! - Numbers are found by the crate's one scanner ([`crate::numbers`]), the same the engine's
//!   number gate uses, on the same folded text (NFKC per character: `４５９` is `459`, `￥` is
//!   `¥`).
//! - Nothing is said twice in a row that the facts do not say so ([`said_twice`]: a word, a
//!   Chinese bigram, a symbol), nor a phrase again or a word too often ([`Repeats`]); the
//!   engine's gate writes none by the same definition.
//! - [`Reason::code`] strings are stable: they are counted, logged and reported to HQ.
//!
//! Chinese copy (`locale = "zh-CN"`, [`GuardrailConfig::locale`]):
//! - Length is counted in characters (grapheme clusters, `zh_min_chars`..=`zh_max_chars`), not
//!   words; Han letters count as the locale's script (no `min_latin_ratio` rejection).
//! - On topic by shared character bigrams with the product's name, brand, category and details;
//!   repetition by character n-grams (`超轻超轻`, a bigram more than `zh_max_bigram_repeats`
//!   times, a four-character phrase twice, a list's item or clause twice).
//! - Brands, banned phrases and absolute claims match without spaces inside CJK text, and a
//!   Chinese phrase is found with spaces or marks between its characters (`原 价`, `原/价` are
//!   `原价`: [`crate::numbers::cjk_word_gap`]); a Latin
//!   part of a mixed name (`OPPO Enco Air3`, `小米 14 Pro`) still needs whole-word boundaries
//!   against Latin letters and digits.
//! - Prices as Chinese copy writes them: `¥`/`￥`, `元`, `RMB`, `人民币`, full-width digits, in their
//!   role (现价/只要/仅售 the price, 原价/原来, and a price word just after 原 (`原装价格`), the
//!   list price, 省/立减 the saving); a bare number right after such a word is money even where
//!   the facts have it (`原版价20`), and without a list price the word itself is a discount claim
//!   (`原在价钱上便宜`: [`crate::numbers::list_price_word`]). Chinese numerals
//!   are **parsed and checked** where they are an amount (`四百五十九元` must be the price like
//!   `459元`); numerals that do not parse are refused as [`Reason::UnknownNumber`]. `8折`, `八折`,
//!   `8.5折`, `85折` are discounts (20 %, 20 %, 15 %, 15 %) that must be the catalog's
//!   ([`Reason::WrongPercent`]; none at all without a list price, [`Reason::FakeDiscount`]).
//! - Phone numbers include mainland mobiles (`1[3-9]` and nine more digits, no separators needed);
//!   `.cn` domains are URLs.
//! - The absolute-claim rule set (最佳, 最高级, 国家级, 第一, 顶级, 极品, 绝对, 100%…, and the
//!   purity and safety claims 纯天然, 零添加, 无副作用…, [`ZH_ABSOLUTE_CLAIMS`]) is on by default
//!   ([`Reason::AbsoluteClaim`]); the product's own facts may make any of them. The same
//!   article's bans on national symbols and on naming state organs and their staff (国旗,
//!   国务院, 主席, 毛泽东…) are among the default banned phrases ([`Reason::BannedPhrase`]).
//!
//! Finished copy is not left open in any locale: no trailing comma, colon, dash or `，`, no aside
//! opened and never closed beyond what the facts leave open ([`Reason::Unfinished`]); copy the
//! engine cut short (at `max_tokens` or the generation gate's dead end) ends a sentence or is
//! unfinished ([`unfinished_where_cut`], applied by the copy service, which knows why it
//! stopped).
//!
//! English copy speaks in the store's voice, never as a customer: no first-person singular
//! ([`FIRST_PERSON`], [`Reason::Testimonial`]); nor does it deny what the facts say (`no
//! leak-proof lid`: [`denied_fact`], [`Reason::DeniesFact`]), nor make in words a claim only
//! the facts can back (a span of time, `up to an hour`; `the best … ever`; the lowest price:
//! [`WordClaims`], one rule with the engine's gate).
//!
//! Copy never repeats its prompt: no run of the prompt pack's instructions and no price band of
//! the shopper line (`mid budget`, `low-budget`, `your budget`, `high price`; in Chinese any
//! `预算`: what the kiosk made of the shopper), unless the product's facts have it ([`PromptEcho`],
//! [`Reason::PromptLeak`]; the copy service sets it from its pack with
//! [`GuardrailConfig::for_pack`]). The price bands are barred while the model writes too (a few
//! dozen phrases); the instructions' runs, hundreds of them, only in finished copy.
//!
//! Every locale: copy on a shelf talker sells what this store sells at this store's price, so it
//! names no other retailer (Amazon, Walmart, Flipkart, 淘宝, 京东…, [`OTHER_RETAILERS`],
//! [`Reason::OtherRetailer`]), as it names no URL; a retailer the product's own facts name is a
//! fact. The retailers are barred phrases, so the engine's number gate keeps the model from
//! completing one. English copy names no shop at all the facts lack where it says where the
//! product is sold (`…available at Sephara`), nor a place it comes from (`…, from the
//! Himalayas`): [`PlaceNames`], one rule with the gate.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use unicode_segmentation::UnicodeSegmentation;

use crate::catalog::{Minor, Product};
use crate::copy::prompt::{
    band_phrase, find_ascii_ci, has_web_marker, web_address_words, ProductFacts, PromptPack,
    FIELD_LABELS, PROMPT_MARKERS, ZH_BUDGET,
};
use crate::locale::Locale;
use crate::numbers::{
    chains, cjk_role_before, cjk_word_gap, fold, foreign_symbol, has_mojibake, is_cjk,
    is_hanzi_numeral, is_modifying_mark, list_price_word, never_shown, normalise_number,
    orphan_mark, parse_hanzi, price_role, same_currency_word, scan, scan_with, unit_after,
    word_after, words_before, zhe_discount, zhe_figures, ChainRule, MoneyRoles, Number, PriceRole,
    CJK_CURRENCY_WORDS, CURRENCY_SYMBOLS, CURRENCY_WORDS, SAVING_AFTER, ZH_DISCOUNT_AFTER,
};
pub use crate::numbers::{longest_mark_repeat, MAX_SYMBOL_RUN};
use crate::vocab::PriceBand;

/// Tunable limits and phrase list. Defaults are defined here once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuardrailConfig {
    pub min_chars: usize,
    pub max_chars: usize,
    pub min_words: usize,
    pub max_words: usize,
    /// A word of four letters or more may occur at most this many times.
    pub max_word_repeats: usize,
    /// Minimum share of letters among characters that are neither spaces nor digits.
    pub min_letter_ratio: f32,
    /// Minimum share of ASCII (Latin) letters among letters.
    pub min_latin_ratio: f32,
    /// Phrases that copy must not contain (case-insensitive, whole words; Chinese as written).
    pub banned_phrases: Vec<String>,
    /// `zh-CN`: the shortest copy, in characters (grapheme clusters); words are not counted.
    pub zh_min_chars: usize,
    /// `zh-CN`: the longest copy, in characters (grapheme clusters).
    pub zh_max_chars: usize,
    /// `zh-CN`: a character bigram may occur at most this many times (more often only as often
    /// as the facts have it).
    pub zh_max_bigram_repeats: usize,
    /// The absolute-claim rule set (China's Advertising Law, art. 9: 最佳, 国家级, 第一…):
    /// unset = on for `zh-CN`, off for `en`.
    pub absolute_claims: Option<bool>,
    /// Absolute claims copy must not make (Chinese as written, Latin terms as whole words); a
    /// term the product's own facts contain (a name such as `万能充电器`) is a fact.
    pub absolute_claim_terms: Vec<String>,
    /// Retailers copy must not name (whole words, any case; Chinese as written): "the lowest
    /// prices on Amazon" sends the shopper elsewhere and claims a price this store did not set.
    pub other_retailers: Vec<String>,
    /// The locale copy is judged in: the kiosk's `locale` (set by the copy service from its
    /// prompt pack), not a key of this table.
    #[serde(skip)]
    pub locale: Locale,
    /// What copy may not repeat of the prompt (set by the copy service from its prompt pack,
    /// [`GuardrailConfig::for_pack`]), not a key of this table.
    #[serde(skip)]
    pub prompt_echo: PromptEcho,
}

/// The absolute claims of [`GuardrailConfig::absolute_claim_terms`] by default: the superlatives
/// of China's Advertising Law (art. 9), and claims of purity and safety a shelf talker cannot
/// back unless the product's own facts make them (纯天然 "all natural", 零添加 "zero additives",
/// 无副作用 "no side effects": the model wrote 纯天然 for products whose facts never said it).
pub const ZH_ABSOLUTE_CLAIMS: [&str; 44] = [
    "最佳",
    "最好",
    "最高级",
    "最高档",
    "最优",
    "最低价",
    "最便宜",
    "最先进",
    "最强",
    "最大",
    "最高",
    "最低",
    "最受欢迎",
    "最畅销",
    "最新技术",
    "第一",
    "唯一",
    "首个",
    "首选",
    "顶级",
    "顶尖",
    "极品",
    "极致",
    "绝对",
    "国家级",
    "世界级",
    "全球领先",
    "全网最低",
    "独一无二",
    "史上",
    "万能",
    "永久",
    "无敌",
    "王牌",
    "冠军",
    "遥遥领先",
    "领导品牌",
    "100%",
    "纯天然",
    "零添加",
    "无添加",
    "无副作用",
    "零风险",
    // `…洗发水 海蓝，纯净水无毒` ("non-toxic"), the zh-CN demo, seed 653, served.
    "无毒",
];

/// The retailers of [`GuardrailConfig::other_retailers`] by default: the large marketplaces and
/// chains of the kiosk's markets (China, India, the English-speaking ones). Those of
/// [`NAME_ONLY_RETAILERS`] count only where copy writes them as a name.
pub const OTHER_RETAILERS: [&str; 53] = [
    "Amazon",
    "Target",
    "Walmart",
    // Served by the demo (en, seed 359): `available on REI Co-op`, `at the low prices on Etsy`,
    // `now on at Wal-Mart`.
    "Wal-Mart",
    "REI",
    "Etsy",
    // Seed 367: `from Home Depot`, `now only on Kickstarter`.
    "Home Depot",
    "Lowe's",
    // Seed 587: `…from the original retail sale of just over a year ago (at Kohl's)`, and with
    // `Kohl's` barred, `(at Kohl' s)`: the name alone, as a name (`kohl` is an eyeliner).
    "Kohl",
    "Macy",
    "Kickstarter",
    "Costco",
    "eBay",
    "Best Buy",
    "Tesco",
    "Sainsbury's",
    "Argos",
    "Carrefour",
    "Aldi",
    "Lidl",
    "IKEA",
    "Flipkart",
    "Myntra",
    "Meesho",
    "Snapdeal",
    "Nykaa",
    "AliExpress",
    "Alibaba",
    "Taobao",
    "Tmall",
    "Pinduoduo",
    "Temu",
    "Shein",
    // Served by the demo (en, seed 557): `now on Lazada for just a few dollars less`.
    "Lazada",
    "Shopee",
    // Seed 613 (en, all served, the bench's check blind to them too): `…available at Sephora`,
    // `…now on sale at Sephora`, `…available at Nordstrom Rack`, `…only available at Bestbuy`,
    // `…about the same price at Home Goods`.
    "Sephora",
    "Ulta",
    "Nordstrom",
    "Bestbuy",
    "HomeGoods",
    "Home Goods",
    "TJ Maxx",
    "Walgreens",
    "Wayfair",
    "Kroger",
    "淘宝",
    "天猫",
    "京东",
    "拼多多",
    "苏宁",
    "唯品会",
    "亚马逊",
    "沃尔玛",
];

/// First-person singular words: English copy that speaks as a customer ("it keeps my coffee hot",
/// "I love this one!") is a testimonial nobody gave, which consumer law treats as a fake review.
/// The store's voice is "we" and "you". Refused as [`Reason::Testimonial`], barred while the
/// model writes; a word the product's own facts have is a fact (a book titled "Me Before You").
pub const FIRST_PERSON: [&str; 5] = ["I", "me", "my", "mine", "myself"];

/// English phrases that set the product's price beside another thing's: a price the facts do
/// not have, so a claim no role check can judge and no store can make good. Served by the demo
/// (en, seed 599): `…for just under the price of other brands`, `…just over the price of other
/// runners in this category`, `…just under the price of most other phone cases`, `…only at the
/// price of the original`; refused as brands only (seed 601): `Only 3.49, now for less than the
/// price of an iPhone X` for a conditioner, `…a little under the price of an iPhone X`; before:
/// `…the same price as a full set of snacks`, `…less than half the price of a standard
/// charger`. With those barred, the model set the price just under or over something else
/// (seed 599 again: `…for just under the cost of your average kitchenware store`, `…for just over
/// the average price of these shoes`, `…for under the table`): `just under the`, `for under the`
/// and their `over` are barred too. Refused as [`Reason::WrongPriceRole`] and barred while the
/// model writes; a phrase the product's own facts have is a fact (`two for the price of one`).
pub const PRICE_COMPARISONS: [&str; 35] = [
    "price of a",
    // `…for only the price of your home` (seed 607).
    "price of your",
    "price of an",
    "price of another",
    "price of other",
    "price of others",
    "price of most",
    "price of any",
    "price of similar",
    "price of one",
    "price of two",
    "price of the original",
    "cost of a",
    "cost of an",
    "cost of other",
    // `Only 10.99, 21% off: a Lumenoak Fable tea slate for less than the cost of your home` (the
    // demo, en, seed 683, served).
    "cost of your",
    "cost of any",
    "cost of most",
    "than the cost",
    "same price as",
    "price as a",
    "price as an",
    "under the price",
    "over the price",
    "below the price",
    "above the price",
    "than the price",
    "just under the",
    "just over the",
    "for under the",
    "for over the",
    "cheaper than",
    "less expensive than",
    "costs less than",
    // `A tent for the price of diamonds!` (the demo, en, seed 701, served).
    "for the price of",
];

/// Claims about the stock the product is in: the kiosk knows no stock level, so each is a claim
/// no store can stand behind, and a false scarcity is an unfair practice in itself (the EU's
/// Unfair Commercial Practices Directive, Annex I, 7; China's Advertising Law, art. 28). Served
/// by the demo (en, seeds 599 and 607): `…now on sale for 29.99, only a few left in stock`,
/// `…(was about to be sold out)`, `…from the chain store (not in stock)`; the Flipkart sample:
/// `Sonata watch, ₹750. (sold out)`, `The Timewel Analog Watch now is in stock`. English and
/// Chinese, barred in copy of either locale while the model writes, refused as
/// [`Reason::BannedPhrase`]; a phrase the product's own facts have is a fact (`限量版` in a
/// name). `limited run`: the Flipkart sample, seed 617, served (`…now has a limited run of this
/// colour.`).
pub const STOCK_CLAIMS: [&str; 41] = [
    "in stock",
    "out of stock",
    "back in stock",
    "limited stock",
    "low stock",
    "sold out",
    "sell out",
    "sells out",
    "selling out",
    "selling fast",
    "few left",
    // `…Northpine Sable Sandals now at 30.99, only a few more left to go on sale` (the demo, en,
    // seed 701, served).
    "more left",
    "left to go",
    "while stocks last",
    "while stock lasts",
    "while supplies last",
    "limited quantities",
    "limited quantity",
    "almost gone",
    "going fast",
    "last few",
    "limited run",
    "limited supply",
    "limited edition",
    // `Only a few of these, but great for winter.` (the demo, seed 631, served).
    "only a few of",
    // The demo, en, seed 653, served: `…the kestrelle ivy, no longer available`, `Fable boot,
    // 183.99 (was on stock), from Quillby`; seed 641: `(was not available)`.
    "no longer available",
    "not available",
    // `…(was not yet available), 33% off` (the demo, seed 659, once `not available` was barred).
    "not yet available",
    "unavailable",
    "on stock",
    "discontinued",
    "售罄",
    "卖完",
    "卖光",
    "抢光",
    "断货",
    "缺货",
    "库存",
    "仅剩",
    "现货",
    "限量",
];

/// English number words and their values: copy may write one only where the product's facts
/// have that number, in words or in digits (the demo kiosk once said a double-wall mug "keeps my
/// coffee hot for two days"). Not "one" (a pronoun: "this one"); the plurals have no value and
/// pass only as words of the facts ("thousands of happy customers" never does), and so do the
/// counts past a billion (`…a Ferrowind Willow pan Slate for under-a-trillion price`: the demo,
/// en, seed 617, served).
pub const NUMBER_WORDS: [(&str, Option<u32>); 44] = [
    ("zero", Some(0)),
    ("two", Some(2)),
    ("three", Some(3)),
    ("four", Some(4)),
    ("five", Some(5)),
    ("six", Some(6)),
    ("seven", Some(7)),
    ("eight", Some(8)),
    ("nine", Some(9)),
    ("ten", Some(10)),
    ("eleven", Some(11)),
    ("twelve", Some(12)),
    ("dozen", Some(12)),
    ("thirteen", Some(13)),
    ("fourteen", Some(14)),
    ("fifteen", Some(15)),
    ("sixteen", Some(16)),
    ("seventeen", Some(17)),
    ("eighteen", Some(18)),
    ("nineteen", Some(19)),
    ("twenty", Some(20)),
    ("thirty", Some(30)),
    ("forty", Some(40)),
    ("fifty", Some(50)),
    ("sixty", Some(60)),
    ("seventy", Some(70)),
    ("eighty", Some(80)),
    ("ninety", Some(90)),
    ("hundred", Some(100)),
    ("thousand", Some(1000)),
    ("million", Some(1_000_000)),
    ("billion", Some(1_000_000_000)),
    ("dozens", None),
    ("hundreds", None),
    ("thousands", None),
    ("millions", None),
    ("billions", None),
    ("trillion", None),
    ("trillions", None),
    ("zillion", None),
    ("gazillion", None),
    ("twice", Some(2)),
    ("thrice", Some(3)),
    ("triple", Some(3)),
];

/// The number words of [`NUMBER_WORDS`] copy about `facts` may not write: those whose number the
/// facts have neither as the word nor in digits. English copy only: Chinese numerals are read
/// by the number scanner where they are amounts. `corpus` is the facts' [`ProductFacts::corpus`].
fn unlisted_number_words(facts: &ProductFacts, corpus: &str) -> Vec<String> {
    if facts.locale.unspaced() {
        return Vec::new();
    }
    let known = allowed_numbers(facts);
    NUMBER_WORDS
        .iter()
        .filter(|(word, value)| {
            find_word(corpus, word, false).is_none()
                && value.is_none_or(|v| !known.contains(&v.to_string()))
        })
        .map(|(word, _)| word.to_string())
        .collect()
}

impl Default for GuardrailConfig {
    fn default() -> Self {
        Self {
            min_chars: 20,
            max_chars: 200,
            min_words: 3,
            max_words: 40,
            max_word_repeats: 3,
            min_letter_ratio: 0.6,
            min_latin_ratio: 0.9,
            banned_phrases: [
                "guarantee",
                "guaranteed",
                "best of the best",
                "miracle",
                "cure",
                "cures",
                "risk-free",
                "act now",
                "limited time",
                // Seed 617 (en), once `on-sale` was read as `on sale`: `…now only on-line for a
                // limited period of time at this price point`.
                "limited period",
                "click",
                "free gift",
                // A price of nothing: the demo served `It's not expensive, you don't have to pay
                // for it! 11.99` (en, seed 619) for a mug at 11.99.
                "for free",
                "free of charge",
                "at no cost",
                "pay nothing",
                "no need to pay",
                "don't have to pay",
                "don’t have to pay",
                "do not have to pay",
                "won't have to pay",
                "won’t have to pay",
                // Superlatives over every product there is, which no store can make good (the
                // demo, en, seed 619: `The only affordable puzzle in the world`, `the best
                // conditioner you can buy`).
                "in the world",
                "on the planet",
                "on earth",
                "best in class",
                "you can buy",
                "you can find",
                "money can buy",
                "in the market",
                // Seed 683 (the demo, en, served): `…this is the best conditioner on the market!`,
                // `…from the best brand: Talbrook Haven.`
                "on the market",
                "best brand",
                "best brands",
                // Other shops, unnamed: `…now costs only 1.99, available at select retailers`
                // (the demo, seed 631, served), `…is now ₹35 only at e-commerce` (the Flipkart
                // sample, seed 631, served); the kiosk has no website.
                "retailer",
                "retailers",
                "e-commerce",
                "ecommerce",
                "website",
                // Seed 631 (the Flipkart sample): `This is the best laptop you've ever had`,
                // `10 cm, the best of all time!`.
                "of all time",
                "you've ever",
                "you’ve ever",
                "you'll ever",
                "you’ll ever",
                "best in town",
                // Praise nobody gave (the Flipkart sample, seed 653, served): `Shoppers have been
                // raving about this product…`, `Shoppers love this product: …`, `Best selling
                // coffee mugs, …`.
                "raving about",
                // `Shoppers have been raving for this watch: …` (the Flipkart sample, seed 701,
                // served).
                "raving",
                // And on the next seed (659), once these were barred: `Shoppers' favorite: …`,
                // `Shoppers are happy with this product: …`.
                "shoppers' favorite",
                "shoppers' favourite",
                "shoppers’ favorite",
                "shoppers’ favourite",
                "shoppers are happy",
                "customers are happy",
                // Seed 661, once those were barred: `Shoppers' Choice: …`, `Shoppers also like
                // this: …`.
                "shoppers' choice",
                "shoppers’ choice",
                // Seed 701 (the demo, en), on the rules made on it: `Shoppers' Picks: the best
                // hiking and running products on sale at this price point.`
                "shoppers' picks",
                "shoppers’ picks",
                "shoppers also",
                "shoppers love",
                "customers love",
                "people love",
                "best selling",
                "best-selling",
                "bestselling",
                // Seed 653 (the demo, en, served): shops unnamed or misspelt (`…only available at
                // select retail stores`, `…available at select stores`, `…was only available on
                // e-bay`, `…now only on-line at Shop.`), a review nobody wrote (`…(was on sale at
                // the time of this review)`, `…under review.`) and copy that runs the product
                // down (`Low price, low quality: …`, `…is compact, but it's not cheap.`, `This
                // is a 19.49 puzzle, not the original`).
                "select stores",
                "select retail",
                "select shops",
                "select outlets",
                "select locations",
                // Once those were barred (seed 653): `…only available at select boutiques`,
                // `…available at select online and retail stores`, `…only available on online`,
                // `…(was on sale at the time of this post), available for pre-order now`, `…no
                // longer in production`.
                "select boutiques",
                "select online",
                "select dealers",
                // Seed 683 (the demo, en, served), with the families above barred: `…available at
                // select drugstores`, `…available at select price tags`. Whatever follows, a
                // shop chosen and not named is no fact.
                "at select",
                "in select",
                "at selected",
                "in selected",
                // The kiosk has no web page either: `…only a few more days left for their sale
                // on our store page` (seed 683, served). And an award nobody gave: `Board game of
                // the month! …`.
                "store page",
                "product page",
                "web page",
                "webpage",
                "of the month",
                "of the year",
                "pick of the week",
                "online",
                "this post",
                "time of this",
                "pre-order",
                "preorder",
                "in production",
                "participating stores",
                "e-bay",
                "on-line",
                "this review",
                "time of review",
                // The Flipkart sample, seed 661: `1-star review: the arnavs multi1 bottle opener
                // set is a great buy…`.
                "star review",
                "time of writing",
                "under review",
                "low quality",
                // The demo, en, seed 709 (held out; added after its figures): `…a great deal on
                // low end quality!`, `…now at the lowest pricing on the web.`, `The best-tasting,
                // all natural cotton t-shirt`.
                "low end quality",
                "low-end quality",
                "on the web",
                "all natural",
                "all-natural",
                "poor quality",
                "cheap quality",
                "not cheap",
                "not as cheap",
                "not the best",
                "not the original",
                "knock-off",
                // `The best of the worst: Ferrowind Haven Mug Slate, now at a price of just 11.99!`
                // (the demo, en, seed 683, served).
                "worst",
                // Green claims only the facts can make (EU Directive 2024/825, in force since
                // 27 September 2026, bars generic environmental claims a trader cannot prove):
                // the zh-CN demo served `…咖啡机 海蓝，简约的保温壶，价格便宜；可回收` ("recyclable")
                // for a coffee maker and `…水杯远足客，水蓝泡澡；日常、省水。` ("saves water") for a
                // bottle (seed 683). A tea whose facts say `biodegradable pyramid bags` may say so.
                "eco friendly",
                "environmentally friendly",
                "environment friendly",
                "earth friendly",
                "planet friendly",
                "climate neutral",
                "carbon neutral",
                "zero waste",
                "plastic free",
                "biodegradable",
                "compostable",
                "recyclable",
                "sustainable",
                // `LED bulbs, go green! Soy Impulse 299 LEDs now in store` (the Flipkart sample,
                // seed 691, served).
                "go green",
                "going green",
                "greener",
                // `The Halvane Nova, the perfect energy-saving gadget!` (the demo, en, seed 701,
                // served) for a charger whose facts say nothing of it.
                "energy saving",
                "energy efficient",
                "环保",
                "可回收",
                "可降解",
                "低碳",
                "零碳",
                "碳中和",
                "无污染",
                "省水",
                "节能",
                // A price the copy says is unknown, for a product whose price the screen shows:
                // `…睡袋 莓红，舒适的睡眠，防风领口；价格不详。` (the zh-CN demo, seed 683, served).
                "价格不详",
                "价格未知",
                "价格待定",
                // The model's next words on the same pairs once those were barred: `…价格便宜；
                // 可循环。`, `…防风领口；价格不准确` ("the price is inaccurate"), and in English
                // `…the best money can get for your pocket`.
                "可循环",
                "循环利用",
                "不准确",
                "价格不准",
                "money can get",
                // The Flipkart sample, seed 683, served: a review nobody wrote (`…is the best
                // value for money in our review of wireless routers`), what other shoppers do
                // (`Shoppers prefer this product to buy: …`, `Shoppers are buying more and more
                // mugs…`, `Shoppers want to buy: pizza cutters.`), superlatives over every
                // product (`…the best-priced casual blazer in our range`, `…only the most
                // affordable watch for your wrist`, `The Velvet Sofa Cover, the only one in this
                // category.`), copy that runs the product down (`Watch, not the latest; under
                // ₹5495`, `Pizza cutter, perfect for home; high cost`) and a shop's policy the
                // kiosk cannot know (`(at present, it is not possible to get a refund)`).
                "our review",
                "our reviews",
                "shoppers prefer",
                "customers prefer",
                "people prefer",
                "shoppers are buying",
                "shoppers want",
                "best priced",
                "most affordable",
                "only one in",
                "not the latest",
                "high cost",
                "costly",
                // The demo, en, seed 701, served: `The most expensive water bottle, now at
                // 34.49`, `…not a high quality headphone: Ambergrove Summit Ocean, 235.49`,
                // `…still looks fresh in the eyes of many, even if it is not the new one yet.`,
                // copy that calls new stock used (`It has been used for years…`, `…in good
                // condition with no stains or tears`), reviews nobody wrote (`Shoppers'
                // Comments: …`) and a superlative over every product (`This is the best tea you
                // can get.`).
                "most expensive",
                "not a high quality",
                "not a high-quality",
                "not high quality",
                "not high-quality",
                "not the new",
                "been used",
                "good condition",
                "no stains",
                "pre-owned",
                "second hand",
                "shoppers' comments",
                "shoppers’ comments",
                "customer reviews",
                "you can get",
                "refund",
                "refunds",
                "refundable",
                "money back",
                "no returns",
                "return policy",
                "warranty",
                "退款",
                "退货",
                "包退",
                "保修",
                "质保",
                "knockoff",
                // The same in Chinese (the zh-CN demo, seed 653, served): `…莓红，价位不菲。`
                // ("the price is no trifle"), `…价格不低`, `…价格昂贵。`; and a mug's copy that
                // called it a toilet's (`…马桶杯`, `马桶底有碳黑`).
                "不菲",
                "价格不低",
                "价位不低",
                "昂贵",
                "不便宜",
                // Seed 659, once `不菲` was barred: `…象牙白，价位不透明。` ("the price is not
                // transparent").
                "价位不透明",
                "价格不透明",
                "马桶",
                // Offers the store does not run unless its config says so: the Flipkart sample
                // served `Fits in a 25% off coupon: Graco LiteRider…` (seed 617).
                "coupon",
                "coupons",
                "promo code",
                "voucher code",
                // Seed 683 (the demo, en, served): `…Pan Sand, 28.99 (was 36.99, discount code
                // available)`: an offer the shopper would ask the till for.
                "discount code",
                "discount codes",
                "promo codes",
                "promotional code",
                "promotional codes",
                "voucher codes",
                // A deadline the store never set (the same seed, served): `…now on the market
                // for only a few more weeks!`, `…only a few more days left for their sale`. A
                // false time limit is an unfair practice as a false scarcity is (EU Directive
                // 2005/29/EC, Annex I, 7).
                "few more days",
                "few more weeks",
                "days left",
                "weeks left",
                "last chance",
                "ends soon",
                "ending soon",
                "cashback",
                "cash back",
                "free shipping",
                "free delivery",
                "lowest price",
                "lowest prices",
                // Served by the demo (en, seed 367): `at the lowest available price`, `at the Best
                // Price Shop`; a price claim against every other shop no store can make good.
                "lowest available price",
                "best price",
                "cheapest",
                // Disgust at the product: the demo served `Only 11.99, now icky! on the road…`
                // (seed 541) and the Flipkart sample `Spinz combo set, ick!` (seed 547).
                "ick",
                "icky",
                "yuck",
                "yucky",
                "eww",
                // Where a product was made is a claim only its facts can make (the demo served
                // "Beautifully made in the USA" for a mug whose facts never said where).
                "made in",
                "imported",
                "进口",
                // China's Advertising Law, art. 9 (1)-(2): no national symbols, and no state
                // organ or its staff named (the zh-CN demo catalog, seed 281, had
                // `毛泽东主席主席的马克杯` in a mug's copy, refused only as a repetition).
                "国旗",
                "国徽",
                "国歌",
                "军旗",
                "军徽",
                "军歌",
                "国家机关",
                "国务院",
                "领导人",
                "主席",
                "总书记",
                "总理",
                "共产党",
                "解放军",
                "毛泽东",
                "周恩来",
                "邓小平",
                "江泽民",
                "胡锦涛",
                "习近平",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            zh_min_chars: 8,
            zh_max_chars: 60,
            zh_max_bigram_repeats: 3,
            absolute_claims: None,
            absolute_claim_terms: ZH_ABSOLUTE_CLAIMS.into_iter().map(String::from).collect(),
            other_retailers: OTHER_RETAILERS.into_iter().map(String::from).collect(),
            locale: Locale::En,
            prompt_echo: PromptEcho::default(),
        }
    }
}

impl GuardrailConfig {
    /// These limits for copy in `locale`.
    pub fn for_locale(self, locale: Locale) -> Self {
        Self { locale, ..self }
    }

    /// These limits for copy written from `pack`: judged in its locale, never repeating its
    /// instructions, its shopper line's price bands or a brief's words ([`PromptEcho`]).
    pub fn for_pack(self, pack: &PromptPack) -> Self {
        Self {
            locale: pack.locale,
            prompt_echo: PromptEcho::of(pack),
            ..self
        }
    }

    /// Whether the absolute-claim rule set applies (see [`GuardrailConfig::absolute_claims`]).
    pub fn absolute_claims_on(&self) -> bool {
        self.absolute_claims.unwrap_or(self.locale == Locale::ZhCn)
    }

    /// The phrases copy about `facts` may not contain: the banned phrases, the other retailers,
    /// the shopper line's price bands and a brief's words ([`PromptEcho`]), in English the first-person words and,
    /// where the rule set is on, the absolute claims, less those the product's own facts contain
    /// ("Click Connect" in a name is a fact), the number words whose number the facts do not
    /// have, the price comparisons in English ([`PRICE_COMPARISONS`]), the claims about stock
    /// ([`STOCK_CLAIMS`]), and the well-known brands
    /// the facts lack ([`WELL_KNOWN_BRANDS`]). The guardrails refuse copy with one
    /// (`banned_phrase`, `other_retailer`, `prompt_leak`, `testimonial`, `absolute_claim`,
    /// `unknown_number`, `wrong_price_role`, `foreign_brand`); the engine's number gate masks the
    /// token that would complete one.
    pub fn barred_phrases(&self, facts: &ProductFacts) -> Vec<String> {
        let corpus = facts.corpus();
        let mut barred = self.barred_beside(&corpus);
        barred.extend(unlisted_number_words(facts, &corpus));
        barred.extend(unknown_brands(&corpus).map(String::from));
        barred
    }

    /// [`Self::barred_phrases`] for the facts' words `corpus` ([`ProductFacts::corpus`]).
    fn barred_beside(&self, corpus: &str) -> Vec<String> {
        let absolute: &[String] = if self.absolute_claims_on() {
            &self.absolute_claim_terms
        } else {
            &[]
        };
        let (first_person, comparisons): (&[&str], &[&str]) = if self.locale.unspaced() {
            (&[], &[])
        } else {
            (&FIRST_PERSON, &PRICE_COMPARISONS)
        };
        self.banned_phrases
            .iter()
            .chain(&self.other_retailers)
            .chain(absolute)
            .chain(&self.prompt_echo.phrases)
            .cloned()
            .chain(
                first_person
                    .iter()
                    .chain(comparisons)
                    .chain(&STOCK_CLAIMS)
                    .map(|w| w.to_string()),
            )
            .filter(|p| !says_words(corpus, p))
            .collect()
    }

    /// The shortest copy generation may end with, as the engine's gate counts it: (characters,
    /// words). `zh-CN` copy counts no words.
    pub fn min_length(&self) -> (usize, usize) {
        if self.locale.unspaced() {
            (self.zh_min_chars, 0)
        } else {
            (self.min_chars, self.min_words)
        }
    }
}

/// All brands of the catalog; copy may name only the product's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrandList {
    brands: Vec<String>,
}

impl BrandList {
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(brands: I) -> Self {
        let mut seen = HashSet::new();
        let brands = brands
            .into_iter()
            .map(|b| b.as_ref().trim().to_string())
            .filter(|b| b.chars().filter(|c| c.is_alphanumeric()).count() >= 2)
            .filter(|b| seen.insert(b.to_ascii_lowercase()))
            .collect();
        Self { brands }
    }

    pub fn from_products(products: &[Product]) -> Self {
        Self::new(products.iter().filter_map(|p| p.brand.as_deref()))
    }

    pub fn len(&self) -> usize {
        self.brands.len()
    }

    pub fn is_empty(&self) -> bool {
        self.brands.is_empty()
    }
}

/// Why copy was rejected. Serialises as `{"code": "...", "detail": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
pub enum Reason {
    Empty,
    /// Control characters, replacement characters, a mark with nothing to modify
    /// ([`crate::numbers::orphan_mark`]), too few letters ([`LetterShare`]: their share, and no
    /// more than [`MAX_SYMBOL_RUN`] symbols in a row), one mark more than [`MAX_SYMBOL_RUN`]
    /// times in a row ([`longest_mark_repeat`]) or too few Latin letters; in English copy, a
    /// Chinese character, an `Â` or a word without an ASCII letter that the facts lack
    /// ([`StrayChars`]); in Chinese copy, a Latin word that is neither in the product's facts nor
    /// a name of the currency.
    Charset,
    /// A field label or chat marker of the prompt format leaked into the copy.
    PromptLeak(String),
    Url,
    Email,
    Phone,
    /// A run of eight or more digits that is not in the product facts.
    LoyaltyLikeNumber,
    ForeignCurrency(String),
    /// A percentage that is neither the catalog's discount nor one the facts state, a `折`
    /// figure that is not the discount, or a percent sign without its number (a per-mille sign).
    /// Detail: what was written.
    WrongPercent(String),
    UnknownNumber(String),
    /// A comparison price or discount claim ("was", "instead of", "save", "% off", "on sale")
    /// for a product without a list price. Detail: the claim.
    FakeDiscount(String),
    /// An amount in the wrong role: what the shopper pays is not the selling price, a comparison
    /// is not the list price, a saving is not list price − price, a discount is not the
    /// catalog's, a percentage is written as money, or a yuan store's spoken amount (`五百块`) is
    /// none of the product's. Detail: the role and the amount.
    WrongPriceRole(String),
    ForeignBrand(String),
    BannedPhrase(String),
    /// Another retailer named (Amazon, 淘宝…, [`GuardrailConfig::other_retailers`]). Detail: the
    /// name.
    OtherRetailer(String),
    /// English copy speaking as a customer ("my coffee", [`FIRST_PERSON`]): a testimonial
    /// nobody gave. Detail: the word.
    Testimonial(String),
    /// An absolute claim China's advertising law forbids (最佳, 国家级, 第一…). Detail: the term.
    AbsoluteClaim(String),
    /// English copy denies what the product's facts say (`…; no leak-proof lid` for a bottle
    /// "with a leak-proof lid": [`denied_fact`]). Detail: the denial.
    DeniesFact(String),
    /// Shares no word with the product's name, brand, category or details.
    OffTopic,
    TooShort,
    TooLong,
    Repetition(String),
    /// The copy stops mid-phrase: on a word that cannot end one ("… a lightweight boot with"),
    /// or in Chinese on a money cue whose amount never came ("…，省下"). Detail: the word.
    Unfinished(String),
}

impl Reason {
    /// Stable code (the serde tag).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Charset => "charset",
            Self::PromptLeak(_) => "prompt_leak",
            Self::Url => "url",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::LoyaltyLikeNumber => "loyalty_like_number",
            Self::ForeignCurrency(_) => "foreign_currency",
            Self::WrongPercent(_) => "wrong_percent",
            Self::UnknownNumber(_) => "unknown_number",
            Self::FakeDiscount(_) => "fake_discount",
            Self::WrongPriceRole(_) => "wrong_price_role",
            Self::ForeignBrand(_) => "foreign_brand",
            Self::BannedPhrase(_) => "banned_phrase",
            Self::OtherRetailer(_) => "other_retailer",
            Self::Testimonial(_) => "testimonial",
            Self::AbsoluteClaim(_) => "absolute_claim",
            Self::DeniesFact(_) => "denies_fact",
            Self::OffTopic => "off_topic",
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
            Self::Repetition(_) => "repetition",
            Self::Unfinished(_) => "unfinished",
        }
    }

    /// What was found, where the reason names it (the word, number or phrase).
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::PromptLeak(d)
            | Self::ForeignCurrency(d)
            | Self::WrongPercent(d)
            | Self::UnknownNumber(d)
            | Self::FakeDiscount(d)
            | Self::WrongPriceRole(d)
            | Self::ForeignBrand(d)
            | Self::BannedPhrase(d)
            | Self::OtherRetailer(d)
            | Self::Testimonial(d)
            | Self::AbsoluteClaim(d)
            | Self::DeniesFact(d)
            | Self::Repetition(d)
            | Self::Unfinished(d) => Some(d),
            _ => None,
        }
    }
}

/// `code` or `code "detail"`, for messages and logs.
impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.detail() {
            Some(detail) => write!(f, "{} {detail:?}", self.code()),
            None => f.write_str(self.code()),
        }
    }
}

/// The outcome of [`check`]. Serialises as `{"verdict": "pass"}` or
/// `{"verdict": "fail", "reason": {"code": ..., "detail": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "reason", rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail(Reason),
}

impl Verdict {
    pub fn is_pass(&self) -> bool {
        matches!(self, Self::Pass)
    }

    /// `"pass"` or the reason's code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail(r) => r.code(),
        }
    }
}

/// Words of one run of the instructions copy may not repeat, in English.
const ECHO_WORDS: usize = 5;
/// Characters of one run of the instructions copy may not repeat, in Chinese.
const ECHO_CHARS: usize = 5;

/// Words that make `budget` after them the shopper's in English copy, besides the shopper line's
/// own bands: the model says the band in its own words (seed 227 served "the best headphones for
/// your budget" and "board game, not a big budget").
const EN_BUDGET_OF: [&str; 15] = [
    "your", "any", "every", "medium", "tight", "small", "big", "large", "limited", "modest",
    "generous",
    // Where the shopper's money stands (the Flipkart sample, seed 619: `…(in the store) on a
    // budget!`; the demo, seed 617: `…still under budget`); not `a budget-friendly`.
    "on a", "under", "over", "within",
];

/// Bands that make `price` after them the shopper line's band in other words: the demo kiosk
/// served `Plush sock pack, soft for outdoor; high price` (2026-12-05) for a shopper line
/// `likes outdoor; high budget`. Not `low`: `at a low price` is the store's own claim.
const EN_BAND_PRICE: [&str; 2] = ["mid", "high"];

/// The middle band as a range: `…from under-budget to mid-range` (the demo, seed 619, served),
/// `priced under mid-range` (seed 617).
const EN_BAND_RANGE: &str = "mid range";

/// What copy must never repeat of its prompt (the guardrails' `prompt_leak`): a run of
/// [`ECHO_WORDS`] words (English) or [`ECHO_CHARS`] characters (Chinese) of one clause of the
/// pack's instructions — the model once served `禾匠咖啡豆石板灰，一到两个短句` ("…one or two short
/// sentences"), a style's instruction as copy — and the shopper line's price band (`mid budget`,
/// `low-budget`, or in other words [`EN_BUDGET_OF`]: `your budget`; in Chinese the word `预算`
/// the bands share), which would tell the shopper what the kiosk made of them
/// (`…价格便宜；预算适中。` was served too), and the words of a copywriting brief in any locale
/// ([`BRIEF_PHRASES`]: `A little bit of fun, one or a few short sentences.` was served by the
/// demo, en, seed 373, a run of four words the five-word rule missed).
///
/// Invariants: built from the pack alone (the instructions of every style, the bands of the
/// shopper line in the pack's locale) and [`BRIEF_PHRASES`]; a run or phrase the product's own
/// facts contain is a fact, not an echo.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromptEcho {
    /// Runs of the instructions, as [`echo_runs`] writes them, and the clause each is of.
    runs: std::collections::BTreeMap<String, String>,
    /// The shopper line's band phrases and the brief's words.
    phrases: Vec<String>,
}

/// Words of a copywriting brief, which copy on a shelf never says, in either locale.
pub const BRIEF_PHRASES: [&str; 13] = [
    "shelf talker",
    "shelf talkers",
    "store copy",
    "short sentence",
    "short sentences",
    "crisp sentence",
    "shopper described",
    "quote prices",
    "文案",
    "短句",
    "一句话",
    "货架文案",
    "顾客写",
];

impl PromptEcho {
    /// The runs of every style's instructions in `pack`, and the band phrases of its shopper line.
    pub fn of(pack: &PromptPack) -> Self {
        let runs = pack
            .styles
            .values()
            .flat_map(|spec| {
                spec.instructions
                    .split(|c: char| c == '\n' || ".,:;!?()\"“”，。：；！？（）".contains(c))
                    .flat_map(|clause| {
                        let clause = clause.trim();
                        echo_runs(clause)
                            .into_iter()
                            .map(move |run| (run, clause.to_string()))
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        // In English as the shopper line writes them, and hyphenated as an adjective (`a
        // low-budget pick`); in Chinese the word they share, 预算, anywhere: with the band's
        // last character masked the model served `…低调；预算适`.
        let bands: Vec<String> = match pack.locale {
            Locale::ZhCn => vec![ZH_BUDGET.to_string()],
            Locale::En => [PriceBand::Low, PriceBand::Mid, PriceBand::High]
                .into_iter()
                .map(|band| band_phrase(band, pack.locale))
                .chain(EN_BUDGET_OF.iter().map(|word| format!("{word} budget")))
                .chain(EN_BAND_PRICE.iter().map(|band| format!("{band} price")))
                .chain([EN_BAND_RANGE.to_string()])
                // and with the hyphen spaced: the Flipkart sample (seed 251) served
                // `Shoppers: likes home decor; mid- budget.`
                .flat_map(|phrase| {
                    [
                        phrase.replace(' ', "-"),
                        phrase.replace(' ', "- "),
                        phrase.replace(' ', " -"),
                        phrase.replace(' ', " - "),
                        phrase,
                    ]
                })
                .collect(),
        };
        let phrases = bands
            .into_iter()
            .chain(BRIEF_PHRASES.iter().map(|p| (*p).to_string()))
            .collect();
        Self { runs, phrases }
    }

    /// The instructions' clause or the band phrase `copy` repeats (a run of it) that `corpus`
    /// (the product's facts, [`ProductFacts::corpus`]) does not have.
    pub fn find(&self, copy: &str, corpus: &str) -> Option<String> {
        let fact = |phrase: &str| find_word(corpus, phrase, false).is_some();
        if let Some(band) = self
            .phrases
            .iter()
            .find(|b| find_word(copy, b, false).is_some() && !fact(b))
        {
            return Some(band.clone());
        }
        if self.runs.is_empty() {
            return None;
        }
        echo_runs(copy)
            .into_iter()
            .find_map(|run| self.runs.get(&run).filter(|_| !fact(&run)).cloned())
    }
}

/// The runs of `text` an echo is looked for in: every [`ECHO_CHARS`] characters (spaces left
/// out) of text with Chinese in it, every [`ECHO_WORDS`] words (lower case, without the
/// punctuation around them) of other text.
fn echo_runs(text: &str) -> Vec<String> {
    if text.chars().any(is_cjk) {
        let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
        return chars
            .windows(ECHO_CHARS)
            .map(|w| w.iter().collect())
            .collect();
    }
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(ECHO_WORDS).map(|w| w.join(" ")).collect()
}

/// Check one piece of copy against the product's facts. The copy is folded first
/// ([`crate::numbers::fold`]: full-width digits, letters and signs read as ASCII), as the
/// engine's number gate reads it.
pub fn check(
    copy: &str,
    facts: &ProductFacts,
    brands: &BrandList,
    config: &GuardrailConfig,
) -> Verdict {
    // Mojibake is judged as written: folding breaks some of it up (`…` is `...` folded).
    if has_mojibake(copy, false) {
        return Verdict::Fail(Reason::Charset);
    }
    let folded = fold(copy.trim());
    match first_failure(folded.text.trim(), facts, brands, config) {
        Some(reason) => Verdict::Fail(reason),
        None => Verdict::Pass,
    }
}

fn first_failure(
    copy: &str,
    facts: &ProductFacts,
    brands: &BrandList,
    config: &GuardrailConfig,
) -> Option<Reason> {
    if copy.is_empty() {
        return Some(Reason::Empty);
    }
    if !charset_ok(copy, config) {
        return Some(Reason::Charset);
    }
    // Field labels as the format writes them ("price: just" is fine), markers in any case.
    if let Some(m) = FIELD_LABELS
        .iter()
        .find(|m| copy.contains(**m))
        .or_else(|| {
            PROMPT_MARKERS
                .iter()
                .find(|m| find_ascii_ci(copy, m, 0).is_some())
        })
    {
        return Some(Reason::PromptLeak((*m).to_string()));
    }
    let corpus = facts.corpus();
    if let Some(echo) = config.prompt_echo.find(copy, &corpus) {
        return Some(Reason::PromptLeak(echo));
    }
    // Markup: a shelf talker is plain text (the model sometimes wraps a name in
    // `<strong>…</strong>`, which a terminal shows as written). After the prompt markers, so a
    // leaked `<end_of_turn>` is named as the leak it is.
    if copy.contains(['<', '>', '＜', '＞']) {
        return Some(Reason::Charset);
    }
    if has_email(copy) {
        return Some(Reason::Email);
    }
    if has_url(copy, &corpus) {
        return Some(Reason::Url);
    }
    if let Some(r) = contact_number(copy, &corpus) {
        return Some(r);
    }
    if let Some(c) = foreign_currency(copy, facts) {
        return Some(Reason::ForeignCurrency(c));
    }
    if let Some(r) = number_failure(copy, facts, &corpus) {
        return Some(r);
    }
    if let Some(word) = unlisted_number_words(facts, &corpus)
        .into_iter()
        .find(|w| find_word(copy, w, false).is_some())
    {
        return Some(Reason::UnknownNumber(word));
    }
    if let Some(r) = price_claim_failure(copy, facts) {
        return Some(r);
    }
    if let Some(said) = colloquial_yuan(copy, facts) {
        return Some(Reason::WrongPriceRole(said));
    }
    if let Some(said) = AmountWords::beside(&corpus, config).first_in(copy) {
        return Some(Reason::WrongPriceRole(said));
    }
    if let Some(b) = foreign_brand(copy, facts, &corpus, brands) {
        return Some(Reason::ForeignBrand(b));
    }
    if config.locale.unspaced() && stray_latin_word(copy, &corpus, facts).is_some() {
        return Some(Reason::Charset);
    }
    let stray = StrayChars::beside(&corpus, config);
    if copy.chars().any(|c| stray.refuses(c)) || stray.stray_word(copy, false).is_some() {
        return Some(Reason::Charset);
    }
    // A phrase or claim that is part of the product's own facts ("Click Connect") is a fact.
    if let Some(p) = config
        .barred_beside(&corpus)
        .into_iter()
        .find(|p| says_phrase(copy, p))
    {
        return Some(
            if config.banned_phrases.contains(&p) || STOCK_CLAIMS.contains(&p.as_str()) {
                Reason::BannedPhrase(p)
            } else if config.other_retailers.contains(&p) {
                Reason::OtherRetailer(p)
            } else if FIRST_PERSON.contains(&p.as_str()) {
                Reason::Testimonial(p)
            } else if PRICE_COMPARISONS.contains(&p.as_str()) {
                Reason::WrongPriceRole(format!("a price set beside another thing's: {p}"))
            } else if config.prompt_echo.phrases.contains(&p) {
                Reason::PromptLeak(p)
            } else {
                Reason::AbsoluteClaim(p)
            },
        );
    }
    if let Some(cue) = price_word_before_a_symbol(copy) {
        return Some(Reason::Unfinished(cue.to_string()));
    }
    if let Some(flag) = flag_in(copy).filter(|f| !corpus.contains(f)) {
        return Some(Reason::BannedPhrase(flag.to_string()));
    }
    if !config.locale.unspaced() {
        if let Some(origin) = origin_named(copy, &corpus) {
            return Some(Reason::BannedPhrase(origin));
        }
        if let Some(denial) = denied_fact(copy, &corpus) {
            return Some(Reason::DeniesFact(denial));
        }
    }
    // After the countries, so an origin is named as the list names it (`u.s.`).
    if let Some((claim, place)) = PlaceNames::beside(&corpus, config).first_in(copy, false) {
        return Some(match claim {
            PlaceClaim::Shop => Reason::OtherRetailer(place.to_string()),
            PlaceClaim::Origin => Reason::BannedPhrase(place.to_string()),
        });
    }
    if stray_symbol(copy, &stray).is_some() {
        return Some(Reason::Charset);
    }
    if let Some(claim) = WordClaims::beside(&corpus, config).first_in(copy) {
        return Some(claim);
    }
    if !on_topic(copy, &topic_words_of(&corpus)) {
        return Some(Reason::OffTopic);
    }
    if config.locale.unspaced() {
        // Characters as a reader counts them: grapheme clusters; no spaces to count words by.
        let chars = copy.graphemes(true).count();
        if chars < config.zh_min_chars {
            return Some(Reason::TooShort);
        }
        if chars > config.zh_max_chars {
            return Some(Reason::TooLong);
        }
        if let Some(cue) = crate::numbers::cjk_money_cue_at_end(copy) {
            return Some(Reason::Unfinished(cue.to_string()));
        }
    } else {
        let (chars, words) = (copy.chars().count(), copy.split_whitespace().count());
        if chars < config.min_chars || words < config.min_words {
            return Some(Reason::TooShort);
        }
        if chars > config.max_chars || words > config.max_words {
            return Some(Reason::TooLong);
        }
        if let Some(word) = unfinished_ending(copy)
            .or_else(|| unfinished_clause(copy))
            .or_else(|| price_cue_aside(copy))
        {
            return Some(Reason::Unfinished(word.to_string()));
        }
    }
    if let Some(mark) = open_ending(copy).or_else(|| unclosed_bracket(copy, &corpus)) {
        return Some(Reason::Unfinished(mark.to_string()));
    }
    Repeats::beside(&corpus, config)
        .first_in(copy)
        .map(Reason::Repetition)
}

/// Words that deny what follows them (`no leak-proof lid`, `without a carry loop`).
const NEGATORS: &[&str] = &["no", "not", "without", "never", "lacks", "lacking"];

/// Words skipped between a negator and what it denies (`without a carry loop`).
const DENIAL_FILLERS: &[&str] = &["a", "an", "the", "any"];

/// The first denial in English `copy` of what the facts' words `corpus` say: a negator
/// ([`NEGATORS`]) and the two or three words after it in its clause (articles aside) that the
/// facts have in a row, without a negator of their own before them. `make run` showed the demo's
/// first shopper `Essential water bottle, $30.49; no leak-proof lid` for a bottle whose facts say
/// `…with a leak-proof lid`: a false feature claim, on the shelf beside the product. `no added
/// sugar` where the facts say `no added sugar` is a fact.
fn denied_fact(copy: &str, corpus: &str) -> Option<String> {
    let words = |text: &str| -> Vec<String> {
        alphanumeric_runs(text)
            .map(|(_, w)| w.to_lowercase())
            .collect()
    };
    let facts = words(corpus);
    let negates = |w: &str| NEGATORS.contains(&w);
    copy.split(CLAUSE_MARKS).find_map(|clause| {
        let said = words(clause);
        said.iter().enumerate().find_map(|(i, w)| {
            if !negates(w) {
                return None;
            }
            let from = i
                + 1
                + said[i + 1..]
                    .iter()
                    .take_while(|w| DENIAL_FILLERS.contains(&w.as_str()))
                    .count();
            (2..=3).rev().find_map(|k| {
                let denied = said.get(from..from + k)?;
                if !denied.iter().any(|w| w.chars().count() >= 4) {
                    return None;
                }
                // The facts' own denial (`Never Give Up` in a mug's name, `Never Ever Give Up`
                // in another's: the Flipkart sample, seed 619) is a fact: a negator in the two
                // words before the facts' run.
                let denied_there =
                    |j: usize| facts[j.saturating_sub(2)..j].iter().any(|b| negates(b));
                let (mut stated, mut facts_deny) = (false, false);
                for (j, run) in facts.windows(k).enumerate() {
                    if run == denied {
                        if denied_there(j) {
                            facts_deny = true;
                        } else {
                            stated = true;
                        }
                    }
                }
                (stated && !facts_deny).then(|| format!("{w} {}", denied.join(" ")))
            })
        })
    })
}

/// In a yuan store, an amount said the spoken way, `块` or `块钱` after it with no noun after
/// `块` (`五百块`, `99块钱`), that is not the price, the list price or the saving: a shopper
/// reads it as money. The zh-CN demo served `积木套装，厚度适中；五百块` (seed 523) for a set at
/// ¥155 whose facts say `五百多块积木` (500-odd bricks): with the noun left out the count reads
/// as a price. `块` before a noun is a measure word (`三块肥皂`) and stays.
fn colloquial_yuan(copy: &str, facts: &ProductFacts) -> Option<String> {
    if !facts.currency.is_named_by("元") {
        return None;
    }
    let amounts: Vec<String> = [Some(facts.price), facts.list_price]
        .into_iter()
        .flatten()
        .chain(facts.list_price.map(|l| Minor(l.0 - facts.price.0)))
        .map(|m| normalise_number(&m.display()))
        .collect();
    copy.match_indices('块').find_map(|(at, _)| {
        let after = &copy[at + '块'.len_utf8()..];
        let noun_after = !after.starts_with('钱')
            && after
                .chars()
                .next()
                .is_some_and(|c| is_cjk(c) && c.is_alphabetic());
        if noun_after {
            return None;
        }
        let before = copy[..at].trim_end();
        let numeral = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_hanzi_numeral(*c) || c.is_ascii_digit() || *c == '.')
            .last()
            .map(|(i, _)| &before[i..])?;
        let value = if numeral.chars().any(|c| c.is_ascii_digit()) {
            normalise_number(numeral)
        } else {
            normalise_number(&parse_hanzi(numeral)?)
        };
        (!amounts.contains(&value)).then(|| format!("{numeral}块"))
    })
}

/// A word that quotes a price (`just`, `only`, `was`) with a symbol or emoji where the amount
/// should be: `just ⭐️ for the price of…`, `for only ⋯ 😢`, `(was 😜)`, `only ¦ the store` (the
/// demo, seed 557). The copy says a price is there and shows none.
fn price_word_before_a_symbol(copy: &str) -> Option<&str> {
    let words: Vec<&str> = copy.split_whitespace().collect();
    words.windows(2).find_map(|pair| {
        let cue = pair[0].trim_start_matches(|c: char| c.is_ascii_punctuation());
        let symbol = pair[1].chars().next().is_some_and(is_symbol);
        (symbol
            && ["just", "only", "was"]
                .iter()
                .any(|w| cue.eq_ignore_ascii_case(w)))
        .then_some(cue)
    })
}

/// The first flag in `copy` (two regional indicator symbols, U+1F1E6–U+1F1FF): it says where
/// the product comes from, a claim only its facts can make, like the banned `made in`. The
/// Flipkart sample served `Sonata watch, ₹750. 1st time: the Sonata watch, 🇮🇳` and the demo
/// `Velmora Vale Running Shoe Sand, 🇺🇸` (seed 547).
fn flag_in(copy: &str) -> Option<&str> {
    let regional = |c: char| ('\u{1f1e6}'..='\u{1f1ff}').contains(&c);
    copy.char_indices().find_map(|(at, c)| {
        let next = copy[at + c.len_utf8()..].chars().next()?;
        (regional(c) && regional(next)).then(|| &copy[at..at + c.len_utf8() + next.len_utf8()])
    })
}

/// The first symbol or emoji ([`is_symbol`]: `💯`, `🎁`, `❄`, `¦`, `★`) in `copy` that the
/// product's facts do not have ([`StrayChars::refuses_symbol`]). No few-shot example of either
/// pack has one, nor any product of the demo catalogs or the shared sample but its own (`°`,
/// `±`); the model writes one where it cannot write what it reached for (`…has a 🎁 of just over
/// 🎁`, `…just over 💥price`, `They keep it cold for ☕️ hours!`: the demo, seeds 563 and 569) or
/// as decoration that says nothing about the product (`🪴 Forest coffee maker!`, seed 569). A
/// mark that only modifies the symbol before it (`\u{fe0f}`, a skin tone) is judged with its
/// symbol. The gate never writes one either: where the model reached for one after a lone space
/// token, the engine takes the space back and the copy goes on in words.
fn stray_symbol(copy: &str, stray: &StrayChars) -> Option<char> {
    copy.chars().find(|&c| stray.refuses_symbol(c))
}

/// Countries, peoples and regions English copy names a product's origin or maker by, lower case.
/// Not the words that are also common nouns or pronouns (`turkey`, `china` for porcelain, `us`),
/// nor those copy uses for a kind or a shopper more than an origin (`French press`, `Indian
/// homes`, `Thai curry`).
const ORIGINS: &[&str] = &[
    "america",
    "american",
    "usa",
    "britain",
    "british",
    "england",
    "uk",
    "chinese",
    "japan",
    "japanese",
    "korea",
    "korean",
    "india",
    "italy",
    "italian",
    "france",
    "germany",
    "german",
    "switzerland",
    "swiss",
    "sweden",
    "swedish",
    "denmark",
    "danish",
    "dutch",
    "holland",
    "spain",
    "spanish",
    "mexico",
    "mexican",
    "canada",
    "canadian",
    "australia",
    "australian",
    "brazil",
    "brazilian",
    "turkish",
    "thailand",
    "vietnam",
    "vietnamese",
    "europe",
    "european",
    "scandinavian",
    "nordic",
    "ireland",
    "irish",
    "scotland",
    "scottish",
    "belgian",
    "austrian",
    "portugal",
    "portuguese",
    "greece",
    "greek",
    "russia",
    "russian",
    "norway",
    "norwegian",
];

/// The first country, people or region of [`ORIGINS`] that English copy names and the product's
/// facts (`corpus`) do not: where a product or its maker comes from is a claim only the facts
/// can make, as the banned `made in` and a flag are. `make run` showed `A few years ago, the
/// British designer Bramblewood had a huge hit in China…` for a sleeping bag whose facts say
/// neither. `China` itself is judged as a country only with its capital (`bone china` is
/// porcelain); `U.S.` and `U.K.` as written (`…Building Set Sky, from the U.S.`, the demo, seed
/// 587).
fn origin_named(copy: &str, corpus: &str) -> Option<String> {
    // The facts are searched only for a word the copy names (this runs on every judged prefix).
    let lacks = |w: &str| find_word(corpus, w, false).is_none();
    words_of(copy)
        .into_iter()
        .find(|w| ORIGINS.contains(&w.as_str()) && lacks(w))
        .or_else(|| {
            (find_word(copy, "China", true).is_some() && lacks("china")).then(|| "china".into())
        })
        .or_else(|| {
            ["U.S.", "U.K."]
                .into_iter()
                .find(|a| copy.contains(a) && !corpus.contains(a))
                .map(str::to_lowercase)
        })
}

/// Money words English copy may say only right after an amount's digits ([`AmountWords`]).
const MONEY_WORDS: &[&str] = &[
    "dollar", "dollars", "buck", "bucks", "cent", "cents", "penny", "pennies", "rupee", "rupees",
    "quid", "grand",
];

/// Parts of a whole English copy may not name a price by ([`AmountWords`]); half and a
/// fraction are claims of half off or more ([`HALF_CLAIMS`]).
const PRICE_PARTS: &[&str] = &[
    "third", "thirds", "quarter", "quarters", "fourth", "fourths", "fifth", "sixth", "eighth",
    "tenth",
];

/// Words that make a part of a whole (`a fifth of…`) a part of the price (`…just over a third of
/// the original`: the demo, seed 599).
const PRICE_NOUNS: &[&str] = &[
    "price", "prices", "retail", "cost", "msrp", "mrp", "pay", "paid", "original",
];

/// Words that make a part of a whole a part of the price too ([`part_of_a_price`]: `…just over a
/// quarter of its value!`, `…just under a third of its usual sale value`, `…down to just over a
/// third of the sale`, the demo, seed 617, served), though not a number word or a multiple
/// (`great value, two pairs`, `on sale: two-person tent` say no price).
const PART_PRICE_NOUNS: &[&str] = &["value", "sale"];

/// Words after or before a part of a whole ([`PRICE_PARTS`]) in which a price word
/// ([`PRICE_NOUNS`]) makes it a part of the price, within its clause (`…a third of its original
/// selling price`, `…the original price of just over two-and-a-quarter`: the demo, seed 599).
const PRICE_PART_REACH: usize = 8;

/// Words that count what `grand` follows as money (`two grand`, `a few grand`), besides digits.
const GRAND_COUNTS: &[&str] = &[
    "a", "few", "couple", "several", "one", "two", "three", "four", "five", "six", "seven",
    "eight", "nine", "ten", "extra", "more",
];

/// The rule on English copy's amounts in words, which no figure of the product backs
/// ([`Reason::WrongPriceRole`]): a money word ([`MONEY_WORDS`]) with no digits right before it
/// (`…for under a dollar`, `…at the cost of just over a grand` for a $109 sleeping bag, `…just
/// over a dollar less than the rest of the market`: the demo, seed 587), or a part of a whole
/// ([`PRICE_PARTS`]) with a price word after it in its clause, within [`PRICE_PART_REACH`] words
/// (`…for just over a fifth of the original retail`, `…just under a third of what you pay`, `…a
/// third of its original selling price`: a price or a discount the catalog never set). `every
/// penny` (`worth every penny`) says no amount; `grand` is money after a count
/// ([`GRAND_COUNTS`], digits: `a grand`, `just over two grand`, seed 599) where nothing follows
/// it in its clause (`a grand.`, not `a grand view`); the facts' own words are facts. Chinese
/// copy's amounts are its numerals, judged as numbers.
///
/// One definition for the guardrails, which refuse copy in which [`Self::first_in`] finds one,
/// and the engine's gate, which never writes the token that would make it find one (`a few
/// dollars less`, the commonest first-try failure of the English demo on seed 593, is then
/// never written: the model goes on with another word where it reached for `dollars`). The
/// default finds none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmountWords {
    /// Whether the copy's locale says amounts in words the rule reads (spaced locales).
    on: bool,
    /// The money words and parts of a whole the facts themselves say, lower-cased.
    own: Vec<String>,
}

impl AmountWords {
    /// The rule for copy about `facts` under `config`.
    pub fn new(facts: &ProductFacts, config: &GuardrailConfig) -> Self {
        Self::beside(&facts.corpus(), config)
    }

    /// The rule beside the facts' words `corpus` ([`ProductFacts::corpus`]).
    pub(crate) fn beside(corpus: &str, config: &GuardrailConfig) -> Self {
        let on = !config.locale.unspaced();
        let own = MONEY_WORDS
            .iter()
            .chain(PRICE_PARTS)
            .filter(|w| on && find_word(corpus, w, false).is_some())
            .map(|w| (*w).to_string())
            .collect();
        Self { on, own }
    }

    /// The first amount in words `copy` says, lower-cased (`a dollar`, `few dollars`, `fifth of
    /// the original retail`); `None` when it says none. A word at the very end of `copy` is read
    /// as finished (`a grand` is money until a word follows it).
    pub fn first_in(&self, copy: &str) -> Option<String> {
        self.first_with_start(copy).map(|(_, said)| said)
    }

    /// Whether the rule reads amounts in words at all (a spaced locale's copy).
    pub fn applies(&self) -> bool {
        self.on
    }

    /// [`Self::first_in`] with the byte offset in `copy` where the amount's phrase begins (the
    /// word before a money word, a part of a whole).
    pub fn first_with_start(&self, copy: &str) -> Option<(usize, String)> {
        if !self.on {
            return None;
        }
        let words: Vec<(usize, &str)> = alphanumeric_runs(copy).collect();
        let own = |w: &str| self.own.iter().any(|o| o == w);
        words.iter().enumerate().find_map(|(i, &(at, word))| {
            let lower = word.to_lowercase();
            let before = i.checked_sub(1).map(|b| words[b].1.to_lowercase());
            let said = |from: usize, to: usize| {
                copy.get(words[from].0..words[to].0 + words[to].1.len())
                    .map(|s| (words[from].0, s.to_lowercase()))
            };
            if MONEY_WORDS.contains(&lower.as_str()) && !own(&lower) {
                let after_digits = before
                    .as_deref()
                    .is_some_and(|b| b.chars().all(|c| c.is_ascii_digit()));
                let idiom = before.as_deref() == Some("every");
                let clause_goes_on = copy[at + word.len()..]
                    .trim_start()
                    .starts_with(char::is_alphabetic);
                let grand_as_money = lower != "grand"
                    || (!clause_goes_on
                        && (after_digits
                            || before.as_deref().is_some_and(|b| GRAND_COUNTS.contains(&b))));
                if grand_as_money && !idiom && (lower == "grand" || !after_digits) {
                    return said(i.saturating_sub(1), i);
                }
            }
            if matches!(lower.as_str(), "pound" | "pounds") && !own(&lower) {
                if let Some(from) = cued_amount(&words, i) {
                    return said(from, i);
                }
            }
            if let Some(from) = price_in_number_words(&words, i) {
                return said(from, i);
            }
            if MULTIPLES.contains(&lower.as_str()) && !own(&lower) {
                let noun = words[i + 1..]
                    .iter()
                    .take(MULTIPLE_REACH)
                    .position(|(_, n)| PRICE_NOUNS.contains(&n.to_lowercase().as_str()));
                if let Some(k) = noun {
                    return said(i, i + 1 + k);
                }
            }
            if PRICE_PARTS.contains(&lower.as_str()) && !own(&lower) {
                return part_of_a_price(copy, &words, i).and_then(|(from, to)| said(from, to));
            }
            None
        })
    }
}

/// Multiples that make a price with a price word within [`MULTIPLE_REACH`] words after them
/// (`…only about double the price of previous years`, `…double the usual retail prices`: the
/// demo, seed 599).
const MULTIPLES: &[&str] = &["double", "twice", "triple", "thrice", "quadruple"];

/// How many words after a multiple ([`MULTIPLES`]) or after the `the` that follows a part of a
/// whole (`a third the average price`) a price word makes it a price.
const MULTIPLE_REACH: usize = 4;

/// Where the phrase begins when the number word ([`NUMBER_WORDS`]) at `i` of `words` (the
/// alphanumeric runs of the copy) is a price: a price word ([`PRICE_NOUNS`]), or one and `of`, comes right before it and
/// the words that lead into it (`…from the original price of just over two-and-a-bit`: the
/// demo, seed 599, for a two-person tent whose facts say `two`). A count elsewhere (`a tent for
/// two`) is a fact or an unlisted number, judged as numbers are.
fn price_in_number_words(words: &[(usize, &str)], i: usize) -> Option<usize> {
    let word = words[i].1.to_lowercase();
    if !NUMBER_WORDS.iter().any(|(w, _)| *w == word) {
        return None;
    }
    let leads = words[..i]
        .iter()
        .rev()
        .take_while(|(_, w)| is_amount_lead(w))
        .count();
    let price_noun = |k: usize| PRICE_NOUNS.contains(&words[k].1.to_lowercase().as_str());
    let before = i.checked_sub(leads + 1)?;
    if price_noun(before) {
        return Some(before);
    }
    let noun = before.checked_sub(1)?;
    (words[before].1.eq_ignore_ascii_case("of") && price_noun(noun)).then_some(noun)
}

/// Where the phrase begins when the words that lead into the word at `i` of `words`
/// ([`AMOUNT_LEADS`]) come right after a price cue ([`PART_CUES`]) or a price word and `of`: `…for
/// just a few extra pounds` (the demo, seed 601) and `…at a bargain price of just over a pound`
/// (seed 607) are money, `weighs just a few pounds` a weight.
fn cued_amount(words: &[(usize, &str)], i: usize) -> Option<usize> {
    let leads = words[..i]
        .iter()
        .rev()
        .take_while(|(_, w)| is_amount_lead(w))
        .count();
    let word = |k: usize| words[k].1.to_lowercase();
    let cue = i.checked_sub(leads + 1)?;
    if PART_CUES.contains(&word(cue).as_str()) {
        return Some(cue);
    }
    let noun = cue.checked_sub(1)?;
    (word(cue) == "of" && PRICE_NOUNS.contains(&word(noun).as_str())).then_some(noun)
}

/// Marks that end a clause, for the reach of a part of a whole ([`part_of_a_price`]).
const CLAUSE_MARKS: [char; 7] = [',', ';', '.', '!', '?', '(', ':'];

/// Words after which a part of a whole, through the words that lead into it ([`AMOUNT_LEADS`]),
/// is what something costs or saves (`…now retails for just over a third`, `…at only a quarter`).
const PART_CUES: &[&str] = &[
    "for", "at", "only", "from", "now", "retails", "costs", "cost", "priced", "pay", "save",
    "saves", "saving",
];

/// Words that lead into an amount (`only a few dollars`, `just over a grand`, `less than a
/// dollar`, `just over two-thirds`): the engine's gate holds a run of them from the screen and
/// takes it back with the money word after it; before a part of a whole they reach back to the
/// word that makes it a price ([`PART_CUES`]).
pub(crate) const AMOUNT_LEADS: &[&str] = &[
    "a",
    "an",
    "few",
    "couple",
    "several",
    "some",
    "just",
    "under",
    "over",
    "around",
    "about",
    "nearly",
    "almost",
    "less",
    "more",
    "than",
    "extra",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "twenty",
    "fifty",
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
];

/// Whether `word` is one of [`AMOUNT_LEADS`], in any case.
pub(crate) fn is_amount_lead(word: &str) -> bool {
    AMOUNT_LEADS
        .iter()
        .any(|lead| lead.eq_ignore_ascii_case(word))
}

/// The words (first and last index into `words`, the alphanumeric runs of `copy`) that make the
/// part of a whole at `i` ([`PRICE_PARTS`]) a part of the price, if any. Only a fraction counts:
/// the part followed by `of`, `off` or the end of its clause (not `a third season`). It is one
/// when its clause has a price word ([`PRICE_NOUNS`], [`PART_PRICE_NOUNS`]) within [`PRICE_PART_REACH`] words after it
/// (`a fifth of the original retail`) or before it (`the original price of just over
/// two-thirds`, the demo, seed 599), or when a price cue ([`PART_CUES`]) comes right before the
/// words that lead into it (`now retails for just over a third of the usual budget`, seed 599).
fn part_of_a_price(copy: &str, words: &[(usize, &str)], i: usize) -> Option<(usize, usize)> {
    let (at, word) = words[i];
    let end = at + word.len();
    let rest = copy[end..].trim_start();
    let next = words.get(i + 1).map(|(_, w)| w.to_lowercase());
    let price_noun = |w: &str| {
        let w = w.to_lowercase();
        PRICE_NOUNS.contains(&w.as_str()) || PART_PRICE_NOUNS.contains(&w.as_str())
    };
    // `a third the price` (the demo, seed 599: `…down to just over a third the price of this
    // phone case`, then `…a third the average price of this phone case`).
    let of_the_price = next.as_deref() == Some("the")
        && words.get(i + 2..).is_some_and(|after| {
            after
                .iter()
                .take(MULTIPLE_REACH - 1)
                .any(|(_, w)| price_noun(w))
        });
    let fraction = rest.is_empty()
        || rest.starts_with(CLAUSE_MARKS)
        || rest.starts_with(')')
        || matches!(next.as_deref(), Some("of" | "off"))
        || of_the_price;
    if !fraction {
        return None;
    }
    let clause_end = copy[at..].find(CLAUSE_MARKS).map_or(copy.len(), |e| at + e);
    if let Some(k) = words[i + 1..]
        .iter()
        .take(PRICE_PART_REACH)
        .take_while(|(w_at, _)| *w_at < clause_end)
        .position(|(_, n)| price_noun(n))
    {
        return Some((i, i + 1 + k));
    }
    let clause_start = copy[..at].rfind(CLAUSE_MARKS).unwrap_or(0);
    if let Some(k) = words[..i]
        .iter()
        .rev()
        .take(PRICE_PART_REACH)
        .take_while(|(w_at, _)| *w_at >= clause_start)
        .position(|(_, n)| price_noun(n))
    {
        return Some((i - 1 - k, i));
    }
    cued_amount(words, i)
        .or_else(|| measured_from(words, i))
        .map(|from| (from, i))
}

/// Words before a part of a whole that measure it (`just over a third`, `nearly a quarter`).
const MEASURING_LEADS: &[&str] = &["over", "under", "nearly", "almost", "about", "around"];

/// Units a measured part of a whole may be a part of without being a price, within
/// [`MULTIPLE_REACH`] words after it (`about a quarter of an hour`).
const NOT_PRICE_UNITS: &[&str] = &[
    "hour", "day", "week", "month", "year", "minute", "mile", "inch", "metre", "meter", "cup",
    "litre", "liter", "size", "weight",
];

/// Where the words that lead into the part of a whole at `i` of `words` begin, when one of them
/// measures it ([`MEASURING_LEADS`]): a fraction so measured on a shelf talker is a price in
/// words whatever noun follows, or none does. With the price words barred the demo went on
/// `…is just over a quarter of its asking`, `…down to just over a third of the usual`, `…just
/// under a third of its usual high-end range.` (en, seed 617, served).
fn measured_from(words: &[(usize, &str)], i: usize) -> Option<usize> {
    let leads = words[..i]
        .iter()
        .rev()
        .take_while(|(_, w)| is_amount_lead(w))
        .count();
    let unit = words[i + 1..]
        .iter()
        .take(MULTIPLE_REACH)
        .any(|(_, w)| NOT_PRICE_UNITS.iter().any(|u| u.eq_ignore_ascii_case(w)));
    let measured = words[i - leads..i]
        .iter()
        .any(|(_, w)| MEASURING_LEADS.iter().any(|m| m.eq_ignore_ascii_case(w)));
    (measured && !unit).then_some(i - leads)
}

/// English copy's claim of the lowest price anywhere, in any words: `lowest` and, within the
/// four words after it ([`words_of`]), a noun of [`LOWEST_NOUNS`] (`the lowest
/// possible price`, served by the demo on seed 523; `the lowest online price of all time`, seed
/// 547; `…only the lowest priced running shoe in the market today`, seed 617), which no
/// store can make good. The banned phrases name the commonest (`lowest price`); this finds the
/// rest, lower-cased.
fn lowest_price_claim(copy: &str) -> Option<String> {
    // `…now 68.99 at the lowest; less than a month to be gone` (the demo, seed 631, served):
    // the claim with its noun left out.
    let lower = copy.to_lowercase();
    // Only with a mark after it: at the end of the text a word may still follow (the screen
    // gate judges the copy as it streams, `…at the lowest` before ` setting`), and a copy that
    // ends there is unfinished ([`unfinished_ending`]).
    if before_a_mark(&lower, "at the lowest") {
        return Some("at the lowest".into());
    }
    let words = words_of(copy);
    words.iter().enumerate().find_map(|(i, w)| {
        if w != "lowest" {
            return None;
        }
        // `…now at the lowest possible rate`, `…the lowest possible 93.99` (seed 653, once
        // `price` was barred after it): the claim whatever the noun; and `at the lowest` before
        // a word that names no thing (`…priced at the lowest in our store`, `…at the lowest
        // available on the market`, seed 661, once `at the best` was barred).
        let at_the = i >= 2 && words[i - 2] == "at" && words[i - 1] == "the";
        if words
            .get(i + 1)
            .is_some_and(|n| n == "possible" || (at_the && LOWEST_LEADS_ON.contains(&n.as_str())))
        {
            return Some(words[i..=i + 1].join(" "));
        }
        words[i + 1..]
            .iter()
            .take(4)
            .position(|n| LOWEST_NOUNS.contains(&n.as_str()))
            .map(|k| words[i..=i + 1 + k].join(" "))
    })
}

/// Words after `at the lowest` that name no thing it is the lowest of: the claim of the lowest
/// price (`at the lowest in our store`; `at the lowest setting` names one).
const LOWEST_LEADS_ON: &[&str] = &[
    "in",
    "of",
    "on",
    "available",
    "anywhere",
    "around",
    "ever",
    "yet",
    "for",
    "at",
];

/// Nouns that make `lowest` within four words before them a claim of the lowest price (`the
/// lowest rate`, `the lowest deal`, `the lowest budget`, `the lowest of high-end prices`).
const LOWEST_NOUNS: &[&str] = &[
    "price", "prices", "priced", "pricing", "cost", "rate", "rates", "deal", "deals", "offer",
    "bid", "mark", "budget", "tag", "discount",
];

/// Claims made in words, with no figure for the number gate to judge, that only the product's
/// facts can back (English copy): the lowest price in any words ([`lowest_price_claim`]), a span
/// of time in a unit the facts never use ([`time_claim`]), a superlative over every product with
/// `ever` ([`ever_superlative`]) and `at the best` with its noun left out ([`at_the_best`]), each
/// unless the facts have its key word (`lowest`, a unit, `ever`, `best`). One definition for the
/// guardrails, which refuse copy in which [`Self::first_in`] finds one, and the engine's gate,
/// which never writes the token that would make it find one where the text before did not (the
/// model writes something else there: a first try kept, where a refusal after the whole copy
/// costs a second). The default finds none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordClaims {
    on: bool,
    /// The units of time ([`TIME_UNITS`]) the facts use.
    units: Vec<&'static str>,
    /// Whether the facts have `lowest`, `ever`, `best`.
    lowest: bool,
    ever: bool,
    best: bool,
}

impl WordClaims {
    /// The rule for copy about `facts` under `config`.
    pub fn new(facts: &ProductFacts, config: &GuardrailConfig) -> Self {
        Self::beside(&facts.corpus(), config)
    }

    /// The rule beside the facts' words `corpus` ([`ProductFacts::corpus`]).
    pub(crate) fn beside(corpus: &str, config: &GuardrailConfig) -> Self {
        let mut units: Vec<&'static str> = words_of(corpus)
            .iter()
            .filter_map(|w| time_unit(w))
            .collect();
        units.sort_unstable();
        units.dedup();
        let has = |word: &str| find_word(corpus, word, false).is_some();
        Self {
            on: !config.locale.unspaced(),
            units,
            lowest: has("lowest"),
            ever: has("ever"),
            best: has("best"),
        }
    }

    /// The first claim `copy` makes that the facts do not back, as the guardrails refuse it; a
    /// claim the end of `copy` may still turn into other words is [`Reason::Unfinished`] (a
    /// unit that may become `weekend`, `at the best` before `price`).
    pub fn first_in(&self, copy: &str) -> Option<Reason> {
        if !self.on {
            return None;
        }
        if !self.lowest {
            if let Some(claim) = lowest_price_claim(copy) {
                return Some(Reason::BannedPhrase(claim));
            }
        }
        time_claim(copy, &self.units)
            .or_else(|| (!self.ever).then(|| ever_superlative(copy)).flatten())
            .or_else(|| (!self.best).then(|| at_the_best(copy)).flatten())
    }
}

/// Units of time (singular, lower case) a claim of how long the product lasts, or keeps
/// something so, is made in.
const TIME_UNITS: &[&str] = &[
    "second", "minute", "hour", "day", "night", "week", "month", "year", "decade", "century",
];

/// Words that count a unit of time after `up to` (`up to an hour`, `up to a few weeks`); digits
/// count too.
const TIME_COUNTS: &[&str] = &[
    "a", "an", "one", "few", "couple", "several", "two", "three", "four", "five", "six", "seven",
    "eight", "nine", "ten", "twelve", "twenty", "thirty", "hundred",
];

/// Words that may stand between a count and its unit of time (`up to an extra hour`, `up to an
/// entire day`, `up to a full night`: the demo, seed 653, once `up to an hour` was barred).
const TIME_FILLERS: &[&str] = &[
    "extra",
    "entire",
    "full",
    "whole",
    "additional",
    "single",
    "half",
    "more",
];

/// Words after a possessive unit of time that set the price beside a wage or a rent (`less
/// than a week's rent`).
const TIME_PRICES: &[&str] = &[
    "rent",
    "pay",
    "wage",
    "wages",
    "salary",
    "budget",
    "groceries",
];

/// Words after a counted unit of time that make it how long the product lasts (`10-day
/// battery life`, `one-year warranty`).
const TIME_LASTS: &[&str] = &[
    "battery",
    "life",
    "warranty",
    "guarantee",
    "runtime",
    "charge",
];

/// Pairs of words before a counted unit of time that bound a span (`up to an hour`, `less than
/// one hour`), and single words that do (`within a day`).
const SPAN_PAIRS: &[(&str, &str)] = &[
    ("up", "to"),
    ("less", "than"),
    ("more", "than"),
    ("at", "least"),
];
const SPAN_WORDS: &[&str] = &["within", "under", "over"];

/// Counts too vague to be a use (`for a day at the beach` is one) that make `for` bound a span:
/// `…only available at the store for just a few weeks` (the demo, en, seed 683, served once `few
/// more weeks` was barred), a deadline nobody set. `just` or `only` may stand after `for`.
const VAGUE_COUNTS: &[&str] = &["few", "several", "couple"];

/// The unit of [`TIME_UNITS`] `word` (a word of [`words_of`]) writes, plural or possessive
/// (`hours`, `week's`, `weeks'`), if any.
fn time_unit(word: &str) -> Option<&'static str> {
    let bare = word.trim_end_matches("'s").trim_end_matches('\'');
    let bare = bare.strip_suffix('s').unwrap_or(bare);
    TIME_UNITS.iter().copied().find(|u| *u == bare)
}

/// English copy's claim of a span of time its facts do not make (no word of theirs is that
/// unit): how long the product lasts or keeps something so (`up to an hour`, `for up to a
/// week`, `less than one hour of charging`, `within a day`, `10-day battery life`), what it
/// costs per unit of time (`per night`), its age (`a month old`), or its price set beside a
/// week's rent. The Flipkart sample (seed 653) served `…6 cell battery with less than one hour
/// of charging` and `Watch on the go, 10-day battery life.` for an analog watch. Served by the demo (en, seed 653): `The brasswren Zenith sock pack
/// keeps your water icy for up to an hour`, `…a fast charger that lasts for up to an hour`, `…this
/// one will stay cold for up to a year. … at just over R-money per night!`, `…now just over a
/// month old`, `…now less than a week's rent`; seed 619: `keeps your coffee cold for up to a
/// week`. Digits pass the number gate only where the facts have them, but `an hour` has none.
/// The claim as written, lower-cased, is [`Reason::BannedPhrase`] (a price beside a rent,
/// [`Reason::WrongPriceRole`]); a unit that ends the text may still become another word
/// (`a week` before `end`): [`Reason::Unfinished`], as the screen gate waits for the end.
fn time_claim(copy: &str, known: &[&str]) -> Option<Reason> {
    let words = words_of(&copy.replace('’', "'"));
    let at_end = copy.ends_with(|c: char| c.is_alphanumeric() || c == '\'');
    let counted = |w: &str| TIME_COUNTS.contains(&w) || w.chars().all(|c| c.is_ascii_digit());
    words.iter().enumerate().find_map(|(i, w)| {
        time_unit(w).filter(|u| !known.contains(u))?;
        let before = |k: usize| i.checked_sub(k).map(|j| words[j].as_str());
        let after = words.get(i + 1).map(String::as_str);
        // `up to an hour`, `up to a few weeks`: the count and any `a` before it; one word of
        // [`TIME_FILLERS`], or two, may stand between (`up to an extra hour`, `up to a full
        // night`, `up to an extra half hour`).
        let filler = (1..=2)
            .take_while(|&k| before(k).is_some_and(|f| TIME_FILLERS.contains(&f)))
            .count();
        let lead = match (before(filler + 1), before(filler + 2)) {
            (Some(c), Some("a")) if counted(c) => filler + 2,
            (Some(c), _) if counted(c) => filler + 1,
            _ => 0,
        };
        let pair = lead > 0
            && SPAN_PAIRS
                .iter()
                .any(|(a, b)| before(lead + 2) == Some(a) && before(lead + 1) == Some(b));
        let single = lead > 0 && before(lead + 1).is_some_and(|b| SPAN_WORDS.contains(&b));
        let hedge = usize::from(before(lead + 1).is_some_and(|b| b == "just" || b == "only"));
        let vague = lead > 0
            && before(filler + 1).is_some_and(|c| VAGUE_COUNTS.contains(&c))
            && before(lead + hedge + 1) == Some("for");
        let per = before(1) == Some("per");
        let old = lead > 0 && after == Some("old");
        let lasts = lead > 0 && after.is_some_and(|a| TIME_LASTS.contains(&a));
        let wage = w.ends_with('\'') || w.ends_with("'s");
        let wage = wage && after.is_some_and(|a| TIME_PRICES.contains(&a));
        if !(pair || single || vague || per || old || lasts || wage) {
            return None;
        }
        if at_end && i + 1 == words.len() {
            return Some(Reason::Unfinished(w.clone()));
        }
        let from = i - if pair {
            lead + 2
        } else if single {
            lead + 1
        } else if vague {
            lead + hedge + 1
        } else if per {
            1
        } else {
            lead
        };
        let to = if old || wage || lasts { i + 1 } else { i };
        let claim = words[from..=to].join(" ");
        Some(if wage {
            Reason::WrongPriceRole(format!("a price set beside another thing's: {claim}"))
        } else {
            Reason::BannedPhrase(claim)
        })
    })
}

/// Superlatives `ever` makes a claim over every product there is (`the best water bottle
/// ever`, the demo, en, seed 653, served).
const EVER_SUPERLATIVES: &[&str] = &["best", "greatest", "finest", "coolest", "cutest", "most"];

/// English copy's superlative over every product there is, with `ever` after it in the same
/// clause, within five words (`the best water bottle ever`), as written, lower-cased. At the end of the text `ever` may still become a longer word
/// (`everyday`): [`Reason::Unfinished`], as the screen gate waits for the end.
fn ever_superlative(copy: &str) -> Option<Reason> {
    let at_end = copy.ends_with(|c: char| c.is_alphanumeric());
    let clauses: Vec<&str> = copy.split(['.', ',', ';', ':', '!', '?']).collect();
    let last = clauses.len() - 1;
    clauses.iter().enumerate().find_map(|(c, clause)| {
        let words = words_of(clause);
        let i = words
            .iter()
            .position(|w| EVER_SUPERLATIVES.contains(&w.as_str()))?;
        let k = words[i + 1..]
            .iter()
            .take(5)
            .position(|w| w == "ever")
            .map(|k| i + 1 + k)?;
        if at_end && c == last && k + 1 == words.len() {
            return Some(Reason::Unfinished("ever".into()));
        }
        Some(Reason::BannedPhrase(words[i..=k].join(" ")))
    })
}

/// Whether `phrase` is in `lower` (lower-cased copy) with a mark right after it (spaces aside):
/// only then is it whole, as a word may still follow it at the end of the text.
fn before_a_mark(lower: &str, phrase: &str) -> bool {
    lower.match_indices(phrase).any(|(at, m)| {
        let rest = lower[at + m.len()..].trim_start();
        rest.starts_with(|c: char| !c.is_alphanumeric())
    })
}

/// English copy's `at the best` with its noun left out, before a mark (`…a printland ceramic
/// mug at the best.`, the Flipkart sample, seed 653, served): the best price's claim
/// ([`Reason::BannedPhrase`]); at the end of the text, where `price` may still follow,
/// [`Reason::Unfinished`].
fn at_the_best(copy: &str) -> Option<Reason> {
    let lower = copy.to_lowercase();
    if before_a_mark(&lower, "at the best") {
        return Some(Reason::BannedPhrase("at the best".into()));
    }
    lower
        .ends_with("at the best")
        .then(|| Reason::Unfinished("best".into()))
}

/// Marks no finished copy ends on: a clause, list or aside still open (`,` `;` `:` `(` `-` `–`
/// `—` `/` `&`, and Chinese `，` `、` `；` `：` `（`).
const OPEN_MARKS: &[char] = &[
    ',', ';', ':', '(', '[', '-', '–', '—', '/', '&', '，', '、', '；', '：', '（',
];

/// The mark copy was left open at, in any locale: its last character is one of [`OPEN_MARKS`].
/// What generation cut by `max_tokens` looks like: the demo kiosk served "…now on sale for 20%
/// off, only $109.49 (was $136.99,".
pub(crate) fn open_ending(copy: &str) -> Option<&str> {
    let text = copy.trim_end();
    let last = text.chars().next_back()?;
    OPEN_MARKS
        .contains(&last)
        .then(|| &text[text.len() - last.len_utf8()..])
}

/// Marks a finished sentence ends on.
const SENTENCE_ENDS: &[char] = &['.', '!', '?', '…', '。', '！', '？'];

/// Copy whose generation was cut short (at `max_tokens`, or at the generation gate's dead end:
/// every token drawn for a step refused, nothing left to take back), judged once more: the model
/// had not ended its line, so the copy is finished only where it ends a sentence
/// ([`SENTENCE_ENDS`]); otherwise
/// [`Reason::Unfinished`], with its last word (its last character in Chinese), and the service
/// serves it ended at its last whole clause or not at all. The zh-CN demo served `木野 疾风咖啡机
/// 炭黑，保温壶，木野 疾风，木野 咖啡机 炭黑，木材，木桶，保温壶，木材，木桶，保温瓶，木` (seed
/// 619): 48 tokens cut in a word, which no rule read as unfinished since no Chinese word waits
/// for the next as `with` does. At a dead end the demo served `Mint, 25.49: a compact t-shirt
/// with organic cotton and a relaxed` and `Northpine Fable Running Shoe Ivory, now at a lower`
/// (en, seed 653), the model's next word refused.
pub fn unfinished_where_cut(copy: &str) -> Option<Reason> {
    let text = copy.trim_end();
    // A sentence may end inside the marks that close it (`…a great gift.)`, `…真好。”`).
    let closed = text.trim_end_matches([')', '"', '”', '’', '\'', '）', '」', '』', '】']);
    if closed.ends_with(SENTENCE_ENDS) {
        return None;
    }
    let word = text.split_whitespace().next_back().unwrap_or_default();
    let last = match word.char_indices().next_back() {
        Some((at, c)) if is_cjk(c) => &word[at..],
        _ => word,
    };
    Some(Reason::Unfinished(last.to_string()))
}

/// Price words that wait for their amount when a bracket holds nothing else.
const PRICE_CUES: &[&str] = &["was", "now", "only", "just", "save", "mrp", "from", "off"];

/// A price cue alone in brackets (`…now at only: (was)`, a second try served by the demo, en,
/// seed 593, where the list price should have followed): the word, as written.
fn price_cue_aside(copy: &str) -> Option<&str> {
    copy.match_indices('(').find_map(|(at, _)| {
        let inside = &copy[at + 1..];
        let word = inside[..inside.find(')')?].trim();
        PRICE_CUES
            .contains(&word.to_ascii_lowercase().as_str())
            .then_some(word)
    })
}

/// A bracket `copy` opens more often than it closes, beyond what the product's facts `corpus`
/// leave open (a catalog name cut to length, `Tee (Pack of 2`, is a fact).
fn unclosed_bracket<'c>(copy: &'c str, corpus: &str) -> Option<&'c str> {
    let open_beyond = |text: &str, open: char, close: char| {
        text.matches(open).count() as i64 - text.matches(close).count() as i64
    };
    [('(', ')'), ('（', '）'), ('[', ']')]
        .into_iter()
        .find(|(open, close)| {
            open_beyond(copy, *open, *close) > open_beyond(corpus, *open, *close).max(0)
        })
        .and_then(|(open, _)| copy.rfind(open).map(|i| &copy[i..i + open.len_utf8()]))
}

/// Words a finished English phrase does not end on: articles, conjunctions, possessives and
/// the prepositions that always take an object ("with", "of", "from", "than", "under": `…Sleeping
/// Bag Forest, for under`, served by the demo, en, seed 353), and "just" where the amount should
/// follow (`…Shampoo Berry for just`, seed 367; "only" too, but after an amount: `₹349 only` is
/// how Indian retail writes a price, [`unfinished_ending`]). Not "on", "in", "to", "for", "by":
/// "slip it on", "look forward to", "what you came for" and "stop by" are finished.
const UNFINISHED_ENDINGS: &[&str] = &[
    "a",
    "an",
    "and",
    "as",
    "at",
    "but",
    "from",
    "just",
    "of",
    "or",
    "than",
    "the",
    "under",
    "with",
    "your",
    "our",
    "its",
    "their",
    // A subject and its verb with nothing after them: `…that you can wear to work. It’s` (the
    // Flipkart sample, seed 619, served).
    "it's",
    "it’s",
    "that's",
    "that’s",
    "there's",
    "there’s",
    "they're",
    "they’re",
    "you're",
    "you’re",
    "we're",
    "we’re",
];

/// Verbs after which `for` may end copy (`the boot you came for`); after any other word a final
/// `for` waits for what it is for (`…now goes for`, `…keeps your drinks cold for`: the demo, seed
/// 557).
const FOR_ENDS_AFTER: &[&str] = &[
    "came",
    "come",
    "looking",
    "look",
    "waiting",
    "wait",
    "searching",
    "asked",
    "ask",
    "hoped",
    "wished",
];

/// Words after which a final `over` waits for the amount it is over (`for over`, `just over`),
/// and `about`, `around`, `nearly`, `almost` for the amount they come near (`…now for just over a
/// month, only about`: the demo, seed 599, once the words that led into `dollars` went back).
const OVER_WAITS_AFTER: &[&str] = &[
    "for", "just", "of", "at", "only", "slightly", "little", "well", "from", "costs", "to",
];

/// Words that wait for a noun when an article or possessive comes right before them: "…and a
/// warm", "your new". Adjectives of product copy that are not also nouns ("a classic", "an
/// essential", "a light", "your favourite" are finished).
const DANGLING_ADJECTIVES: &[&str] = &[
    "affordable",
    "beautiful",
    "better",
    "breathable",
    "bright",
    // `…now at a lower`, `…with organic cotton and a relaxed` (the demo, seed 653, served).
    "cheaper",
    "comfortable",
    "compact",
    "cosy",
    "cozy",
    "crisp",
    "delicious",
    "durable",
    "elegant",
    "fresh",
    // `…a shampoo with plant-based cleansers and an gentle`, `…colour-coded poles and a full`
    // (the demo, seed 659, served).
    "full",
    "gentle",
    "gorgeous",
    "great",
    "handy",
    "lightweight",
    // `…Building Set Forest, now at the lowest` (served, en, seed 379).
    "lower",
    "lowest",
    "luxurious",
    "modern",
    "new",
    "perfect",
    "portable",
    "practical",
    "real",
    "reliable",
    "sleek",
    "smooth",
    "soft",
    "stylish",
    "sturdy",
    "timeless",
    "true",
    "versatile",
    "vibrant",
    "warm",
    "waterproof",
];

/// Words before which a dangling adjective leaves the phrase open.
const DETERMINERS: &[&str] = &["a", "an", "the", "your", "our", "its", "their", "this"];

/// Intensifiers that never end a phrase: "…made to feel very".
const INTENSIFIERS: &[&str] = &["very", "truly", "really"];

/// The last word of a clause inside `copy` (before a `,;.!?` and a space) that leaves it
/// waiting as [`unfinished_ending`] finds it at the copy's end: `…now at a price of just over, so
/// cheap you don't even need to buy it anymore` (the demo, seed 571, where the gate would not let
/// the copy end on `just over` and the model went on). But an adjective before a comma waits for
/// nothing (`a soft, warm throw`; `A rechargeable, high-quality set`, the Flipkart sample, seed
/// 673, refused before), and a colon goes on with what it introduces (`Best for: deep
/// conditioning`, the Flipkart sample, seed 577).
pub(crate) fn unfinished_clause(copy: &str) -> Option<&str> {
    copy.char_indices()
        .filter(|&(at, c)| {
            matches!(c, ',' | ';' | '.' | '!' | '?')
                && copy[at + 1..].starts_with(char::is_whitespace)
        })
        .find_map(|(at, _)| {
            // `Rs. 399`: the code's full stop, its amount after it.
            let amount_after = copy[at + 1..]
                .trim_start()
                .starts_with(|c: char| c.is_ascii_digit());
            let finished = |w: &&str| {
                let word = w.to_ascii_lowercase();
                DANGLING_ADJECTIVES.contains(&word.as_str())
                    || reads_as_adjective(&word)
                    || (amount_after && is_currency_code(w))
            };
            unfinished_ending(&copy[..at]).filter(|w| !finished(w))
        })
}

/// Whether `word` is a currency's code, written before its amount (`Rs`, `INR`, `USD`: the
/// capitalised [`CURRENCY_WORDS`]), in any case.
pub(crate) fn is_currency_code(word: &str) -> bool {
    CURRENCY_WORDS
        .iter()
        .any(|c| c.starts_with(char::is_uppercase) && c.eq_ignore_ascii_case(word))
}

/// The last word of `copy` (its trailing punctuation, and marks or emoji after it, aside: `for
/// under ’.`, `for under ⭐️`, `for just under ...`, the demo, seed 523) when the copy stopped
/// mid-phrase: one of [`UNFINISHED_ENDINGS`] or [`INTENSIFIERS`], "for" but after one of
/// [`FOR_ENDS_AFTER`] (and never before such marks), "only" after anything but an amount, or a [`DANGLING_ADJECTIVES`] word right after one of
/// [`DETERMINERS`].
pub(crate) fn unfinished_ending(copy: &str) -> Option<&str> {
    let bare = |w: &'_ str| -> String {
        w.trim_matches(|c: char| c.is_ascii_punctuation() || c == '…')
            .to_ascii_lowercase()
    };
    let mut words = copy.split_whitespace().rev().peekable();
    let mut after_marks = false;
    while words
        .next_if(|w| !w.chars().any(char::is_alphanumeric))
        .is_some()
    {
        after_marks = true;
    }
    let last_word = words.next()?;
    let last = last_word.trim_end_matches(|c: char| c.is_ascii_punctuation() || c == '…');
    let word = bare(last);
    if UNFINISHED_ENDINGS.contains(&word.as_str()) || INTENSIFIERS.contains(&word.as_str()) {
        return Some(last);
    }
    let raw_before = words.next().unwrap_or_default();
    let before = bare(raw_before);
    let third = words.next().map(bare).unwrap_or_default();
    // `…now from only a few` (the demo, seed 599, where the gate kept `dollars` from following)
    // waits for what there are a few of; `quite a few` has it.
    if word == "few" && before == "a" && third != "quite" {
        return Some(last);
    }
    // `…at this moment, only available on` (the demo, seed 619, served) waits for where; `from
    // now on` and `slip it on` are finished.
    if matches!(word.as_str(), "on" | "via")
        && PLACE_WAITS_AFTER.contains(&before.as_str())
        && !(before == "now" && third == "from")
    {
        return Some(last);
    }
    // `…it's not just stylish but also` (the Flipkart sample, seed 619, served).
    if word == "also" && before == "but" {
        return Some(last);
    }
    // `…set to go on sale for just under one`, `…from only under one` (the demo, seed 631,
    // served): an amount in words whose money word the gate kept back.
    let small_count = matches!(
        word.as_str(),
        "one" | "two" | "three" | "four" | "five" | "six" | "seven" | "eight" | "nine" | "ten"
    );
    if small_count && matches!(before.as_str(), "under" | "over") {
        return Some(last);
    }
    // `…now 68.99 at the lowest` waits for what is lowest (with a mark after it, a claim of the
    // lowest price: [`lowest_price_claim`]).
    if word == "lowest" && before == "the" {
        return Some(last);
    }
    // `…snack mix with roasted nuts and no` (seed 619, served) waits for what it has none of.
    if word == "no"
        && (CONJUNCTIONS.contains(&before.as_str()) || before == "with")
        && third != "yes"
    {
        return Some(last);
    }
    // `The Rivetta Atlas charger with overheat protection is now` (seed 619, served) waits for
    // what it is now; `available now` is finished.
    if word == "now" && COPULAS.contains(&before.as_str()) {
        return Some(last);
    }
    // `…for just a few more`, `…for just a few extra` (seed 601) wait for what there are more
    // of.
    if matches!(word.as_str(), "more" | "less" | "extra") && before == "few" {
        return Some(last);
    }
    // `the boot you came for` ends; `board game for 🎀` (the demo, seed 547) reached for an
    // amount and wrote a symbol instead.
    if word == "for" && (after_marks || !FOR_ENDS_AFTER.contains(&before.as_str())) {
        return Some(last);
    }
    // `…selling face cream for over` and `…lasts for up to` (the demo, seed 569) wait for an
    // amount; `the wait is over` has it.
    if (matches!(
        word.as_str(),
        "over" | "about" | "around" | "nearly" | "almost"
    ) && OVER_WAITS_AFTER.contains(&before.as_str()))
        || (word == "to" && before == "up")
    {
        return Some(last);
    }
    // `…building set with moving parts and over` (the demo, en, seed 709, served twice, found by
    // the bench's junk check): over what? `for ages 12 and over` and `over and over` are said.
    if word == "over"
        && matches!(before.as_str(), "and" | "or")
        && third != "over"
        && !third.starts_with(|c: char| c.is_ascii_digit())
    {
        return Some(last);
    }
    // `…for Rs.` and `…at a discounted price of Rs` (the Flipkart sample, seed 617, served): a
    // currency's code where its amount goes, and no amount came; `₹399 INR` has it.
    if is_currency_code(&word) && !raw_before.ends_with(|c: char| c.is_ascii_digit()) {
        return Some(last);
    }
    // `…the original price of about US` (the demo, seed 653), `…for under a few extra US` (659),
    // both served: the country of a dollar sign, where its amount goes (`…made for us` is the
    // pronoun, in lowercase; a place the product is sold or made in is refused anyway).
    if last == "US" {
        return Some(last);
    }
    // `…(it can be used as an extra bed), but it` (the demo, seed 617): a clause opened on its
    // subject and cut there.
    if SUBJECTS.contains(&word.as_str()) && CONJUNCTIONS.contains(&before.as_str()) {
        return Some(last);
    }
    // `…is now on sale, only` (seed 367) and `…now 24.49, only` (seed 379) wait for an amount;
    // `₹349 only` has it.
    let only = word == "only" && !raw_before.ends_with(|c: char| c.is_ascii_digit());
    (only
        || ((DANGLING_ADJECTIVES.contains(&word.as_str()) || reads_as_adjective(&word))
            && DETERMINERS.contains(&before.as_str())))
    .then_some(last)
}

/// Whether `word` (lower case, as [`unfinished_ending`] reads it) has an adjective's shape that
/// no noun of product copy has, so that after an article it waits for its noun: a participle
/// (`…with organic cotton and a relaxed`, `a padded`), `-able`/`-ible` (`…with an adjustable`),
/// `-less` (`a stainless`), or a compound that counts (`…with a 30-hour`, `…with a two-person`).
/// The demo served each (en, seeds 653 and 659), where the model ended the copy on it.
fn reads_as_adjective(word: &str) -> bool {
    let n = word.chars().count();
    let counted = word.split_once('-').is_some_and(|(head, tail)| {
        !tail.is_empty()
            && (head.chars().all(|c| c.is_ascii_digit())
                || NUMBER_WORDS.iter().any(|(w, _)| *w == head))
    });
    counted
        || (n >= 6 && word.ends_with("ed") && !word.ends_with("eed"))
        || (n >= 8 && (word.ends_with("able") || word.ends_with("ible")) && word != "vegetable")
        || (n >= 6 && word.ends_with("less"))
}

/// Words after which a final `on` or `via` waits for the place it names (`only available on`):
/// the cues of [`SHOP_CUES`] that are no verb's object (`slip it on` is finished).
const PLACE_WAITS_AFTER: &[&str] = &[
    "available",
    "only",
    "now",
    "exclusively",
    "exclusive",
    "sold",
    "sale",
    "stocked",
    "carried",
    "found",
    // `…from the seller's listing on` (the demo, seed 631, served).
    "listing",
    "listed",
];

/// Forms of `to be` after which a final `now` waits for what the subject now is (`…is now`).
const COPULAS: &[&str] = &[
    "is",
    "are",
    "was",
    "were",
    "it's",
    "it’s",
    "they're",
    "they’re",
];

/// Subject pronouns a clause opens with ([`unfinished_ending`]: `…, but it`).
const SUBJECTS: &[&str] = &["it", "they", "we", "he", "she"];

/// Conjunctions after which a subject alone leaves its clause open (`…, but it`).
const CONJUNCTIONS: &[&str] = &[
    "but", "and", "so", "because", "if", "when", "while", "as", "or", "since", "until",
];

/// Whether a letter is of the locale's scripts: Latin (ASCII) letters, and for `zh-CN` also
/// Han and kana.
fn in_locale_script(c: char, locale: Locale) -> bool {
    c.is_ascii_alphabetic() || (locale.unspaced() && is_cjk(c))
}

fn charset_ok(copy: &str, config: &GuardrailConfig) -> bool {
    if copy.chars().any(|c| c.is_control() || never_shown(c))
        || orphan_mark(copy).is_some()
        || mark_inside_a_word(copy)
    {
        return false;
    }
    let letters: Vec<char> = copy.chars().filter(|c| c.is_alphabetic()).collect();
    let share = LetterShare::new(config);
    let latin = letters
        .iter()
        .filter(|c| in_locale_script(**c, config.locale))
        .count();
    !letters.is_empty()
        && share.holds(copy)
        && !share.runs_long(copy)
        && longest_mark_repeat(copy) <= MAX_SYMBOL_RUN
        && latin as f32 >= config.min_latin_ratio * letters.len() as f32
}

/// Whether `copy` has a `?` or `!` with a Latin letter right on both sides (`…the original
/// price of about US?J?`, the demo, en, seed 653, served: noise where an amount was refused),
/// which no sentence writes.
fn mark_inside_a_word(copy: &str) -> bool {
    let chars: Vec<char> = copy.chars().collect();
    chars.windows(3).any(|w| {
        matches!(w[1], '?' | '!') && w[0].is_ascii_alphabetic() && w[2].is_ascii_alphabetic()
    })
}

/// The charset rule's share of letters: at least [`GuardrailConfig::min_letter_ratio`] of the
/// copy's visible characters are letters. Digits are judged by the number checks and do not
/// count; Chinese copy is dense with punctuation (`，。：`, a price's `¥` and `.`), so there only
/// what is neither punctuation nor a currency sign counts against the letters. One definition
/// for the guardrails and the engine's gate, which writes no symbol that takes copy long enough
/// to end under it (a run of emoji after the copy: `…₹2115. 💤🛌😴💤🛌`).
///
/// With it, runs of symbols: no more than [`MAX_SYMBOL_RUN`] symbols ([`is_symbol`], counted by
/// grapheme: `🛍️` is one) in a row, whitespace between them aside. The model's emoji runs after
/// the copy keep the share while they last (`…now only ₹1350. 🛒🛍️🛒🛍️🛒🛍️🛒🛍️🛒SHOP NOW!…`,
/// the Flipkart sample, seed 491) and read as noise on the screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LetterShare {
    /// The least share; 0 (the default) holds for any copy.
    min: f32,
    unspaced: bool,
    /// The most symbols in a row; `usize::MAX` (the default) for any copy.
    max_run: usize,
}

impl Default for LetterShare {
    /// The rule that holds for any copy.
    fn default() -> Self {
        Self {
            min: 0.0,
            unspaced: false,
            max_run: usize::MAX,
        }
    }
}

/// A visible character that is neither a letter nor a digit, punctuation (ASCII, general, CJK
/// and full-width: `-`, `—`, `…`, `，`) nor a currency sign: an emoji, `★`, `※`.
pub fn is_symbol(c: char) -> bool {
    !(c.is_alphanumeric()
        || c.is_whitespace()
        || c.is_ascii_punctuation()
        || CURRENCY_SYMBOLS.contains(c)
        || matches!(c, '\u{2010}'..='\u{205e}' | '\u{3000}'..='\u{303f}' | '\u{ff01}'..='\u{ff65}'))
}

/// ASCII characters of code and markup, never of a shelf talker: the backslash of an escape
/// written out (`…now at only \\uFE35.99`, `…now on sale for only \\u`: the demo, en, seeds 599
/// and 607, served and passed as punctuation), the backtick, underscore, braces, caret, bar and
/// asterisk (markdown's emphasis, a footnote's mark that no footnote follows), and their
/// full-width forms (`＊`, `｜`), which the guardrails read folded. Copy may have one only where
/// its facts do (`Times_51`): [`only_from_facts`]. Not the tilde: Chinese copy's `～` is a tone
/// of voice. `<` and `>` the engine never samples at all (`EngineConfig::suppressed_chars`).
pub const MARKUP: &str = "\\`_{}^|*";

/// A character copy may show only where its facts have it ([`StrayChars::refuses_symbol`]): a
/// symbol or emoji ([`is_symbol`]) or markup ([`MARKUP`], full-width too), but not a mark that
/// only modifies the symbol before it ([`is_modifying_mark`]: `\u{fe0f}` is judged with its
/// emoji).
pub fn only_from_facts(c: char) -> bool {
    // The full-width forms of ASCII (U+FF01–U+FF5E) are their ASCII character folded.
    let ascii = match c {
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(u32::from(c) - 0xfee0).unwrap_or(c),
        _ => c,
    };
    (is_symbol(c) || MARKUP.contains(ascii)) && !is_modifying_mark(c)
}

/// The longest run of symbols in `text`: graphemes that open with a symbol ([`is_symbol`]), with
/// only whitespace between them.
pub fn longest_symbol_run(text: &str) -> usize {
    let (mut run, mut longest) = (0, 0);
    for g in text.graphemes(true) {
        if g.chars().next().is_some_and(is_symbol) {
            run += 1;
            longest = longest.max(run);
        } else if !g.chars().all(char::is_whitespace) {
            run = 0;
        }
    }
    longest
}

impl LetterShare {
    /// The rule of `config`.
    pub fn new(config: &GuardrailConfig) -> Self {
        Self {
            min: config.min_letter_ratio,
            unspaced: config.locale.unspaced(),
            max_run: MAX_SYMBOL_RUN,
        }
    }

    /// Whether `copy` has more symbols in a row than the rule lets it ([`longest_symbol_run`]).
    pub fn runs_long(&self, copy: &str) -> bool {
        longest_symbol_run(copy) > self.max_run
    }

    /// Whether `c` counts among the visible characters the share is of.
    fn counts(&self, c: char) -> bool {
        !c.is_whitespace()
            && !c.is_ascii_digit()
            && !(self.unspaced && (is_punctuation(c) || CURRENCY_SYMBOLS.contains(c)))
    }

    /// Whether `copy` has the share of letters.
    pub fn holds(&self, copy: &str) -> bool {
        let visible = copy.chars().filter(|c| self.counts(*c)).count();
        let letters = copy.chars().filter(|c| c.is_alphabetic()).count();
        letters as f32 >= self.min * visible as f32
    }

    /// Whether `piece` lowers the share: it has a counted character that is no letter.
    pub fn lowered_by(&self, piece: &str) -> bool {
        piece.chars().any(|c| self.counts(c) && !c.is_alphabetic())
    }
}

/// Chinese copy: the first Latin word (two letters or more) that is neither in the product's
/// facts (`OPPO Enco Air3`) nor a name of the currency (`RMB`). The model code-switches
/// (`现价￥359，原price￥359`: "price" hid the comparison cue 原) and a Chinese shopper reads
/// such a word as noise.
fn stray_latin_word<'c>(copy: &'c str, corpus: &str, facts: &ProductFacts) -> Option<&'c str> {
    copy.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 2)
        .find(|w| find_ascii_ci(corpus, w, 0).is_none() && !facts.currency.is_named_by(w))
}

/// ASCII punctuation and the CJK symbols and punctuation block (`。、「」`), and `，`.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c, '\u{3000}'..='\u{303f}' | '\u{ff0c}' | '\u{2018}'..='\u{201f}')
}

/// `name@host`: an `@` between two alphanumeric characters ("@home" the brand is not one).
fn has_email(copy: &str) -> bool {
    let chars: Vec<char> = copy.chars().collect();
    chars
        .windows(3)
        .any(|w| w[1] == '@' && w[0].is_alphanumeric() && w[2].is_alphanumeric())
}

/// URLs and `word.com`-style domains, except a domain-like word that is part of the facts
/// (brands such as `Eureka.in`).
fn has_url(copy: &str, corpus: &str) -> bool {
    // An address the product's own facts have (`Booking.com` in a gift card's name) is a fact;
    // a scheme or `www.` never is. Details naming a website are dropped from the facts
    // (`ProductFacts::localised`), so a marketplace's own address is not one.
    has_web_marker(copy)
        || web_address_words(copy)
            .into_iter()
            .any(|word| find_ascii_ci(corpus, word, 0).is_none())
}

/// Phone numbers and loyalty-like digit runs. Digit sequences that occur in the facts (model
/// numbers such as `R8851116001`) are allowed.
fn contact_number(copy: &str, corpus: &str) -> Option<Reason> {
    let fact_digits: Vec<String> = chains(corpus, ChainRule::PHONE)
        .into_iter()
        .map(|c| c.digits)
        .collect();
    let in_facts = |digits: &str| fact_digits.iter().any(|d| d.contains(digits));
    for chain in chains(copy, ChainRule::PHONE) {
        // Numbers of the facts side by side ("R8851116001 2") are facts, not a contact.
        if in_facts(&chain.digits) || chain.groups.iter().all(|g| in_facts(g)) {
            continue;
        }
        let n = chain.digits.len();
        if chain.plus || (n >= 7 && chain.phone_separators) || chinese_mobile(&chain.digits) {
            return Some(Reason::Phone);
        }
        if n >= 8 {
            return Some(Reason::LoyaltyLikeNumber);
        }
    }
    None
}

/// A mainland Chinese mobile number: eleven digits, `1[3-9]…`.
fn chinese_mobile(digits: &str) -> bool {
    let b = digits.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

/// The currency words ([`CURRENCY_WORDS`]) the product's own name or brand has as a word (a brand
/// `SEK`, a "Euro Plug Adapter"), other than the store's: copy that writes them quotes the
/// product. Codes are matched as written (upper case, `Rs`); currency names in any case.
fn own_currency_words(facts: &ProductFacts) -> Vec<&'static str> {
    named_currency_words(facts)
        .into_iter()
        .filter(|w| !facts.currency.is_named_by(w))
        .collect()
}

/// The Latin currency codes and names ([`CURRENCY_WORDS`]) the product's own name or brand has
/// as a word, the store's own among them (a brand `CNY` in a CNY store): before a number of the
/// product's own text they quote the product ([`MoneyRoles::quoted`]).
fn named_currency_words(facts: &ProductFacts) -> Vec<&'static str> {
    let own = format!("{} {}", facts.name, facts.brand.as_deref().unwrap_or(""));
    CURRENCY_WORDS
        .into_iter()
        .filter(|w| find_word(&own, w, w.len() <= 3).is_some())
        .collect()
}

/// Another currency's sign, code or name in `copy`. A Latin code or name that the product's own
/// name or brand has as a word is the product speaking (a brand `SEK`, a "Euro Plug Adapter"), not
/// a price: copy may quote it, but not write an amount after it other than a number of the
/// product's own text ([`MoneyRoles::scan`]). Signs and Chinese currency words (written without word breaks:
/// `元` is in `元气`) are never taken as the product's.
fn foreign_currency(copy: &str, facts: &ProductFacts) -> Option<String> {
    let allowed = |m: &str| facts.currency.is_named_by(m);
    if let Some(sym) = foreign_symbol(copy, allowed) {
        return Some(sym.to_string());
    }
    let own = own_currency_words(facts);
    if let Some(w) = CURRENCY_WORDS
        .iter()
        .find(|w| !allowed(w) && !own.contains(w) && find_word(copy, w, w.len() <= 3).is_some())
    {
        return Some((*w).to_string());
    }
    // The product's own word marking an amount its text does not have (`现价AED 0.01` for a
    // brand AED) is a price in that currency after all.
    if !own.is_empty() {
        let marked = money_roles(facts).scan(copy).into_iter().find_map(|n| {
            let c = n.currency?;
            let word = copy.get(c)?.trim_end_matches('.');
            own.iter().find(|w| same_currency_word(w, word))
        });
        if let Some(w) = marked {
            return Some((*w).to_string());
        }
    }
    // Chinese currency words, longest first; each found one is blanked, so the `元` of `美元`
    // is not read again.
    let mut rest = copy.to_string();
    for w in CJK_CURRENCY_WORDS {
        if rest.contains(w) {
            if !allowed(w) {
                return Some(w.to_string());
            }
            rest = rest.replace(w, " ");
        }
    }
    None
}

/// Every number copy may contain for these facts, normalised (`1,299.00` → `1299`): numbers in
/// the facts text, price, list price, saving and discount; and, with a trailing `%`, the
/// percentages it may state (the discount and percentages the facts state). A percentage of the
/// facts is listed only with its `%`: its bare figure is no fact (`20% off` does not make "20
/// inches of space" true; seen on the demo kiosk's screen, 2026-12-02).
pub fn allowed_numbers(facts: &ProductFacts) -> Vec<String> {
    let mut known: Vec<String> = Vec::new();
    known.extend(scan(&facts.corpus()).iter().map(Number::listed));
    if let Some(d) = facts.discount_percent {
        known.push(format!("{d}%"));
        known.extend(zhe_figures(d).into_iter().map(|f| format!("{f}折")));
    }
    known.push(normalise_number(&facts.price.display()));
    if let Some(list) = facts.list_price {
        known.push(normalise_number(&list.display()));
        known.push(normalise_number(&Minor(list.0 - facts.price.0).display()));
    }
    known.sort();
    known.dedup();
    known
}

fn number_failure(copy: &str, facts: &ProductFacts, corpus: &str) -> Option<Reason> {
    let fact_numbers = scan(corpus);
    let known = allowed_numbers(facts);
    let discount = facts.discount_percent.map(|d| d.to_string());
    for n in scan(copy) {
        if n.zhe {
            // `8折`, `八折`: a discount, the catalog's or none.
            let written = n.listed();
            match (facts.discount_percent, zhe_discount(&n.value)) {
                (None, _) => return Some(Reason::FakeDiscount(written)),
                (Some(d), Some(z)) if d == z => continue,
                _ => return Some(Reason::WrongPercent(written)),
            }
        }
        if n.percent {
            let stated = fact_numbers.iter().any(|f| f.percent && f.value == n.value);
            if discount.as_deref() != Some(n.value.as_str()) && !stated {
                return Some(Reason::WrongPercent(n.listed()));
            }
        } else if !known.contains(&n.value) {
            return Some(Reason::UnknownNumber(n.value));
        }
    }
    lone_percent_sign(copy, corpus).map(|sign| Reason::WrongPercent(sign.to_string()))
}

/// A percent sign with no number before it (`Only 15.49, ‰ off: …`, served by the demo, seed
/// 541, for a bottle 14 % off), which claims a discount it does not state; or a per-mille sign
/// the facts do not have, which no price tag uses.
fn lone_percent_sign(copy: &str, corpus: &str) -> Option<char> {
    copy.char_indices().find_map(|(at, c)| {
        let lone = match c {
            '‰' | '‱' => !corpus.contains(c),
            '%' | '％' => !copy[..at]
                .trim_end()
                .ends_with(|d: char| d.is_ascii_digit() || ('０'..='９').contains(&d)),
            _ => false,
        };
        lone.then_some(c)
    })
}

/// Words or phrases that claim a discount, or a price lower than before or than elsewhere,
/// without naming an amount.
const DISCOUNT_CLAIMS: &[&str] = &[
    "discount",
    "discounted",
    "originally",
    "marked down",
    "price drop",
    "price cut",
    "on sale",
    "sale price",
    // Served by the demo (en, seed 353) for products without a list price: `now on clearance
    // for only 48.99!`, `now at a lower price than the original`, `only a few dollars more than
    // it was previously`; and `for less than half the price of a standard charger`.
    "clearance",
    "lower price",
    "lower cost",
    "original price",
    "retail price",
    "than the original",
    // `The Sundrift Meadow conditioner, a 3.49 bottle of the original` (the demo, en, seed 683,
    // served for a conditioner at 3.49 with no list price): the price beside an original one.
    "of the original",
    "than the regular",
    "down from",
    "previously",
    "than it was",
    "than before",
    "reduced",
    "price reduction",
    "used to cost",
    "regular price",
    "usual price",
    "usually",
    "list price",
    "mrp",
    "rrp",
    // A price under something: with no list price there is no amount it can be under, and the
    // gate masks every sign after it, so the model wrote its way round (`for just under Â?27.99`,
    // `for just under US78`, `for under Ë šÆÅâ`: the demo, en, seed 391, four of its fourteen
    // first-try failures), or stayed vague (`for less than a coffee`).
    "for under",
    "just under",
    "for less than",
    "for below",
    // Served by the demo (en, seed 619) for products without a list price: `…at a lower than
    // usual`, `…for just one more than the usual (but still affordable) price`, `…save more than
    // a month's worth on clothes`.
    "than usual",
    "than normal",
    // With those barred (seed 619 again): `…for just 11.99 instead of the usual store price of
    // over a few months ago`, `…for just one more than the retail`.
    "the usual",
    "than the retail",
    "than retail",
    "save more",
    "save big",
    "big savings",
    "原价",
    "原钱",
    "原售价",
    // The zh-CN demo's ways to an original price once 原价 was masked (seed 317).
    "原定价",
    "原值",
    "打折",
    "折扣",
    "特价",
    "降价",
    "直降",
    "立减",
    "优惠价",
    "促销价",
    "清仓",
    "限时折",
    // `木野 晨曦水杯 135，折价。` (the zh-CN demo, seed 619, served) for a cup with no list price.
    "折价",
    "折后",
    // `拾光朗月咖啡机 海蓝现价919，原装，省下钱。` (seed 641, served) for a coffee maker with no
    // list price.
    "省钱",
    "省下钱",
];

/// Words that claim half off or more: false for a discount under 50 % (`now 25.99 at Half
/// Price` for a charger at 25.99, was 29.99, and `for less than half the original cost`, served
/// by the demo, en, seed 359), and for a product without a list price, as every discount claim.
/// `half` itself, not only its phrases: the model found a new one on every seed (`half-off`,
/// `under half the asking price`, `less than half a dollar`, `half that price tag`, seed 373;
/// `a fraction of the retail price`, seed 379; `at a fraction of its original price`, the
/// Flipkart sample, seed 587); a product whose facts say it (`half-zip`) may.
/// `fraction` alone, not `fraction of`: with `of` barred the model stopped at `…now at a
/// fraction` (the demo, seed 599, served twice).
const HALF_CLAIMS: &[&str] = &["half", "halve", "halving", "halved", "fraction", "半价"];

/// The product's price facts by role, normalised: what the guardrails check money amounts
/// against and what the engine's number gate enforces while the copy is written.
pub fn money_roles(facts: &ProductFacts) -> MoneyRoles {
    let cur = &facts.currency;
    let mut marks = vec![cur.symbol.clone(), cur.code.clone()];
    marks.extend(cur.aliases.iter().cloned());
    let mark_refs: Vec<&str> = marks.iter().map(String::as_str).collect();
    let text_numbers = scan_with(&detail_text(facts), &mark_refs);
    let stated = text_numbers
        .iter()
        .filter(|d| d.currency.is_some())
        .map(|d| d.value.clone())
        .collect();
    MoneyRoles {
        price: normalise_number(&facts.price.display()),
        comparison: facts.list_price.map(|l| normalise_number(&l.display())),
        saving: facts
            .list_price
            .map(|l| normalise_number(&Minor(l.0 - facts.price.0).display())),
        stated,
        text_numbers: text_numbers.into_iter().map(|d| d.value).collect(),
        marks,
        quoted: named_currency_words(facts)
            .into_iter()
            .map(str::to_string)
            .collect(),
        forbidden_claims: {
            // Without a list price no discount at all; with one under half, not half.
            let (discount, half) = match facts.discount_percent {
                _ if facts.list_price.is_none() => (DISCOUNT_CLAIMS, HALF_CLAIMS),
                Some(d) if d >= 50 => (&[][..], &[][..]),
                _ => (&[][..], HALF_CLAIMS),
            };
            let corpus = facts.corpus();
            discount
                .iter()
                .chain(half)
                .filter(|c| find_word(&corpus, c, false).is_none())
                .map(|c| (*c).to_string())
                .collect()
        },
    }
}

/// The product's own words (name, brand, category, details): numbers there are facts.
fn detail_text(facts: &ProductFacts) -> String {
    [
        facts.name.as_str(),
        facts.brand.as_deref().unwrap_or(""),
        facts.category.as_str(),
        facts.details.as_str(),
    ]
    .join(" ")
}

/// Words right before a percentage that put it where a price goes when nothing follows it in its
/// clause (`costs only 21%.`).
const PERCENT_AS_PRICE_AFTER: &[&str] = &[
    "costs", "cost", "only", "just", "for", "at", "priced", "pay", "now",
];

/// Role-aware price truth: every amount presented as what the shopper pays is the selling price,
/// a comparison is the list price (which is above the price), a saving is list − price, a
/// discount is the catalog's; a product without a list price makes no comparison or discount
/// claim at all. Amounts the product's own text states with a currency (a "₹500 voucher" in
/// its name) and bare numbers of its text are facts, not price claims. A percentage is no price:
/// not after an English price word with nothing after it in its clause (`costs only 21%.`), nor
/// after a Chinese one unless it says a discount (`仅需14%的小钱`).
fn price_claim_failure(copy: &str, facts: &ProductFacts) -> Option<Reason> {
    let roles = money_roles(facts);
    let corpus = facts.corpus();
    let marks: Vec<&str> = roles.marks.iter().map(String::as_str).collect();
    let discount = facts.discount_percent.map(|d| d.to_string());
    for n in roles.scan(copy) {
        let written = copy
            .get(n.start_with_marker()..n.end_with_marker())
            .unwrap_or("")
            .to_string();
        if n.zhe {
            // Judged with the numbers (`number_failure`).
            continue;
        }
        if n.percent {
            if n.currency.is_some() {
                return Some(Reason::WrongPriceRole(format!(
                    "percentage as money {written}%"
                )));
            }
            let rest = copy.get(n.span.end..).unwrap_or("").trim_start();
            let rest_at = copy.len() - rest.len();
            let after_percent = if rest.starts_with('%') {
                rest_at + 1
            } else {
                rest_at + "percent".len().min(rest.len())
            };
            let after = word_after(copy, after_percent);
            let claims_discount = SAVING_AFTER.contains(&after.as_str())
                || words_before(copy, n.span.start, 2)
                    .iter()
                    .any(|w| matches!(w.as_str(), "save" | "saving" | "savings" | "discount"))
                || cjk_role_before(copy, n.span.start) == Some(PriceRole::Saving)
                || ZH_DISCOUNT_AFTER.iter().any(|w| {
                    copy.get(after_percent..)
                        .is_some_and(|rest| rest.trim_start().starts_with(w))
                });
            // `…now costs only 21%.` (the demo, seed 601): a percentage where the price goes is
            // no price and no discount; `now 100% cotton` and `for 21% of the time` go on to
            // what they are a share of.
            // `889元，仅需14%的小钱` (the zh-CN demo, seed 613, served): what the shopper pays
            // (仅需, 只要, 现价) said as a share; `立减14%`, `14%的优惠` say a discount.
            let price_cue_before = words_before(copy, n.span.start, 1)
                .first()
                .is_some_and(|w| PERCENT_AS_PRICE_AFTER.contains(&w.as_str()))
                && after.is_empty();
            let zh_price_cue_before = cjk_role_before(copy, n.span.start) == Some(PriceRole::Price);
            if !claims_discount && (price_cue_before || zh_price_cue_before) {
                return Some(Reason::WrongPriceRole(format!(
                    "percentage as a price {written}%"
                )));
            }
            if claims_discount {
                match &discount {
                    None => return Some(Reason::FakeDiscount(format!("{written}% {after}"))),
                    Some(d) if *d != n.value => {
                        return Some(Reason::WrongPriceRole(format!("discount {written}%")))
                    }
                    Some(_) => {}
                }
            }
            continue;
        }
        if !roles.is_money_in(copy, &n) {
            continue;
        }
        // `…ceramic mug, 330 ml in 175ml.` for a mug at ₹175 (the Flipkart sample, seed 619,
        // served): the price written as a measure, a false one.
        if n.currency.is_none() {
            if let Some(unit) = unit_after(copy, n.span.end) {
                return Some(Reason::WrongPriceRole(format!(
                    "a price as a measure {written}{unit}"
                )));
            }
            if let Some(noun) = counted_noun(copy, n.span.end, &corpus) {
                return Some(Reason::WrongPriceRole(format!(
                    "a price as a count {written} {noun}"
                )));
            }
        }
        let role = price_role(copy, n.start_with_marker(), n.end_with_marker());
        match roles.expected(role) {
            None if role == PriceRole::Exceeded => {
                return Some(Reason::WrongPriceRole(format!(
                    "{} {written}",
                    role.as_str()
                )));
            }
            None => {
                return Some(Reason::FakeDiscount(format!("{} {written}", role.as_str())));
            }
            Some(e) if *e != n.value => {
                return Some(Reason::WrongPriceRole(format!(
                    "{} {written}",
                    role.as_str()
                )));
            }
            Some(_) => {}
        }
    }
    if let Some(claim) = roles.forbidden_claims.iter().find(|c| says_phrase(copy, c)) {
        return Some(Reason::FakeDiscount(claim.clone()));
    }
    if facts.list_price.is_none() {
        if let Some(word) = list_price_word(copy).filter(|w| !facts.corpus().contains(w)) {
            return Some(Reason::FakeDiscount(word.to_string()));
        }
    }
    dangling_price_sign(copy, &facts.currency.symbol, &marks)
}

/// The product's own things counted by a bare amount right after it: a word in the plural
/// (`…s`, `…es`) whose singular the facts' words `corpus` have, so the copy reads as so many of
/// them. `LED bulbs, go green! Soy Impulse 299 LEDs now in store` for an LED bulb at ₹299 (the
/// Flipkart sample, seed 691, served) says 299 LEDs. A word that makes the amount a saving
/// ([`SAVING_AFTER`]) is its role, not a count; an amount with its currency sign before a noun
/// (`₹299 LEDs`) is a price label, not a count, and is not looked at here.
fn counted_noun<'c>(copy: &'c str, end: usize, corpus: &str) -> Option<&'c str> {
    let (_, word) = crate::numbers::latin_word_after(copy, end)?;
    let lower = word.to_ascii_lowercase();
    if lower.len() < 4 || lower.ends_with("ss") || SAVING_AFTER.contains(&lower.as_str()) {
        return None;
    }
    let facts_words = words_of(corpus);
    let counts_a_fact = [lower.strip_suffix('s'), lower.strip_suffix("es")]
        .into_iter()
        .flatten()
        .any(|singular| facts_words.iter().any(|w| w == singular));
    counts_a_fact.then_some(word)
}

/// A currency sign with no amount: copy cut off in the middle of a price (`$352.99 (was $`, seen
/// on the demo's screen for a product without a list price). A shopper reads a price claim with
/// no number; no role check can judge it, so it is refused as a price in no role.
fn dangling_price_sign(copy: &str, symbol: &str, marks: &[&str]) -> Option<Reason> {
    unpriced_sign(copy, symbol, marks).map(|at| {
        let from = copy[..at]
            .char_indices()
            .rev()
            .nth(11)
            .map_or(0, |(i, _)| i);
        Reason::WrongPriceRole(format!(
            "a price sign without an amount: {}",
            copy[from..].trim()
        ))
    })
}

/// Where `copy` first writes the currency `symbol` outside an amount (`marks`: the store's
/// markers, symbol first), if it does: the guardrails refuse such copy, and the generation gate
/// lets a sign stand only while its digits may still follow.
pub(crate) fn unpriced_sign(copy: &str, symbol: &str, marks: &[&str]) -> Option<usize> {
    if symbol.is_empty() {
        return None;
    }
    let priced: Vec<std::ops::Range<usize>> = scan_with(copy, marks)
        .iter()
        .map(|n| n.start_with_marker()..n.end_with_marker())
        .collect();
    copy.match_indices(symbol)
        .map(|(at, _)| at)
        .find(|at| !priced.iter().any(|r| r.contains(at)))
}

/// Brands every shopper knows that no catalog of the kiosk's need list, matched as written
/// (`iPhone`; `apple` is a fruit): copy that names one its facts lack compares the product with
/// another maker's, or passes it off as one (the demo, seed 557: `Apple watch, now 120.99 (was
/// 😜) for the price of an iPhone!` for a jacket; `…for the price of an iPhone or iPad!` for
/// succulents). Refused as [`Reason::ForeignBrand`], as the catalog's other brands are.
const WELL_KNOWN_BRANDS: &[&str] = &[
    "Apple",
    "iPhone",
    "iPad",
    "MacBook",
    "AirPods",
    "Samsung",
    "Xiaomi",
    "Huawei",
    "OnePlus",
    "Sony",
    "Google",
    "Microsoft",
    "Nike",
    "Adidas",
    "Rolex",
    "Gucci",
    "Starbucks",
    "Tesla",
    // `London and New York set: the Playboy combo box from Disney, now only ₹388.` for a
    // deodorant set (the Flipkart sample, seed 701, served).
    "Disney",
    "Marvel",
    "Lego",
    "Barbie",
    "Nintendo",
    "PlayStation",
    "Xbox",
    "Netflix",
    "Coca-Cola",
    "Pepsi",
    "Nestle",
    "Reebok",
    "Puma",
    "Zara",
    "Canon",
    "Nikon",
    "Philips",
    "Panasonic",
    "Bose",
    "Dyson",
];

fn foreign_brand(
    copy: &str,
    facts: &ProductFacts,
    corpus: &str,
    brands: &BrandList,
) -> Option<String> {
    catalog_brand(copy, facts, corpus, brands).or_else(|| {
        unknown_brands(corpus)
            .find(|b| names_brand(copy, b))
            .map(|b| b.to_string())
    })
}

/// The [`WELL_KNOWN_BRANDS`] that are also everyday words: named only with their capital.
const WORD_BRANDS: &[&str] = &["Apple", "Puma", "Canon"];

/// Whether `text` names well-known `brand`: as whole words in any case (`Airpods for the price
/// of water bottles!` for a bottle opener set, the Flipkart sample, seed 691, served), but a
/// brand that is also a word ([`WORD_BRANDS`]) only with its capital (`Apple`, not the fruit).
fn names_brand(text: &str, brand: &str) -> bool {
    if WORD_BRANDS.contains(&brand) {
        return find_word(text, brand, true).is_some();
    }
    find_word(text, brand, false).is_some()
}

/// The [`WELL_KNOWN_BRANDS`] the facts' words `corpus` do not have, in any case: copy may not
/// name them ([`foreign_brand`]), and the engine's gate masks the token that would complete one
/// ([`GuardrailConfig::barred_phrases`]; [`says_phrase`] finds them as written).
fn unknown_brands(corpus: &str) -> impl Iterator<Item = &'static str> + '_ {
    WELL_KNOWN_BRANDS
        .iter()
        .copied()
        .filter(|b| find_word(corpus, b, false).is_none())
}

/// Another brand of the catalog's in `copy`, as a proper noun, that the facts do not have.
fn catalog_brand(
    copy: &str,
    facts: &ProductFacts,
    corpus: &str,
    brands: &BrandList,
) -> Option<String> {
    brands
        .brands
        .iter()
        .filter(|b| {
            !facts
                .brand
                .as_deref()
                .is_some_and(|own| own.eq_ignore_ascii_case(b))
        })
        // A brand word that is part of this product's own facts is a fact, not another brand.
        .filter(|b| find_word(corpus, b, false).is_none())
        .find(|b| {
            // Proper-noun use only: "Prime" the brand, not "prime quality".
            let mut from = 0;
            while let Some(i) = find_word_from(copy, b, false, from) {
                if copy[i..].chars().next().is_some_and(|c| !c.is_lowercase()) {
                    return true;
                }
                from = i + 1;
            }
            false
        })
        .cloned()
}

/// Retailers whose names are also common words ("hit your target", "the best buy of the week"):
/// copy names them only by writing the name as the retailer does, capitals and all, and not as a
/// sentence's first words ("Available at Target", "as at Best Buy"; not "Target the cold").
pub const NAME_ONLY_RETAILERS: [&str; 5] = ["Target", "Best Buy", "Kohl", "Macy", "Home Goods"];

/// Whether `text` writes `name` as a name: as whole words with its capitals, after other words
/// of the same sentence.
fn writes_as_a_name(text: &str, name: &str) -> bool {
    let mut from = 0;
    while let Some(i) = find_word_from(text, name, true, from) {
        let before = text[..i].trim_end();
        if !before.is_empty() && !before.ends_with(['.', '!', '?', ':', '"', '“', '\n']) {
            return true;
        }
        from = i + 1;
    }
    false
}

/// Words after which `at`, `on`, `from` or `via` says where the product is sold: `available at`,
/// `now at`, `only on`, `find it at`, `sold on`, `here at` ([`PlaceNames`]).
const SHOP_CUES: &[&str] = &[
    "available",
    "only",
    "now",
    "exclusively",
    "exclusive",
    "sold",
    "sale",
    "shop",
    "buy",
    "order",
    "find",
    "get",
    "grab",
    "it",
    "them",
    "stocked",
    "carried",
    "online",
    "store",
    "stores",
    "here",
    "there",
];

/// The prepositions that lead from a cue of [`SHOP_CUES`] to the place it names.
const SHOP_PREPOSITIONS: &[&str] = &["at", "on", "from", "via"];

/// Words after which `in` or `from` says where the product comes from or who made it: `crafted
/// in`, `sourced from`, `straight from` ([`PlaceNames`]). `made in` and `imported` are barred
/// phrases of their own.
const ORIGIN_CUES: &[&str] = &[
    "made",
    "crafted",
    "handcrafted",
    "handmade",
    "designed",
    "sourced",
    "grown",
    "harvested",
    "roasted",
    "brewed",
    "built",
    "born",
    "produced",
    "manufactured",
    "shipped",
    "comes",
    "come",
    "hails",
    "straight",
    "direct",
    "directly",
];

/// The prepositions that lead from a cue of [`ORIGIN_CUES`] to the place it names.
const ORIGIN_PREPOSITIONS: &[&str] = &["in", "from"];

/// Articles that may stand between a place's preposition and its name (`available at the
/// Mall`, `from the Himalayas`).
const PLACE_ARTICLES: &[&str] = &["the", "a", "an"];

/// Capitalised words after a cue that name a time, not a shop (`available on Monday`, `now at
/// Christmas`), and the price words copy capitalises (`now at MRP ₹499`).
const NOT_SHOPS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "christmas",
    "easter",
    "diwali",
    "mrp",
];

/// What a name after a place's cue claims ([`PlaceNames::first_in`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceClaim {
    /// Where the product is sold (`available at Sephara`): [`Reason::OtherRetailer`].
    Shop,
    /// Where the product, or who made it, comes from (`crafted in the Alps`, `…Sleeping Bag
    /// Charcoal, from the Himalayas`): [`Reason::BannedPhrase`], as a country the facts lack.
    Origin,
}

/// The rule on the places copy names ([`PlaceClaim`]): after a cue and a preposition, a
/// capitalised word is a place's name, and copy may write only one the product's facts have (a
/// brand's own shop, the maker's own town), a currency's name or a time ([`NOT_SHOPS`]).
/// - A shop: a cue of [`SHOP_CUES`] and one of [`SHOP_PREPOSITIONS`] (`available at`, `now at`,
///   `only on`). The kiosk's store is never named by the facts, so copy says where a product is
///   by `here`, never by a name: the model wrote shops no list has (`…available at Sephara`,
///   `…only available at Best Prices`, `…available at Jetstar`: the demo, en, seed 613; `…now at
///   Shopaholics for only $30.49`, served by `make run`), which sends the shopper to a shop this
///   store is not, or to none at all.
/// - An origin: a cue of [`ORIGIN_CUES`] and one of [`ORIGIN_PREPOSITIONS`] (`crafted in`,
///   `sourced from`), or `from` opening a clause (`…Sleeping Bag Charcoal, from the Himalayas`:
///   the demo, en, seed 617; `…Charger Charcoal, from B&W`, seed 619, both served). Where a
///   product or its maker comes from is a claim only the facts can make ([`ORIGINS`] reads the
///   countries copy names anywhere).
///
/// An article may stand before the name (`at the Mall`). One definition for the guardrails,
/// which refuse copy in which [`Self::first_in`] finds one, and the engine's gate, which never
/// writes the token that would make it find one (the model goes on in lowercase: `…now at only
/// $30.49`). Spaced locales only: Chinese copy's shops are its retailers by name
/// ([`OTHER_RETAILERS`]). The default finds none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaceNames {
    /// Whether the copy's locale writes names with capitals the rule reads (spaced locales).
    on: bool,
    /// The facts' words, lower-cased, sorted and without duplicates.
    own: Vec<String>,
}

impl PlaceNames {
    /// The rule for copy about `facts` under `config`.
    pub fn new(facts: &ProductFacts, config: &GuardrailConfig) -> Self {
        Self::beside(&facts.corpus(), config)
    }

    /// The rule beside the facts' words `corpus` ([`ProductFacts::corpus`]).
    pub(crate) fn beside(corpus: &str, config: &GuardrailConfig) -> Self {
        let on = !config.locale.unspaced();
        let mut own: Vec<String> = if on {
            alphanumeric_runs(corpus)
                .map(|(_, w)| w.to_lowercase())
                .collect()
        } else {
            Vec::new()
        };
        own.sort_unstable();
        own.dedup();
        Self { on, own }
    }

    /// The first place `copy` names that the facts do not, and what naming it claims: the
    /// capitalised words in a row from the one after the cue and its preposition (`Best
    /// Prices` of `…only available at Best Prices.`). With `open_end` the word the end of
    /// `copy` cuts may still become one of the facts' (`Moss` of `Mossgate`): it counts only
    /// when none begins so.
    pub fn first_in<'c>(&self, copy: &'c str, open_end: bool) -> Option<(PlaceClaim, &'c str)> {
        if !self.on {
            return None;
        }
        let words: Vec<(usize, &str)> = alphanumeric_runs(copy).collect();
        let gap = |(at, word): (usize, &str), to: usize| copy.get(at + word.len()..to);
        let spaced = |before: (usize, &str), to: usize| {
            gap(before, to).is_some_and(|g| !g.is_empty() && g.chars().all(char::is_whitespace))
        };
        let is_in = |list: &[&str], word: &str| list.iter().any(|w| w.eq_ignore_ascii_case(word));
        (1..words.len()).find_map(|i| {
            let (at, word) = words[i];
            if !word.starts_with(char::is_uppercase) {
                return None;
            }
            // A currency's code before a capitalised word is no name of its own: the name is
            // what follows (`…now on sale at Rs Best Deal Store for ₹1990`: the Flipkart sample,
            // seed 631, served).
            let (at, word) = match words.get(i + 1) {
                Some(&next)
                    if is_in(&CURRENCY_WORDS, word)
                        && next.1.starts_with(char::is_uppercase)
                        && spaced(words[i], next.0) =>
                {
                    next
                }
                _ => (at, word),
            };
            // The preposition, an article perhaps between it and the name.
            let mut p = i - 1;
            if p > 0
                && PLACE_ARTICLES.contains(&words[p].1)
                && spaced(words[p], at)
                && spaced(words[p - 1], words[p].0)
            {
                p -= 1;
            }
            let (prep_at, prep) = words[p];
            // The word after the preposition: the article, or the name (its currency's code).
            if !spaced(words[p], words[p + 1].0) {
                return None;
            }
            let cue = p.checked_sub(1).map(|c| words[c]);
            let cued_by =
                |cues: &[&str]| cue.is_some_and(|c| is_in(cues, c.1) && spaced(c, prep_at));
            // `from` opening the copy or a clause (`…Charcoal, from the Himalayas`).
            let opens_clause = match cue {
                None => copy[..prep_at].trim().is_empty(),
                Some(c) => gap(c, prep_at).is_some_and(|g| g.contains([',', ';', ':', '(', '—'])),
            };
            // A price before `at` (`…now only 5.99 at the Mountain Gate store`: the demo, seed
            // 631, served) says where it is paid.
            let after_a_price = cue
                .is_some_and(|c| c.1.chars().all(|ch| ch.is_ascii_digit()) && spaced(c, prep_at));
            let claim = if is_in(SHOP_PREPOSITIONS, prep) && (cued_by(SHOP_CUES) || after_a_price) {
                PlaceClaim::Shop
            } else if is_in(ORIGIN_PREPOSITIONS, prep)
                && (cued_by(ORIGIN_CUES) || (prep.eq_ignore_ascii_case("from") && opens_clause))
            {
                PlaceClaim::Origin
            } else {
                return None;
            };
            let lower = word.to_lowercase();
            let cut = open_end && at + word.len() == copy.len();
            let known = if cut {
                self.own.iter().any(|w| w.starts_with(&lower))
                    || NOT_SHOPS.iter().chain(&CURRENCY_WORDS).any(|w| {
                        w.len() >= lower.len()
                            && w.get(..lower.len())
                                .is_some_and(|head| head.eq_ignore_ascii_case(&lower))
                    })
            } else {
                self.own.binary_search(&lower).is_ok()
                    || is_in(NOT_SHOPS, word)
                    || is_in(&CURRENCY_WORDS, word)
            };
            if known {
                return None;
            }
            // The name goes on while capitalised words follow, one space apart.
            let end = words[i + 1..]
                .iter()
                .zip(&words[i..])
                .take_while(|((next_at, next), (prev_at, prev))| {
                    next.starts_with(char::is_uppercase)
                        && copy.get(prev_at + prev.len()..*next_at) == Some(" ")
                })
                .last()
                .map_or(at + word.len(), |((next_at, next), _)| next_at + next.len());
            copy.get(at..end).map(|name| (claim, name))
        })
    }
}

/// Whether `text` has the words of `phrase` (any case), spaced or hyphenated: `limited-time
/// offer` says `limited time` (the Flipkart sample, seed 617, served). Copy is read so
/// ([`says_phrase`]) and so are the facts' words, so that a barred phrase the facts have is a
/// fact however either writes it (`eco-friendly` in a tea's details allows `eco friendly`).
fn says_words(text: &str, phrase: &str) -> bool {
    find_word(text, phrase, false).is_some()
        || (phrase.contains(' ')
            && text.contains('-')
            && find_word(text, &phrase.replace(' ', "-"), false).is_some())
}

/// Whether `text` says the barred `phrase` ([`GuardrailConfig::barred_phrases`]): as a whole word,
/// in any case (Chinese as written), except the pronoun `I`, which is found as written but not
/// as the first letter of `I.e.` ("i.e." is no testimonial), and lower-case only right before a
/// space or an apostrophe and a word (`…when i bought it`, `i’m`, not `(i)` or `i-Phone`),
/// a retailer of [`NAME_ONLY_RETAILERS`], found only written as a name, and a brand of
/// [`WELL_KNOWN_BRANDS`], found as [`names_brand`] finds it (`Airpods`; `Apple`, not the fruit).
/// A phrase of words is found hyphenated too (`limited-time`, `sold-out`).
pub(crate) fn says_phrase(text: &str, phrase: &str) -> bool {
    if NAME_ONLY_RETAILERS.contains(&phrase) {
        return writes_as_a_name(text, phrase);
    }
    if WELL_KNOWN_BRANDS.contains(&phrase) {
        return names_brand(text, phrase);
    }
    if phrase.chars().any(is_cjk) {
        return find_word(&cjk_spaces_read_through(text), phrase, false).is_some();
    }
    if phrase != "I" {
        return says_words(text, phrase);
    }
    let mut from = 0;
    while let Some(i) = find_word_from(text, "I", true, from) {
        let mut after = text[i + 1..].chars();
        if !(after.next() == Some('.') && after.next().is_some_and(char::is_alphabetic)) {
            return true;
        }
        from = i + 1;
    }
    // `(The price is the same as it was when i bought it)` (the Flipkart sample, seed 619,
    // served), `Coffee addiction, you know what i’m talking about!` (the demo, en, seed 701,
    // served).
    let mut from = 0;
    while let Some(i) = find_word_from(text, "i", true, from) {
        let mut after = text[i + 1..].chars();
        if matches!(after.next(), Some(' ' | '\'' | '’'))
            && after.next().is_some_and(char::is_alphabetic)
        {
            return true;
        }
        from = i + 1;
    }
    false
}

/// `text` without the gaps between two Chinese characters ([`cjk_word_gap`]: spaces and marks
/// inside a word), which Chinese words do not have: the model's `原 价￥` is `原价` (the zh-CN
/// demo, seed 283: 10 of its 200 first tries wrote a list price so for products without one, and
/// ended at the clause before it), and so is `原/价` (seed 401, served). Borrowed as it is when it
/// has no gap at all; one pass otherwise.
fn cjk_spaces_read_through(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(cjk_word_gap) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let after = rest.trim_start_matches(cjk_word_gap);
        if after.len() == rest.len() {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let joins =
            out.chars().next_back().is_some_and(is_cjk) && after.chars().next().is_some_and(is_cjk);
        if !joins {
            out.push_str(&rest[..rest.len() - after.len()]);
        }
        rest = after;
    }
    out.into()
}

/// Byte index of `needle` in `text` as a whole word (no alphanumeric neighbour).
pub(crate) fn find_word(text: &str, needle: &str, case_sensitive: bool) -> Option<usize> {
    find_word_from(text, needle, case_sensitive, 0)
}

fn find_word_from(text: &str, needle: &str, case_sensitive: bool, from: usize) -> Option<usize> {
    let mut from = from;
    loop {
        let i = if case_sensitive {
            text.get(from..)?.find(needle).map(|i| i + from)?
        } else {
            find_ascii_ci(text, needle, from)?
        };
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        // A boundary is needed only between two characters of spaced scripts: CJK text has no
        // spaces (`这款OPPO耳机`, `买小米手机`), Latin parts of mixed names keep whole words.
        let glued = |edge: Option<char>, neighbour: Option<char>| {
            neighbour.is_some_and(|c| c.is_alphanumeric() && !is_cjk(c))
                && !edge.is_some_and(is_cjk)
        };
        if !glued(needle.chars().next(), before) && !glued(needle.chars().next_back(), after) {
            return Some(i);
        }
        from = i + 1;
        while !text.is_char_boundary(from) {
            from += 1;
        }
    }
}

const STOPWORDS: [&str; 16] = [
    "the", "and", "for", "with", "from", "your", "this", "that", "you", "our", "all", "now",
    "just", "was", "off", "are",
];

/// Chinese bigrams that say nothing about a product (price words, "this one", "now").
const ZH_STOP_BIGRAMS: [&str; 14] = [
    "原价", "现价", "现在", "只要", "仅售", "立省", "这款", "一款", "优惠", "价格", "喜欢", "预算",
    "品牌", "适合",
];

/// What copy and facts are compared by: lower-case words of three letters or more that carry
/// meaning, and for CJK text (no spaces) its character bigrams (a lone character on its own).
pub(crate) fn content_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for token in text.split(|c: char| !c.is_alphanumeric()) {
        for (cjk, run) in script_runs(token) {
            if cjk {
                let chars: Vec<char> = run.chars().collect();
                if chars.len() == 1 {
                    out.push(run.to_string());
                }
                out.extend(
                    chars
                        .windows(2)
                        .map(|w| w.iter().collect::<String>())
                        .filter(|b| !ZH_STOP_BIGRAMS.contains(&b.as_str())),
                );
            } else if run.chars().filter(|c| c.is_alphabetic()).count() >= 3 {
                let w = run.to_lowercase();
                if !STOPWORDS.contains(&w.as_str()) {
                    out.push(w);
                }
            }
        }
    }
    out
}

/// `token` cut where it changes between CJK and other characters: (is CJK, run).
fn script_runs(token: &str) -> Vec<(bool, &str)> {
    let mut out: Vec<(bool, &str)> = Vec::new();
    let mut start = 0;
    let mut current: Option<bool> = None;
    for (i, c) in token.char_indices() {
        let cjk = is_cjk(c);
        if current.is_some_and(|k| k != cjk) {
            out.push((current.unwrap_or(false), &token[start..i]));
            start = i;
        }
        current = Some(cjk);
    }
    if let Some(k) = current {
        out.push((k, &token[start..]));
    }
    out
}

/// The words copy about `facts` may open with in lowercase: the brand's words that begin with a
/// lowercase letter (`realme`), and the name's that have a capital after it (`iPhone`, `boAt`),
/// but not the `for` of `Case for iPhone`. The engine's gate opens every other copy with a
/// capital.
pub fn lowercase_openers(facts: &ProductFacts) -> Vec<String> {
    let words = |t: &str| {
        t.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().next().is_some_and(char::is_lowercase))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let mut openers = words(facts.brand.as_deref().unwrap_or(""));
    openers.extend(
        words(&facts.name)
            .into_iter()
            .filter(|w| w.chars().any(char::is_uppercase)),
    );
    openers.sort_unstable();
    openers.dedup();
    openers
}

/// The content words of a product's facts ([`content_words`] of [`ProductFacts::corpus`]),
/// sorted, each once: what copy about it must share one of to be on topic ([`on_topic`]).
pub fn topic_words(facts: &ProductFacts) -> Vec<String> {
    topic_words_of(&facts.corpus())
}

fn topic_words_of(corpus: &str) -> Vec<String> {
    let mut words = content_words(corpus);
    words.sort_unstable();
    words.dedup();
    words
}

/// Copy must be about the product: at least one content word (or, in CJK text, character
/// bigram) in common with its facts' `topic` words ([`topic_words`]), when they have any. The
/// engine's number gate lets copy end only once it is.
pub fn on_topic(copy: &str, topic: &[String]) -> bool {
    topic.is_empty()
        || content_words(copy)
            .iter()
            .any(|w| topic.binary_search(w).is_ok())
}

/// The runs of Chinese characters in `text`, between anything that is not a letter or digit.
fn cjk_runs(text: &str) -> Vec<Vec<char>> {
    text.split(|c: char| !c.is_alphanumeric())
        .flat_map(script_runs)
        .filter(|(cjk, _)| *cjk)
        .map(|(_, run)| run.chars().collect())
        .collect()
}

/// The runs of two or more Chinese characters of `text` ([`cjk_runs`]) that something after
/// them closes: the last run, when `text` ends in it, may still grow (`木` of `木材`, as the gate
/// asks while the copy is written).
fn closed_cjk_runs(text: &str) -> Vec<Vec<char>> {
    let mut runs = cjk_runs(text);
    if text.chars().next_back().is_some_and(is_cjk) {
        runs.pop();
    }
    runs.retain(|r| r.len() >= 2);
    runs
}

fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Characters a symbol may repeat right after itself ([`said_twice`]): an ellipsis (`...`,
/// Chinese `……`) and a dash (`--`, Chinese `——`).
const REPEATABLE_MARKS: [char; 4] = ['.', '…', '-', '—'];

/// What `text` says twice in a row, in order, as the repetition rule shows it: a word with a
/// letter (`fresh fresh` for `Fresh, fresh`; `绿茶 绿茶`; `â â`, mojibake of a no-break space
/// looping on the Flipkart sample, seed 293), a Chinese bigram within a run
/// of Chinese characters (`积木积木`), or a symbol, with spaces and emoji presentation
/// selectors between (`**` for `* * *`, `✨✨`, `⭐⭐` for `⭐️⭐️`; but [`REPEATABLE_MARKS`]).
/// Each is left out when `repeatable` has it: what the product's own facts say twice in a row
/// (`bora bora`, `times times` of `Times Times_51`). The guardrails refuse copy that has any
/// ([`Repeats`]); the engine's gate never writes
/// one (a word is judged while it is written: `Watch, watch` is masked before a `watches`
/// could follow, which tokens seldom spell so). The 270M model's degenerate loops start so
/// (`绿茶 绿茶 绿茶…`, `* * * *`, `✨✨✨`: most first-try failures on the demo's seed 283).
pub fn said_twice(text: &str, repeatable: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let words = words_of(text);
    for pair in words.windows(2) {
        if pair[0] == pair[1] && pair[0].chars().any(char::is_alphabetic) {
            out.push(format!("{} {}", pair[0], pair[1]));
        }
    }
    for run in cjk_runs(text) {
        for w in run.windows(4).filter(|w| w[..2] == w[2..]) {
            out.push(w.iter().collect());
        }
    }
    let mut before = None;
    for c in text.chars() {
        if c.is_whitespace() || matches!(c, '\u{fe0e}' | '\u{fe0f}') {
            continue;
        }
        if !c.is_alphanumeric() && !REPEATABLE_MARKS.contains(&c) && before == Some(c) {
            out.push(format!("{c}{c}"));
        }
        before = Some(c);
    }
    out.retain(|t| !repeatable.contains(t));
    out
}

/// The repetition rule for copy about one product ([`Reason::Repetition`]): the product's words
/// and the limits. The guardrails refuse copy in which [`Repeats::first_in`] finds anything; the
/// engine's gate never writes the token that would make it find something (the 270M model's
/// loops that are not in a row, `懒人 1265 懒人 1265 懒人…`, are cut where the phrase would
/// come a second time). One definition for both; the facts' side is counted once, when the rule
/// is built, as the gate asks it for every candidate token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeats {
    /// What the facts say twice in a row ([`said_twice`]): copy may too.
    doubled: Vec<String>,
    /// The facts' words ([`words_of`]).
    words: Vec<String>,
    /// The values of the facts' numbers ([`scan`]).
    numbers: Vec<String>,
    max_word_repeats: usize,
    /// Chinese copy only (`None` in a spaced locale): the facts' bigrams and four-character
    /// phrases, and how often a bigram may stand.
    cjk: Option<CjkGrams>,
}

/// How often copy may say one number ([`Repeats`]): a price and its echo (`143.99! The
/// Bramblewood Vale running shoe … at only 143.99`), not a third time.
const MAX_NUMBER_REPEATS: usize = 2;

/// English copy's stray characters: a Chinese character or an `Â` its facts do not have is noise
/// or mojibake (`for just under 拢`: `£` read as GBK, seed 359; `for less than Âthat`, seed 373;
/// `for just under Â?27.99`, the model's way round a price sign the gate refused, seven of the
/// demo's fourteen first-try failures on seed 391: no English word has either). One definition
/// for the guardrails' charset rule and the engine's gate, which never writes such a character,
/// whole or spelled in bytes. Chinese copy has none (its Latin words are judged whole,
/// [`stray_latin_word`]).
///
/// Nor, in English copy, a word with letters but no ASCII letter or digit, or with a letter past
/// Latin-1 (and no Chinese character, judged above) that the facts do not have
/// ([`Self::stray_word`]): `for under Ëâ?œ` (the demo, seed 523, twice), `Ľaváť` (seed 593); a
/// word like `café` keeps its ASCII letters and Latin-1 and stays. The
/// guardrails refuse such a word; the gate lets the model write it: masked, the model went on
/// `for under ’.` and `for under ⭐️`, which pass, where a second try wrote good copy.
///
/// Nor, in copy of any locale, a symbol, emoji or markup character the facts lack
/// ([`only_from_facts`], [`Self::refuses_symbol`], the guardrails' [`stray_symbol`]), which the
/// gate never writes either.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrayChars {
    /// English copy: the facts' own characters of the kind, sorted (they may be written).
    /// `None`: nothing is stray (Chinese copy, or no facts to judge by).
    english: Option<Vec<char>>,
    /// English copy: the facts' own words without an ASCII letter or with a letter past Latin-1
    /// ([`lacks_ascii`]: `Ω`, `Škoda`),
    /// lower-cased and sorted.
    own_words: Vec<String>,
    /// Copy in any locale: the facts' own symbols and markup ([`only_from_facts`]: `°`, `_`),
    /// sorted; every other is stray ([`Self::refuses_symbol`]). `None`: none is.
    symbols: Option<Vec<char>>,
}

/// Whether `word` has a letter, no Chinese character, and either no ASCII letter or digit or a
/// letter past Latin-1 (`Ľaváť, zvyknuté na vyrazí!`, served by the demo, en, seed 593; `é` of
/// `café` is Latin-1): in English copy, a word no English reader reads
/// ([`StrayChars::stray_word`]).
fn lacks_ascii(word: &str) -> bool {
    word.chars().any(char::is_alphabetic)
        && !word.chars().any(is_cjk)
        && (!word.chars().any(|c| c.is_ascii_alphanumeric())
            || word.chars().any(|c| c.is_alphabetic() && c > '\u{ff}'))
}

/// The words of `text`: runs of letters and digits, with their byte offsets.
fn alphanumeric_runs(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(move |w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
}

impl StrayChars {
    /// No character is stray.
    pub const fn none() -> Self {
        Self {
            english: None,
            own_words: Vec::new(),
            symbols: None,
        }
    }

    /// English copy's first word without an ASCII letter or with a letter past Latin-1
    /// ([`lacks_ascii`]) that the facts do not
    /// have. With `open_end` the word the end of `text` cuts may still become one of the facts'
    /// (`Ωμ` of `Ωμέγα`): it counts only when none begins so.
    pub fn stray_word<'t>(&self, text: &'t str, open_end: bool) -> Option<&'t str> {
        self.english.as_ref()?;
        alphanumeric_runs(text).find_map(|(at, word)| {
            if !lacks_ascii(word) {
                return None;
            }
            let lower = word.to_lowercase();
            let cut = open_end && at + word.len() == text.len();
            let own = if cut {
                self.own_words.iter().any(|w| w.starts_with(&lower))
            } else {
                self.own_words.binary_search(&lower).is_ok()
            };
            (!own).then_some(word)
        })
    }

    /// The rule for copy about `facts` under `config`.
    pub fn new(facts: &ProductFacts, config: &GuardrailConfig) -> Self {
        Self::beside(&facts.corpus(), config)
    }

    /// The rule beside the facts' words `corpus` ([`ProductFacts::corpus`]).
    pub(crate) fn beside(corpus: &str, config: &GuardrailConfig) -> Self {
        let own_chars = |kind: fn(char) -> bool| {
            let mut own: Vec<char> = corpus.chars().filter(|&c| kind(c)).collect();
            own.sort_unstable();
            own.dedup();
            own
        };
        let symbols = Some(own_chars(only_from_facts));
        if config.locale.unspaced() {
            return Self {
                symbols,
                ..Self::none()
            };
        }
        let own = own_chars(Self::kind);
        let mut own_words: Vec<String> = alphanumeric_runs(corpus)
            .filter(|(_, w)| lacks_ascii(w))
            .map(|(_, w)| w.to_lowercase())
            .collect();
        own_words.sort_unstable();
        own_words.dedup();
        Self {
            english: Some(own),
            own_words,
            symbols,
        }
    }

    /// Whether copy may not have `c` as a stray character: in English copy, a Chinese character
    /// or an `Â` the facts lack.
    pub fn refuses(&self, c: char) -> bool {
        self.english
            .as_ref()
            .is_some_and(|own| Self::kind(c) && own.binary_search(&c).is_err())
    }

    /// Whether every symbol is stray: the facts have none (and the rule is not [`Self::none`]).
    pub fn refuses_all_symbols(&self) -> bool {
        self.symbols.as_ref().is_some_and(Vec::is_empty)
    }

    /// Whether copy may not have `c` as a stray symbol ([`stray_symbol`]): a symbol or markup
    /// character the facts lack ([`only_from_facts`]).
    pub fn refuses_symbol(&self, c: char) -> bool {
        self.symbols
            .as_ref()
            .is_some_and(|own| only_from_facts(c) && own.binary_search(&c).is_err())
    }

    /// The characters the rule is about: Chinese ones and `Â`.
    fn kind(c: char) -> bool {
        is_cjk(c) || c == 'Â'
    }
}

/// The facts' side of the Chinese n-gram rule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CjkGrams {
    bigrams: Vec<Vec<char>>,
    fours: Vec<Vec<char>>,
    /// The facts' runs of two or more Chinese characters ([`cjk_runs`]).
    runs: Vec<Vec<char>>,
    max_bigram_repeats: usize,
}

impl Repeats {
    /// The rule for copy about `facts` under `config`.
    pub fn new(facts: &ProductFacts, config: &GuardrailConfig) -> Self {
        Self::beside(&facts.corpus(), config)
    }

    /// The rule beside the facts' words `corpus` ([`ProductFacts::corpus`]).
    pub(crate) fn beside(corpus: &str, config: &GuardrailConfig) -> Self {
        Self {
            doubled: said_twice(corpus, &[]),
            words: words_of(corpus),
            numbers: scan(corpus).into_iter().map(|n| n.value).collect(),
            max_word_repeats: config.max_word_repeats,
            cjk: config.locale.unspaced().then(|| CjkGrams {
                bigrams: cjk_grams(corpus, 2),
                fours: cjk_grams(corpus, 4),
                runs: cjk_runs(corpus)
                    .into_iter()
                    .filter(|r| r.len() >= 2)
                    .collect(),
                max_bigram_repeats: config.zh_max_bigram_repeats,
            }),
        }
    }

    /// The first thing `copy` repeats, as the rule names it (`warm warm`, `懒人 1265 懒人`,
    /// `微光咖啡`); `None` when it repeats nothing. Said twice in a row ([`said_twice`], but what
    /// the facts say so); a word of four letters or more more often than `max_word_repeats` (and
    /// than the facts have it); a phrase of three words more often than the facts have it (at
    /// most once otherwise); in Chinese, within runs of Chinese characters, a bigram more often
    /// than `zh_max_bigram_repeats` (and than the facts have it), a four-character phrase or a
    /// closed run of two or more ([`closed_cjk_runs`]: a clause, a list's item) more often than
    /// the facts have it (at most once otherwise).
    pub fn first_in(&self, copy: &str) -> Option<String> {
        if let Some(twice) = said_twice(copy, &self.doubled).into_iter().next() {
            return Some(twice);
        }
        let words = words_of(copy);
        let count = |in_words: &[String], w: &str| in_words.iter().filter(|x| *x == w).count();
        // An amount said a third time: `朗月拼图 189元，189元的189元，189元的单品。` (the zh-CN
        // demo, seed 631, served).
        let numbers: Vec<String> = scan(copy)
            .into_iter()
            .filter(|n| !n.open)
            .map(|n| n.value)
            .collect();
        if let Some(n) = numbers
            .iter()
            .find(|n| count(&numbers, n) > count(&self.numbers, n).max(MAX_NUMBER_REPEATS))
        {
            return Some(n.clone());
        }
        if let Some(w) = words.iter().find(|w| {
            w.chars().count() >= 4
                && count(&words, w) > count(&self.words, w).max(self.max_word_repeats)
        }) {
            return Some(w.clone());
        }
        let uses =
            |in_words: &[String], t: &[String]| in_words.windows(3).filter(|w| *w == t).count();
        if let Some(t) = words
            .windows(3)
            .find(|t| uses(&words, t) > uses(&self.words, t).max(1))
        {
            return Some(t.join(" "));
        }
        let cjk = self.cjk.as_ref()?;
        let count = |list: &[Vec<char>], g: &[char]| list.iter().filter(|x| *x == g).count();
        let bigrams = cjk_grams(copy, 2);
        if let Some(g) = bigrams.iter().find(|g| {
            let n = count(&bigrams, g);
            n > cjk.max_bigram_repeats && n > count(&cjk.bigrams, g)
        }) {
            return Some(g.iter().collect());
        }
        let fours = cjk_grams(copy, 4);
        if let Some(g) = fours
            .iter()
            .find(|g| count(&fours, g) > count(&cjk.fours, g).max(1))
        {
            return Some(g.iter().collect());
        }
        // `…炭黑，木材，木桶，保温壶，木材，木桶，保温瓶，木` (the zh-CN demo, seed 619: 48 tokens,
        // served): a list said again, item by item, each too short for a four-character phrase.
        let runs = closed_cjk_runs(copy);
        runs.iter()
            .find(|r| count(&runs, r) > count(&cjk.runs, r).max(1))
            .map(|r| r.iter().collect())
    }
}

impl Default for Repeats {
    /// The rule for copy with no facts to say anything again, in English's limits.
    fn default() -> Self {
        Self::beside("", &GuardrailConfig::default())
    }
}

/// The `n`-character windows of `text`'s runs of Chinese characters ([`cjk_runs`]).
fn cjk_grams(text: &str, n: usize) -> Vec<Vec<char>> {
    cjk_runs(text)
        .iter()
        .flat_map(|run| run.windows(n).map(<[char]>::to_vec))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::copy::prompt::Currency;
    use crate::numbers::{is_private_use, is_screen_drawing};

    fn facts() -> ProductFacts {
        let product = Product {
            sku: "S1".into(),
            name: "Aurelia 9.84 inch Laptop Sleeve".into(),
            brand: Some("Lapguard".into()),
            category: vec!["Computers".into(), "Laptop Accessories".into()],
            price: Minor(34900),
            list_price: Some(Minor(74900)),
            description: "Padded sleeve, 100% polyester, model LG884213657".into(),
            tags: vec![],
        };
        ProductFacts::new(&product, &Currency::default())
    }

    fn brands() -> BrandList {
        BrandList::new(["Lapguard", "Asus", "HP", "Prime", "Tenda"])
    }

    fn verdict(copy: &str) -> Verdict {
        check(copy, &facts(), &brands(), &GuardrailConfig::default())
    }

    fn reason(copy: &str) -> &'static str {
        verdict(copy).code()
    }

    /// A currency code or name that is the product's own brand or name word is quoted, not a
    /// price (found by the zh template property test: a brand `SEK`); another currency still is
    /// foreign, and so is the product's word when it is not the product's (another product).
    #[test]
    fn a_currency_word_the_product_is_named_by_is_no_foreign_currency() {
        let cur = Currency::default().symbol;
        let named = |name: &str, brand: Option<&str>| {
            let mut p = facts();
            p.name = name.into();
            p.brand = brand.map(Into::into);
            p
        };
        let brands = BrandList::new(["SEK", "Lapguard"]);
        let config = GuardrailConfig::default();
        let code = |copy: &str, f: &ProductFacts| check(copy, f, &brands, &config).code();
        let sek = named("Padded Laptop Sleeve", Some("SEK"));
        assert_eq!(
            code(&format!("SEK padded laptop sleeve, now {cur}349."), &sek),
            "pass"
        );
        let euro = named("Euro Plug Laptop Sleeve", Some("Lapguard"));
        let copy = format!("Lapguard Euro Plug laptop sleeve, now {cur}349.");
        assert_eq!(code(&copy, &euro), "pass");
        let dollars = "Lapguard Euro Plug laptop sleeve, now 349 USD.";
        assert_eq!(code(dollars, &euro), "foreign_currency");
        assert_eq!(
            code(&copy, &facts()),
            "foreign_currency",
            "not this product's word"
        );
    }

    /// A brand that is a currency code before a number of the name (the zh template property
    /// test: brand `AED`, name `14 蓝牙耳机`) quotes the product: no price of AED 14. Another
    /// amount after it, or the number as a price in the store's currency, is still judged.
    #[test]
    fn a_brand_that_is_a_currency_code_before_the_names_number_is_no_price() {
        let mut f = facts();
        f.name = "14 蓝牙耳机".into();
        f.brand = Some("AED".into());
        f.list_price = None;
        f.discount_percent = None;
        let cur = f.currency.symbol.clone();
        let price = f.price.display();
        let brands = BrandList::new(["AED"]);
        let config = GuardrailConfig::default().for_locale(crate::locale::Locale::ZhCn);
        let code = |copy: &str| check(copy, &f, &brands, &config).code();
        assert_eq!(
            code(&format!("AED 14 蓝牙耳机，现价{cur}{price}。")),
            "pass"
        );
        assert_eq!(
            code(&format!("AED 14 蓝牙耳机，现价{cur}14。")),
            "wrong_price_role"
        );
        assert_eq!(
            code(&format!("AED 14 蓝牙耳机，现价AED {price}。")),
            "foreign_currency",
            "the brand's word as a currency"
        );
        assert_eq!(
            code("AED 14 蓝牙耳机，现价AED 14。"),
            "foreign_currency",
            "after a price word the brand's word marks an amount, its name's number or not"
        );
    }

    /// The zh template property test (PROPTEST_CASES=20000): a brand that is the store's own
    /// currency code before a number of the name (`CNY 14 超轻，现价¥0.01`) was read as a price
    /// of CNY 14, so the template failed the guardrails.
    #[test]
    fn a_brand_that_is_the_stores_own_code_before_the_names_number_is_no_price() {
        let mut f = facts();
        let own = f.currency.code.clone();
        f.name = "14 超轻".into();
        f.brand = Some(own.clone());
        f.list_price = None;
        f.discount_percent = None;
        let cur = f.currency.symbol.clone();
        let price = f.price.display();
        let brands = BrandList::new([own.as_str()]);
        let config = GuardrailConfig::default().for_locale(crate::locale::Locale::ZhCn);
        let code = |copy: &str| check(copy, &f, &brands, &config).code();
        assert_eq!(
            code(&format!("{own} 14 超轻，现价{cur}{price}，值得一看。")),
            "pass"
        );
        assert_eq!(
            code(&format!("{own} 14 超轻，现价{own} 14，值得一看。")),
            "wrong_price_role",
            "after a price word the store's code marks an amount"
        );
    }

    /// Seen on the demo kiosk (2026-12-02): "…has 20 inches of space…" for a sleeping bag 20 %
    /// off, which the bare 20 of its `20% off` let through.
    #[test]
    fn a_percentage_of_the_facts_is_no_bare_figure() {
        let known = allowed_numbers(&facts());
        assert!(known.contains(&"100%".to_string()), "{known:?}");
        assert!(!known.contains(&"100".to_string()), "{known:?}");
        let discount = facts().discount_percent.unwrap();
        assert!(known.contains(&format!("{discount}%")), "{known:?}");
        assert!(!known.contains(&discount.to_string()), "{known:?}");
        let cur = Currency::default().symbol;
        for (copy, code) in [
            (
                format!("Aurelia laptop sleeve with 100 pockets, now just {cur}349."),
                "unknown_number",
            ),
            (
                format!("Aurelia laptop sleeve with {discount} pockets, now just {cur}349."),
                "unknown_number",
            ),
            (
                format!("Aurelia laptop sleeve in 100% polyester, now just {cur}349."),
                "pass",
            ),
        ] {
            assert_eq!(reason(&copy), code, "{copy}");
        }
    }

    #[test]
    fn barred_phrases_are_the_banned_and_absolute_ones_the_facts_do_not_use() {
        let en = GuardrailConfig::default();
        let barred = en.barred_phrases(&facts());
        assert!(barred.contains(&"lowest price".to_string()));
        // Chinese retailers in English copy fail earlier, as `charset`.
        for p in barred.iter().filter(|p| !p.chars().any(is_cjk)) {
            let copy = format!("A padded Lapguard sleeve, {p}, now ₹349.");
            assert!(
                matches!(
                    verdict(&copy),
                    Verdict::Fail(
                        Reason::BannedPhrase(_)
                            | Reason::OtherRetailer(_)
                            | Reason::Testimonial(_)
                            | Reason::UnknownNumber(_)
                            | Reason::WrongPriceRole(_)
                            | Reason::ForeignBrand(_)
                    )
                ),
                "{copy}"
            );
        }
        assert!(
            !barred.iter().any(|p| p == "最低价"),
            "no absolute-claim rule set in en"
        );
        let mut clicky = facts();
        clicky.name = "Click Connect laptop sleeve".into();
        assert!(
            !en.barred_phrases(&clicky).contains(&"click".to_string()),
            "a phrase of the product's own name is a fact"
        );
        let zh = GuardrailConfig::default().for_locale(Locale::ZhCn);
        let charger = zh_facts("万能充电器", "星轨", "充电器", 9900, None, "快充");
        let zh_barred = zh.barred_phrases(&charger);
        assert!(zh_barred.contains(&"最低价".to_string()));
        assert!(
            !zh_barred.contains(&"万能".to_string()),
            "the name's own word"
        );
        // What the gate bars is what the guardrails refuse (Latin words in Chinese copy fail
        // earlier, as `charset`).
        for p in zh_barred.iter().filter(|p| p.chars().any(is_cjk)) {
            let copy = format!("星轨万能充电器现价￥99，{p}，快充好用");
            assert!(
                matches!(
                    check(&copy, &charger, &zh_brands(), &zh),
                    Verdict::Fail(
                        Reason::BannedPhrase(_)
                            | Reason::OtherRetailer(_)
                            | Reason::AbsoluteClaim(_)
                    )
                ),
                "{copy}"
            );
        }
    }

    /// A price set beside another thing's is a price the facts do not have: refused in any case,
    /// barred while the model writes, a fact where the product's own words have it. Seen in the
    /// demo's first tries (en, seed 601) and served before (`the same price as…`).
    #[test]
    fn a_price_set_beside_another_things_is_refused() {
        let usd = usd();
        let conditioner = priced("Zephyrin Willow Conditioner", 349, Some(499), &usd);
        for copy in [
            "Only 3.49, now for less than the price of an espresso",
            "The Zephyrin Willow conditioner now sells for a little under the price of a smartphone",
            "Zephyrin Willow conditioner, now only 3.49: the Price of a coffee!",
            "Zephyrin Willow conditioner for 3.49, the same price as a full set of snacks",
            "Zephyrin Willow conditioner, 3.49 and cheaper than the rest.",
            // The demo, seed 599, served.
            "Only 3.49, now 30% off: a Zephyrin conditioner for just under the price of other brands.",
            "3.49: Zephyrin Willow conditioner, now for just over the price of other conditioners",
            "Zephyrin Willow conditioner, 30% off, just under the price of most other conditioners",
            "The Zephyrin Willow conditioner for 3.49, only at the price of the original",
            "Zephyrin Willow conditioner, 30% off, for just under the cost of your average store.",
            "3.49: Zephyrin Willow conditioner for under the table",
            "Zephyrin Willow conditioner: 3.49, the cost of a bus ticket",
            // What the model wrote once the phrases above were barred (seed 599, served).
            "Only 3.49, down to just over a third the price of this conditioner",
            "Only 3.49, down to just over a third the average price of this conditioner",
            "Zephyrin Willow conditioner now for 3.49, only about double the usual retail prices.",
            // Seed 607, served by this round's rules.
            "Zephyrin Willow conditioner, at a bargain price of just over a pound",
            "3.49: a Zephyrin Willow conditioner, for only the price of your home",
            "Only 3.49, a Zephyrin Willow conditioner for just over 3.49",
        ] {
            assert_eq!(judge(copy, &conditioner).code(), "wrong_price_role", "{copy}");
        }
        for copy in [
            "Zephyrin Willow conditioner, only 3.49: a price you will love.",
            "Zephyrin Willow conditioner at 3.49, the price of care for every wash.",
        ] {
            assert_eq!(judge(copy, &conditioner), Verdict::Pass, "{copy}");
        }
        let en = GuardrailConfig::default();
        let barred = en.barred_phrases(&conditioner);
        assert!(PRICE_COMPARISONS
            .iter()
            .all(|p| barred.iter().any(|b| b == p)));
        let mut deal = conditioner.clone();
        deal.details = "two for the price of one".into();
        assert!(
            !en.barred_phrases(&deal).iter().any(|b| b == "price of one"),
            "the facts' own offer"
        );
        let zh = GuardrailConfig::default().for_locale(Locale::ZhCn);
        let charger = zh_facts("万能充电器", "星轨", "充电器", 9900, None, "快充");
        assert!(!zh
            .barred_phrases(&charger)
            .iter()
            .any(|b| PRICE_COMPARISONS.contains(&b.as_str())));
    }

    /// The well-known brands the facts lack are barred as written: `Apple` the maker, not the
    /// fruit; the product's own brand is a fact.
    #[test]
    fn a_well_known_brand_is_barred_as_written() {
        let usd = usd();
        let tee = priced("Nova T-shirt", 1099, None, &usd);
        let barred = GuardrailConfig::default().barred_phrases(&tee);
        for brand in ["Apple", "iPhone", "Samsung"] {
            assert!(barred.iter().any(|b| b == brand), "{brand}");
        }
        assert!(says_phrase("Love it, like an Apple Watch", "Apple"));
        assert!(says_phrase("Apple", "Apple"), "a brand the copy ends on");
        assert!(!says_phrase("Crisp as an apple", "Apple"), "the fruit");
        assert!(!says_phrase("Apples for everyone", "Apple"), "whole words");
        let mut case = priced("Rivetta iPhone 15 case", 1999, None, &usd);
        case.brand = Some("Rivetta".into());
        assert!(!GuardrailConfig::default()
            .barred_phrases(&case)
            .iter()
            .any(|b| b == "iPhone"));
    }

    /// Served by the demo on seed 557, every one: a copy that ends on `at` or a `for` with nothing
    /// after it, a symbol where a price should be, another maker's brand, another marketplace.
    #[test]
    fn what_seed_557_served_is_refused() {
        let jacket = priced("Quillby Haven Jacket Slate", 12099, Some(15099), &usd());
        for (copy, code) in [
            (
                "The Quillby Haven jacket is now only on sale at",
                "unfinished",
            ),
            ("The Quillby Haven jacket now goes for", "unfinished"),
            ("The Quillby Haven jacket keeps you warm for", "unfinished"),
            (
                "Quillby Haven jacket, just ⭐\u{fe0f} for a warm winter.",
                "unfinished",
            ),
            (
                "Quillby Haven jacket, now 120.99 (was 😜), warm.",
                "unfinished",
            ),
            ("The Quillby Haven jacket for only ⋯ 😢", "unfinished"),
            (
                "Quillby Haven jacket, 120.99: for the price of an iPhone!",
                "foreign_brand",
            ),
            (
                "Apple jacket: the Quillby Haven, now 120.99.",
                "foreign_brand",
            ),
            (
                "Quillby Haven jacket, 120.99, now on Lazada.",
                "other_retailer",
            ),
        ] {
            assert_eq!(judge(copy, &jacket).code(), code, "{copy}");
        }
        for fine in [
            "The Quillby Haven jacket you came for, 120.99.",
            "Quillby Haven jacket, only 120.99. Shop now!",
            "Quillby Haven jacket, warm as apple pie, 120.99.",
        ] {
            assert!(judge(fine, &jacket).is_pass(), "{fine}");
        }
        let strap = priced("Maxima Strap for Apple Watch", 49900, None, &usd());
        assert!(judge("Maxima strap for your Apple Watch, 499.", &strap).is_pass());
    }

    /// Served on seed 547: `Velmora Vale Running Shoe Sand, 🇺🇸` (the demo), `…the Sonata watch,
    /// 🇮🇳` (the Flipkart sample); and `…board game for 🎀`, a `for` left hanging.
    #[test]
    fn a_flag_is_an_origin_claim_and_for_does_not_end_copy() {
        let shoe = priced("Velmora Vale Running Shoe Sand", 8999, None, &usd());
        assert_eq!(
            judge("Velmora Vale Running Shoe Sand, 🇺🇸", &shoe),
            Verdict::Fail(Reason::BannedPhrase("🇺🇸".into()))
        );
        assert_eq!(
            judge("Velmora Vale Running Shoe Sand for 89.99 🇮🇳 today.", &shoe).code(),
            "banned_phrase"
        );
        let hanging = "Velmora Vale Running Shoe Sand, ready to run for 🎀";
        assert_eq!(unfinished_ending(hanging), Some("for"));
        assert_eq!(judge(hanging, &shoe).code(), "charset");
        // Any other emoji the facts lack is refused as a stray symbol ([`stray_symbol`]).
        assert_eq!(
            judge("Velmora Vale Running Shoe Sand, 89.99 🏃", &shoe).code(),
            "charset"
        );
    }

    /// `make run` showed the demo's first shopper `Essential water bottle, $30.49; no leak-proof
    /// lid` for a bottle whose facts say `…with a leak-proof lid`. A denial of what the facts say
    /// is refused; the facts' own denials, and a denial of something else, are not.
    #[test]
    fn copy_that_denies_a_fact_is_refused() {
        let bottle = ProductFacts::new(
            &Product {
                sku: "OU-WAT-0001".into(),
                name: "Northpine Summit Water Bottle Slate".into(),
                brand: Some("Northpine".into()),
                category: vec!["Outdoor".into(), "Water Bottles".into()],
                price: Minor(3049),
                list_price: None,
                description: "Water bottle with no added plastic taste and a leak-proof lid."
                    .into(),
                tags: vec![],
            },
            &usd(),
        );
        for (copy, denial) in [
            (
                "Essential water bottle, $30.49; no leak-proof lid",
                "no leak proof",
            ),
            (
                "Northpine water bottle without any leak-proof lid, $30.49.",
                "without leak proof",
            ),
        ] {
            assert_eq!(
                judge(copy, &bottle),
                Verdict::Fail(Reason::DeniesFact(denial.into())),
                "{copy}"
            );
        }
        for fine in [
            "Northpine water bottle with a leak-proof lid, $30.49.",
            "Northpine water bottle, $30.49: no added plastic taste.",
            "Northpine water bottle, $30.49: no more spills in the car.",
        ] {
            assert!(
                judge(fine, &bottle).is_pass(),
                "{fine}: {:?}",
                judge(fine, &bottle)
            );
        }
        // The Flipkart sample (seed 617): a mug named `Never Give Up`, whose name also says
        // `give up` on its own elsewhere in its facts.
        let mug = priced(
            "Prithish Never Give Up Mug - Give Up Nothing",
            17500,
            None,
            &usd(),
        );
        assert!(judge("Never give up, always: Prithish mug, $175.", &mug).is_pass());
        // Seed 619: `Never Ever Give Up`, said without its `Ever`; its second try wrote the
        // price as a measure.
        let inr = Currency::default();
        let mug_inr = described(
            "Prithish Never Ever Give Up Ceramic Mug",
            17500,
            Some(49900),
            "Prithish Never Ever Give Up Ceramic Mug (330 ml)",
            &inr,
        );
        assert_eq!(
            judge(
                "Never give up: Prithish never ever give up ceramic mug, 330 ml in 175ml.",
                &mug_inr
            ),
            Verdict::Fail(Reason::WrongPriceRole("a price as a measure 175ml".into()))
        );
        assert!(judge(
            "Never give up: Prithish ceramic mug, 330 ml, now 175.",
            &mug_inr
        )
        .is_pass());
        let mug = priced(
            "Prithish Never Ever Give Up Ceramic Mug",
            17500,
            None,
            &usd(),
        );
        assert!(judge("Never give up: Prithish ceramic mug, $175.", &mug).is_pass());
        assert_eq!(Reason::DeniesFact("no lid".into()).code(), "denies_fact");
    }

    /// Served on the Flipkart sample (seed 617): `Fits in a 25% off coupon: Graco LiteRider…`.
    /// An offer the store does not run is a banned phrase, unless the facts have it.
    #[test]
    fn an_offer_the_store_does_not_run_is_refused() {
        let sandal = priced("Kitecourt Nova Sandal Ivory", 2999, None, &usd());
        for (seen, phrase) in [
            (
                "Fits in a 29.99 coupon: Kitecourt Nova Sandal Ivory.",
                "coupon",
            ),
            (
                "Kitecourt Nova Sandal Ivory, 29.99 with free shipping.",
                "free shipping",
            ),
            (
                "Kitecourt Nova Sandal Ivory, 29.99 and cash-back!",
                "cash back",
            ),
        ] {
            assert_eq!(
                judge(seen, &sandal),
                Verdict::Fail(Reason::BannedPhrase(phrase.into())),
                "{seen}"
            );
        }
        let voucher = priced("Kitecourt Sandal with Coupon Book", 2999, None, &usd());
        assert!(judge("Kitecourt Sandal with Coupon Book, 29.99.", &voucher).is_pass());
    }

    /// Served by the demo (en, seed 683), each as written: an offer the till does not know, a
    /// deadline nobody set, a shop chosen and not named, a superlative over every product or
    /// brand, copy that runs the product down, a price set beside another thing's. With the
    /// claim taken out the copy passes, and a name that has the words keeps them.
    #[test]
    fn seed_683s_served_claims_are_refused() {
        let pan = priced("Mossgate Ridge Pan Sand", 2899, Some(3699), &usd());
        let conditioner = priced("Talbrook Echo Conditioner Slate", 1199, None, &usd());
        let mug = priced("Ferrowind Haven Mug Slate", 1199, None, &usd());
        let tea = priced("Lumenoak Fable Tea Slate", 1099, Some(1399), &usd());
        for (seen, facts, phrase) in [
            (
                "Fresh, simple and delicious: Mossgate Ridge Pan Sand, 28.99 (was 36.99, discount code available), from the kitchen to the dining table",
                &pan,
                "discount code",
            ),
            (
                "Mossgate Ridge Pan Sand, now here for only a few more weeks! 28.99",
                &pan,
                "few more weeks",
            ),
            (
                "Mossgate Ridge Pan Sand, now at 28.99, only a few more days left for their sale",
                &pan,
                "few more days",
            ),
            (
                "Mossgate Ridge Pan Sand, 28.99, available at select drugstores.",
                &pan,
                "at select",
            ),
            (
                "Mossgate Ridge Pan Sand, 28.99, on our store page",
                &pan,
                "store page",
            ),
            (
                "Pan of the month! Mossgate Ridge Pan Sand, 28.99",
                &pan,
                "of the month",
            ),
            (
                "Hair care tip: this is the best conditioner on the market! Talbrook Echo, 11.99",
                &conditioner,
                "on the market",
            ),
            (
                "Fresh conditioner, from the best brand: Talbrook Echo, 11.99.",
                &conditioner,
                "best brand",
            ),
            (
                "The best of the worst: Ferrowind Haven Mug Slate, now at a price of just 11.99!",
                &mug,
                "worst",
            ),
        ] {
            assert_eq!(
                judge(seen, facts),
                Verdict::Fail(Reason::BannedPhrase(phrase.into())),
                "{seen}"
            );
        }
        assert_eq!(
            judge(
                "Only 10.99, 21% off: a Lumenoak Fable tea slate for less than the cost of your home",
                &tea
            )
            .code(),
            "wrong_price_role"
        );
        for fine in [
            "Fresh, simple and delicious: Mossgate Ridge Pan Sand, 28.99 (was 36.99), from the kitchen to the dining table",
            "Only 10.99, 21% off: a Lumenoak Fable tea slate for your home",
        ] {
            let facts = if fine.contains("Lumenoak") { &tea } else { &pan };
            assert!(judge(fine, facts).is_pass(), "{fine}");
        }
        let sundrift = priced("Sundrift Meadow Conditioner", 349, None, &usd());
        assert_eq!(
            judge(
                "The Sundrift Meadow conditioner, a 3.49 bottle of the original",
                &sundrift
            )
            .code(),
            "fake_discount"
        );
        let snack = priced("Pebblecrest Cove Snack Mix Charcoal", 649, None, &usd());
        for (seen, claim) in [
            (
                "6.49, buy now! The Pebblecrest Cove Snack Mix Charcoal is only available at the store for just a few weeks.",
                "for just a few weeks",
            ),
            (
                "Pebblecrest Cove Snack Mix Charcoal, 6.49 for a couple more weeks.",
                "for a couple more weeks",
            ),
            (
                "Pebblecrest Cove Snack Mix Charcoal, 6.49, here for several weeks.",
                "for several weeks",
            ),
        ] {
            assert_eq!(
                judge(seen, &snack),
                Verdict::Fail(Reason::BannedPhrase(claim.into())),
                "{seen}"
            );
        }
        for fine in [
            "Pebblecrest Cove Snack Mix Charcoal, 6.49: perfect for a day at the beach.",
            "Pebblecrest Cove Snack Mix Charcoal for a few friends, 6.49.",
        ] {
            assert!(judge(fine, &snack).is_pass(), "{fine}");
        }
        let named = priced("Worst Case Scenario Party Game", 2499, None, &usd());
        assert!(judge(
            "Worst Case Scenario Party Game, 24.99 for game night.",
            &named
        )
        .is_pass());
    }

    /// Served by the demo (en, seed 619): a price of nothing, a superlative over every product
    /// there is, a saving in words for a product without a list price. With a list price the
    /// saving is the catalog's; the facts' own phrase is a fact.
    #[test]
    fn free_superlative_and_unpriced_saving_claims_are_refused() {
        let mug = priced("Ferrowind Haven Mug Slate", 1199, None, &usd());
        for (seen, code) in [
            (
                "It's not expensive, you don't have to pay for it! 11.99: Ferrowind Haven Mug Slate",
                "banned_phrase",
            ),
            (
                "Ferrowind Haven Mug Slate, yours for free with any order",
                "banned_phrase",
            ),
            (
                "The only affordable mug in the world: Ferrowind Haven Mug Slate, now at 11.99",
                "banned_phrase",
            ),
            (
                "This is the best mug you can buy: Ferrowind Haven Mug Slate",
                "banned_phrase",
            ),
            (
                "Only 11.99 for the Ferrowind Haven Mug Slate, save more than a month's worth",
                "fake_discount",
            ),
            (
                "11.99, now on the cheap: Ferrowind Haven Mug Slate at a lower than usual",
                "fake_discount",
            ),
            (
                "Ferrowind Haven Mug Slate for just one more than the usual (but still affordable) price",
                "fake_discount",
            ),
            (
                "Shoppers, save: Ferrowind Haven Mug Slate for just 11.99 instead of the usual store price",
                "fake_discount",
            ),
            (
                "Only 11.99, now only on Ferrowind Haven Mug Slate for just one more than the retail",
                "fake_discount",
            ),
            (
                "This is the best mug you can find: Ferrowind Haven Mug Slate",
                "banned_phrase",
            ),
        ] {
            assert_eq!(judge(seen, &mug).code(), code, "{seen}");
        }
        let on_sale = priced("Ferrowind Haven Mug Slate", 1199, Some(1599), &usd());
        assert!(judge(
            "Ferrowind Haven Mug Slate, 11.99, lower than usual: save more today",
            &on_sale
        )
        .is_pass());
        let free = described(
            "Ferrowind Haven Mug Slate",
            1199,
            None,
            "Dishwasher safe and free of charge engraving on request",
            &usd(),
        );
        assert!(judge(
            "Ferrowind Haven Mug Slate, 11.99, with free of charge engraving",
            &free
        )
        .is_pass());
    }

    /// Served by the demo (en, seed 653), each past every rule before: a span of time the
    /// facts never give, a superlative over every product with `ever`, a shop unnamed or
    /// misspelt, a review nobody wrote, copy that runs the product down, a stock level, and a
    /// comparison past the role window's edge.
    #[test]
    fn what_the_demo_served_on_seed_653_is_refused() {
        let usd = usd();
        let socks = priced("Brasswren Zenith Sock Pack", 899, None, &usd);
        let bag = priced("Bramblewood Umber Sleeping Bag Mint", 8449, None, &usd);
        let tee = priced("Tovari Ridge T-shirt Berry", 3099, None, &usd);
        let bottle = priced("Northpine Swift Water Bottle", 1649, None, &usd);
        let boot = priced("Quillby Fable Boot", 18399, None, &usd);
        for (copy, facts, code) in [
            (
                "Gym buddy alert! The Brasswren Zenith sock pack keeps your water icy for up to an hour, only at this price.",
                &socks,
                "banned_phrase",
            ),
            (
                "Winter sleep, no noise; this one will stay cold for up to a year. Bramblewood Umber Sleeping Bag Mint.",
                &bag,
                "banned_phrase",
            ),
            (
                "Now only 84.49 per night: the Bramblewood Umber Sleeping Bag Mint!",
                &bag,
                "banned_phrase",
            ),
            (
                "Bramblewood Umber Sleeping Bag Mint, now just over a month old at 84.49.",
                &bag,
                "banned_phrase",
            ),
            (
                "Only 84.49, now less than a week’s rent: Bramblewood Umber Sleeping Bag Mint.",
                &bag,
                "wrong_price_role",
            ),
            (
                "The Northpine Swift Water Bottle, the best water bottle ever!",
                &bottle,
                "banned_phrase",
            ),
            (
                "30.99, now less than the high of 30.99: Tovari Ridge T-shirt Berry with organic cotton.",
                &tee,
                "fake_discount",
            ),
            (
                "Gym buddy alert! The Northpine Swift Water Bottle is now 16.49; only available at select retail stores",
                &bottle,
                "banned_phrase",
            ),
            (
                "Northpine Swift Water Bottle, at the time of writing, was only available on e-bay.",
                &bottle,
                "banned_phrase",
            ),
            (
                "The best of the tech, this one! Northpine Swift Water Bottle now only on-line at Shop.",
                &bottle,
                "banned_phrase",
            ),
            (
                "Quillby Fable Boot, 183.99 (a classic at the time of this review)",
                &boot,
                "banned_phrase",
            ),
            (
                "Low price, low quality: Quillby Fable Boot for just 183.99.",
                &boot,
                "banned_phrase",
            ),
            (
                "The Quillby Fable Boot is compact, but it's not cheap.",
                &boot,
                "banned_phrase",
            ),
            (
                "Fable boot, 183.99 (was on stock), from Quillby",
                &boot,
                "banned_phrase",
            ),
            (
                "Quillby Fable Boot, beautiful for winter: the quillby fable, no longer available",
                &boot,
                "banned_phrase",
            ),
        ] {
            assert_eq!(judge(copy, facts).code(), code, "{copy}: {:?}", judge(copy, facts));
        }
        // The Flipkart sample, seed 653, served (its prices here in dollars: the rules read
        // words).
        let battery = priced(
            "Lapguard HP Pavilion 6 Cell Battery",
            1699,
            Some(3999),
            &usd,
        );
        let watch = priced("Sonata Analog Watch 10", 949, None, &usd);
        let mug = priced("Printland Ceramic Mug", 299, Some(649), &usd);
        for (copy, facts, code) in [
            (
                "16.99, 58% off: a Lapguard HP Pavilion 6 cell battery with less than one hour of charging.",
                &battery,
                "banned_phrase",
            ),
            (
                "Watch on the go, 10-day battery life: Sonata Analog Watch 10.",
                &watch,
                "banned_phrase",
            ),
            ("2.99, 54% off: a printland ceramic mug at the best.", &mug, "banned_phrase"),
            ("Shoppers love this product: Sonata Analog Watch.", &watch, "banned_phrase"),
            (
                "Shoppers have been raving about this Sonata Analog Watch for its design.",
                &watch,
                "banned_phrase",
            ),
            ("Best selling coffee mugs, perfect for gifts: Printland Ceramic mug, 2.99.", &mug, "banned_phrase"),
        ] {
            assert_eq!(judge(copy, facts).code(), code, "{copy}: {:?}", judge(copy, facts));
        }
        // What the model wrote on the same pairs once the gate barred the claims above (each
        // served).
        let tent = priced("Kestrelle Drift Tent Sky", 18899, None, &usd);
        for (copy, facts, code) in [
            (
                "Gym buddy alert! The Brasswren Zenith sock pack keeps your water icy for up to an extra hour.",
                &socks,
                "banned_phrase",
            ),
            (
                "Winter sleep, no noise; this one will stay cold for up to a full night. Bramblewood Umber Sleeping Bag Mint.",
                &bag,
                "banned_phrase",
            ),
            (
                "Bramblewood Umber Sleeping Bag Mint keeps your water cold for up to an extra full hour.",
                &bag,
                "banned_phrase",
            ),
            (
                "The Northpine Swift Water Bottle, the best water bottle on earth! Now only 16.49",
                &bottle,
                "banned_phrase",
            ),
            (
                "Northpine Swift Water Bottle, now at the lowest possible rate",
                &bottle,
                "banned_phrase",
            ),
            (
                "Gym buddy alert! The Northpine Swift Water Bottle is now 16.49; only available at select boutiques",
                &bottle,
                "banned_phrase",
            ),
            (
                "Northpine Swift Water Bottle, at the time of this writing, only available on online.",
                &bottle,
                "banned_phrase",
            ),
            (
                "Kestrelle Drift Tent Sky, 188.99 (a classic at the time of this post), available for pre-order now",
                &tent,
                "banned_phrase",
            ),
            (
                "Kestrelle Drift Tent Sky, beautiful for camping: the kestrelle drift, no longer in production.",
                &tent,
                "banned_phrase",
            ),
            (
                "Kestrelle Drift Tent Sky now costs the original price of about US?J?",
                &tent,
                "charset",
            ),
        ] {
            assert_eq!(judge(copy, facts).code(), code, "{copy}: {:?}", judge(copy, facts));
        }
        // Endings the model chose, not the gate (each served, en, seed 653).
        let shoe = priced("Northpine Fable Running Shoe Ivory", 11049, None, &usd);
        let tee = priced("Nimbrel Nova T-Shirt Mint", 2549, None, &usd);
        let boot = priced("Northpine Drift Boot Slate", 16849, Some(22499), &usd);
        for (copy, facts, last) in [
            ("Northpine Fable Running Shoe Ivory, now at a lower", &shoe, "lower"),
            (
                "Mint, 25.49: a compact Nimbrel Nova t-shirt with organic cotton and a relaxed",
                &tee,
                "relaxed",
            ),
            (
                "Winter boots, 25% off! The Northpine Drift Boot Slate now costs the original price of about US",
                &boot,
                "US",
            ),
        ] {
            assert_eq!(judge(copy, facts), Verdict::Fail(Reason::Unfinished(last.into())), "{copy}");
        }
        assert!(judge("Northpine Drift Boot Slate, 168.49, made for us", &boot).is_pass());
        // Seed 659, each served: an article and an adjective's shape at the end.
        let sandal = described(
            "Kitecourt Glide Sandal",
            4999,
            None,
            "A 30-hour sole for a two-person hike.",
            &usd,
        );
        for (copy, last) in [
            (
                "49.99: a Kitecourt Glide sandal with an adjustable",
                "adjustable",
            ),
            ("Kitecourt Glide Sandal, 49.99, with a 30-hour", "30-hour"),
            (
                "Kitecourt Glide Sandal for two, with a two-person",
                "two-person",
            ),
            (
                "Kitecourt Glide Sandal with colour-coded straps and a full",
                "full",
            ),
            ("Kitecourt Glide Sandal, 49.99, with a padded", "padded"),
            (
                "A nice looking Kitecourt Glide Sandal, a few extra US",
                "US",
            ),
        ] {
            assert_eq!(
                judge(copy, &sandal),
                Verdict::Fail(Reason::Unfinished(last.into())),
                "{copy}"
            );
        }
        for fine in [
            // A list of adjectives: the noun comes after the last (the Flipkart sample, seed
            // 673, refused as unfinished before).
            "A padded, adjustable Kitecourt Glide Sandal, 49.99.",
            "Kitecourt Glide Sandal: a 30-hour, two-person sole, 49.99.",
            "Kitecourt Glide Sandal, 49.99: a keeper",
            "Kitecourt Glide Sandal, 49.99, a must-have",
            "Kitecourt Glide Sandal for the beach: a steal at 49.99 and a bed",
            "Kitecourt Glide Sandal, 49.99, the one with the speed",
        ] {
            assert!(
                judge(fine, &sandal).is_pass(),
                "{fine}: {:?}",
                judge(fine, &sandal)
            );
        }
        let charger = priced("Wild Stone Charge", 35000, None, &Currency::default());
        let served = "A rechargeable, high-quality set of chargers for electronics: Wild Stone Charge, ₹350.";
        assert!(
            judge(served, &charger).is_pass(),
            "{:?}",
            judge(served, &charger)
        );
        assert_eq!(
            judge("2.99, 54% off: a printland ceramic mug at the best", &mug),
            Verdict::Fail(Reason::Unfinished("best".into()))
        );
        // A unit or `ever` that ends the text may still become another word: the screen gate
        // waits for the end.
        assert_eq!(
            judge(
                "Brasswren Zenith Sock Pack keeps feet dry for up to a week",
                &socks
            ),
            Verdict::Fail(Reason::Unfinished("week".into()))
        );
        assert_eq!(
            judge(
                "Northpine Swift Water Bottle, the best bottle ever",
                &bottle
            ),
            Verdict::Fail(Reason::Unfinished("ever".into()))
        );
        let charger = described(
            "Halvane Nova Charger",
            2999,
            None,
            "Fast charging, a 30-hour battery and overheat protection.",
            &usd,
        );
        for fine in [
            "Halvane Nova Charger, 29.99: fast charging that lasts up to 30 hours.",
            "Halvane Nova Charger, 29.99: ever ready, the best of fast charging.",
            "Brasswren Zenith Sock Pack, 8.99, for a day on the trail and a weekend away.",
            "Brasswren Zenith Sock Pack, 8.99, up to a weekend of comfort.",
        ] {
            let facts = if fine.starts_with("Halvane") {
                &charger
            } else {
                &socks
            };
            assert!(
                judge(fine, facts).is_pass(),
                "{fine}: {:?}",
                judge(fine, facts)
            );
        }
    }

    /// Served by the demo (en, seed 631), each once the rules of seed 619 were in: an amount
    /// in words, a shop unnamed or named after a price, the lowest price with its noun left
    /// out, a stock level, half for a discount under half, the price as a measure, an amount
    /// in words cut before its money word.
    #[test]
    fn what_the_demo_served_on_seed_631_is_refused() {
        let usd = usd();
        let beans = priced(
            "Glenharrow Sable Coffee Beans Charcoal",
            1149,
            Some(1599),
            &usd,
        );
        let plain = priced("Mossgate Zenith Mug Sky", 599, None, &usd);
        let case = priced("Halvane Deluxe Phone Case", 2349, Some(2999), &usd);
        let puzzle = priced("Marlowick Umber Puzzle", 1049, None, &usd);
        for (copy, facts, code) in [
            (
                "Shoppers, save: Glenharrow Sable Coffee Beans Charcoal at a bargain price of just over one-fourth the original.",
                &beans,
                "wrong_price_role",
            ),
            (
                "Only 11.49, 28% off: a Glenharrow Sable coffee bean bag for under a few extra grand",
                &beans,
                "wrong_price_role",
            ),
            (
                "Mossgate Zenith Mug Sky, now only 5.99 at the Mountain Gate store",
                &plain,
                "other_retailer",
            ),
            (
                "The Mossgate Zenith Mug Sky now costs only 5.99, available at select retailers",
                &plain,
                "banned_phrase",
            ),
            (
                "Mossgate Zenith Mug Sky, now 5.99 at the lowest; a mug for every day",
                &plain,
                "banned_phrase",
            ),
            (
                "Only a few of these, but great for winter: Mossgate Zenith Mug Sky, 5.99",
                &plain,
                "banned_phrase",
            ),
            (
                "Halve the price, 23.49: a Halvane Deluxe phone case",
                &case,
                "fake_discount",
            ),
            (
                "The best of the low-cost puzzles. This 10.49 ounce puzzle has a storage box.",
                &puzzle,
                "wrong_price_role",
            ),
            (
                "Coffee, now at a great price! Glenharrow Sable beans set to go on sale for just under one",
                &beans,
                "unfinished",
            ),
        ] {
            assert_eq!(judge(copy, facts).code(), code, "{copy}: {:?}", judge(copy, facts));
        }
        assert_eq!(
            judge("Mossgate Zenith Mug Sky, now 5.99 at the lowest", &plain),
            Verdict::Fail(Reason::Unfinished("lowest".into())),
            "the screen gate waits for the end"
        );
        for fine in [
            "Mossgate Zenith Mug Sky, 5.99 at the lowest setting of your dishwasher",
            "Mossgate Zenith Mug Sky, 5.99: room for more than one",
            "Mossgate Zenith Mug Sky, now 5.99 at Mossgate",
        ] {
            assert!(
                judge(fine, &plain).is_pass(),
                "{fine}: {:?}",
                judge(fine, &plain)
            );
        }
    }

    /// Served by the demo (en, seeds 599 and 607) and the Flipkart sample (seed 607): a stock
    /// level the kiosk does not know, claimed; the facts' own words are facts.
    #[test]
    fn a_claim_about_stock_is_refused() {
        let sandal = priced("Kitecourt Nova Sandal Ivory", 2999, None, &usd());
        for (seen, phrase) in [
            (
                "Kitecourt sandals! Now 29.99, only a few left in stock",
                "in stock",
            ),
            ("Kitecourt Nova Sandal Ivory, 29.99 (sold out)", "sold out"),
            (
                "Kitecourt Nova Sandal Ivory, only 29.99 while stocks last.",
                "while stocks last",
            ),
            (
                "Kitecourt Nova Sandal Ivory: 29.99, selling fast!",
                "selling fast",
            ),
            (
                "Kitecourt Nova Sandal Ivory, 29.99. Only a FEW LEFT!",
                "few left",
            ),
            (
                "Kitecourt Nova Sandal Ivory now has a limited run of this colour, 29.99.",
                "limited run",
            ),
            (
                "Kitecourt Nova Sandal Ivory, 29.99: sold-out soon!",
                "sold out",
            ),
            (
                "Kitecourt Nova Sandal Ivory now has a limited-time offer of 29.99.",
                "limited time",
            ),
        ] {
            assert_eq!(
                judge(seen, &sandal),
                Verdict::Fail(Reason::BannedPhrase(phrase.into())),
                "{seen}"
            );
        }
        let barred = GuardrailConfig::default().barred_phrases(&sandal);
        assert!(barred.iter().any(|p| p == "sold out"));
        assert!(judge(
            "Kitecourt Nova Sandal Ivory, a stock of summer style for 29.99.",
            &sandal
        )
        .is_pass());
        let shoe = zh_shoe();
        assert_eq!(
            zh_judge("李宁赤兔6跑步鞋，轻量透气，现价￥459，库存有限。", &shoe),
            Verdict::Fail(Reason::BannedPhrase("库存".into()))
        );
        // A limited edition by name is the product's own fact.
        let edition = zh_facts(
            "李宁 赤兔6 限量版",
            "李宁",
            "跑步鞋",
            45900,
            None,
            "轻量中底",
        );
        assert!(!GuardrailConfig::default()
            .for_locale(Locale::ZhCn)
            .barred_phrases(&edition)
            .iter()
            .any(|p| p == "限量"));
        let got = zh_judge("李宁赤兔6限量版跑步鞋，轻量中底，现价￥459。", &edition);
        assert!(got.is_pass(), "{got:?}");
    }

    /// Served by the demo (en, seeds 599 and 607): an escape written out, its backslash passed as
    /// punctuation. Markup the facts lack is stray like a symbol; the facts' own is theirs.
    #[test]
    fn markup_the_facts_lack_is_refused() {
        let sandal = priced("Kitecourt Nova Sandal Ivory", 3599, None, &usd());
        for seen in [
            "Beach day playlist sorted: the king of the sandals, now at only \\uFE35.99",
            "Kitecourt Nova Sandal Ivory, now only 35.99 \\u",
            "Kitecourt Nova Sandal Ivory, **only 35.99**",
            "Kitecourt Nova Sandal Ivory | only 35.99",
            "Kitecourt Nova Sandal Ivory, only 35.99*",
            "Kitecourt Nova Sandal Ivory, only ＊35.99",
            "Kitecourt_Nova sandal, only 35.99",
            "Kitecourt Nova Sandal Ivory, only {price} 35.99",
            "Kitecourt Nova Sandal Ivory, only `35.99`",
            "Kitecourt Nova Sandal Ivory, only 35.99 ^^",
        ] {
            assert_eq!(judge(seen, &sandal).code(), "charset", "{seen}");
        }
        let stray = StrayChars::new(&sandal, &GuardrailConfig::default());
        for c in MARKUP.chars() {
            assert!(only_from_facts(c) && stray.refuses_symbol(c), "{c}");
        }
        assert!(stray.refuses_all_symbols());
        for fine in [
            '-', '.', ',', ':', '!', '?', '%', '(', '\'', '"', '/', '&', '#', '@',
        ] {
            assert!(!only_from_facts(fine), "{fine}");
        }
        // The facts' own markup may be written: a watch named with an underscore (the Flipkart
        // sample's `Times_51`). A bar of the catalog's (`Lord Ganesha | Ganesh | Ganpati`) is
        // not the facts': catalog text loses it ([`crate::copy::prompt::sanitize`]).
        let watch = priced("Times_51 Party-Wedding Analog Watch", 599, None, &usd());
        assert!(judge("The Times_51 watch, only 5.99.", &watch).is_pass());
        let own = StrayChars::new(&watch, &GuardrailConfig::default());
        assert!(!own.refuses_symbol('_') && own.refuses_symbol('|') && !own.refuses_all_symbols());
        let idol = priced("Lord Ganesha | Ganpati Showpiece", 499, None, &usd());
        let copy = "Lord Ganesha | Ganpati showpiece, only 4.99.";
        assert_eq!(judge(copy, &idol).code(), "charset");
        assert!(judge(&copy.replace(" |", ","), &idol).is_pass());
        // Chinese copy alike, and a full-width bar is a bar; the tilde is a tone of voice.
        let shoe = zh_shoe();
        assert_eq!(
            zh_judge("李宁赤兔6跑步鞋｜轻量透气，现价￥459。", &shoe).code(),
            "charset"
        );
        let got = zh_judge("李宁赤兔6跑步鞋，轻量透气～现价￥459。", &shoe);
        assert!(got.is_pass(), "{got:?}");
        assert!(only_from_facts('｜') && !only_from_facts('～') && !only_from_facts('，'));
    }

    /// Served by the demo (en, seed 569, and 563's `for ☕️ hours`): a symbol or emoji the facts
    /// lack, where the model could not write what it reached for or as decoration; the facts'
    /// own symbols (`°`) may be written, and the Chinese copy is judged alike.
    #[test]
    fn a_symbol_the_facts_lack_is_refused() {
        let charger = priced("Ambergrove Harbor Charger", 4749, None, &usd());
        for seen in [
            "The Ambergrove Harbor Charger has a 🎁 of just over 🎁",
            "🪴 Ambergrove Harbor charger!",
            "\u{2744}\u{fe0f}Winter is coming! The Ambergrove Harbor Charger, only 47.49",
            "Ambergrove Harbor Charger, keeps your phone going for ☕ hours.",
            "Ambergrove Harbor Charger, 47.49 ¦ a compact charger",
            "Ambergrove Harbor Charger, 47.49 ★ a compact charger",
        ] {
            assert_eq!(judge(seen, &charger).code(), "charset", "{seen}");
            let stray = StrayChars::new(&charger, &GuardrailConfig::default());
            assert!(stray_symbol(seen, &stray).is_some(), "{seen}");
        }
        for fine in [
            "Ambergrove Harbor Charger, 47.49 – a compact charger.",
            "Ambergrove Harbor Charger: 47.49, a charger “for every day”.",
        ] {
            assert!(judge(fine, &charger).is_pass(), "{fine}");
        }
        let flask = priced("Thermo Flask, keeps 4°C for 24 hours", 1599, None, &usd());
        assert!(judge("Thermo flask: 4°C for 24 hours, just 15.99.", &flask).is_pass());
        // The rule the gate asks: the facts' own symbol may be written, any other not; with
        // none of their own every symbol is stray (the worker draws none).
        let en = GuardrailConfig::default();
        let own = StrayChars::new(&flask, &en);
        assert!(!own.refuses_symbol('°') && own.refuses_symbol('★') && !own.refuses_all_symbols());
        assert!(!own.refuses_symbol('\u{fe0f}') && !own.refuses_symbol('a'));
        assert!(StrayChars::new(&charger, &en).refuses_all_symbols());
        assert!(
            !StrayChars::none().refuses_symbol('★') && !StrayChars::none().refuses_all_symbols()
        );
        let shoe = zh_shoe();
        assert!(StrayChars::new(&shoe, &zh_config()).refuses_symbol('🎁'));
        let good = "李宁赤兔6跑步鞋，轻量透气，现价￥459。";
        assert!(
            zh_judge(good, &shoe).is_pass(),
            "{:?}",
            zh_judge(good, &shoe)
        );
        let gift = "李宁赤兔6跑步鞋🎁，轻量透气，现价￥459。";
        assert_eq!(zh_judge(gift, &shoe).code(), "charset");
    }

    /// Served by the demo (en, seed 587): a price or a discount said in words, which no figure of
    /// the product backs; money words after an amount's digits, `every penny` and the facts' own
    /// words stay.
    #[test]
    fn an_amount_in_words_is_refused() {
        let bag = priced(
            "Kestrelle Sable Sleeping Bag Mint",
            10949,
            Some(13699),
            &usd(),
        );
        for (seen, said) in [
            (
                "Kestrelle Sable Sleeping Bag Mint, a great hiking option, now only at the cost of just over a grand.",
                "a grand",
            ),
            ("Kestrelle Sable sleeping bag, for under a dollar", "a dollar"),
            ("Kestrelle Sable sleeping bag, only a few dollars more", "few dollars"),
            (
                "Kestrelle Sable Sleeping Bag Mint for just over a fifth of the original retail.",
                "fifth of the original",
            ),
            // Written where the gate kept `dollars` from following (the demo, seed 599).
            (
                "Kestrelle Sable sleeping bag now retails for just over a third of the original.",
                "third of the original",
            ),
            (
                "Kestrelle Sable sleeping bag now for just over a third of its original selling price.",
                "third of its original",
            ),
            (
                "Kestrelle Sable sleeping bag now retails for just over a third of the usual budget.",
                "for just over a third",
            ),
            (
                "Kestrelle Sable sleeping bag now for just over a third of its current selling point.",
                "for just over a third",
            ),
            (
                "Kestrelle Sable sleeping bag, now at a discount from the original price of just over a third!",
                "price of just over a third",
            ),
            (
                "Kestrelle Sable sleeping bag now for just over a month, only about double the price of previous years.",
                "double the price",
            ),
            (
                "Kestrelle Sable sleeping bag, now at a discount from just over a few grand (was more)",
                "few grand",
            ),
            (
                "Kestrelle Sable sleeping bag, just under a third of what you pay elsewhere.",
                "third of what you pay",
            ),
            // Seed 617, served.
            (
                "Housewarming, now only on the shelf. The Kestrelle Sable sleeping bag is just over a quarter of its value!",
                "quarter of its value",
            ),
            (
                "The Kestrelle Sable sleeping bag is now at 109.49, just under a third of its usual sale value",
                "third of its usual sale",
            ),
            (
                "Kestrelle Sable sleeping bag for just 109.49, down to just over a third of the sale",
                "third of the sale",
            ),
            (
                "The Kestrelle Sable sleeping bag is just over a quarter of its asking",
                "just over a quarter",
            ),
            (
                "Kestrelle Sable sleeping bag, 109.49, down to just over a third of the usual",
                "just over a third",
            ),
        ] {
            assert_eq!(
                judge(seen, &bag),
                Verdict::Fail(Reason::WrongPriceRole(said.into())),
                "{seen}"
            );
        }
        for fine in [
            "Kestrelle Sable sleeping bag, worth every penny.",
            "Kestrelle Sable sleeping bag with a grand view of the stars, 109.49",
            "Kestrelle Sable sleeping bag, 109.49 dollars",
            "Kestrelle Sable sleeping bag: a quarter of the weight of a tent, 109.49",
            "Kestrelle Sable sleeping bag, 109.49 for a third season of camping.",
            "Kestrelle Sable sleeping bag, 109.49, double the warmth of a blanket.",
            "Kestrelle Sable sleeping bag, 109.49: rolls up in about a quarter of an hour.",
        ] {
            assert!(
                judge(fine, &bag).is_pass(),
                "{fine}: {:?}",
                judge(fine, &bag)
            );
        }
        // A number word of the facts (a two-person tent) in a price's place (seed 599).
        let tent = priced(
            "Bramblewood Juniper Two-Person Tent",
            23599,
            Some(29999),
            &usd(),
        );
        assert_eq!(
            judge(
                "Bramblewood Juniper Tent, now only 235.99, from the original price of just over two-and-a-bit",
                &tent
            ),
            Verdict::Fail(Reason::WrongPriceRole("price of just over two".into()))
        );
        assert!(judge("Bramblewood Juniper Tent for two, now only 235.99", &tent).is_pass());
        // `a few` waits for what there are a few of (seed 599, served once `dollars` was
        // kept from following); `quite a few` has it.
        assert_eq!(
            judge(
                "Kestrelle Sable sleeping bag at 109.49, now from only a few",
                &bag
            ),
            Verdict::Fail(Reason::Unfinished("few".into()))
        );
        assert!(judge(
            "Kestrelle Sable sleeping bag at 109.49, loved by quite a few",
            &bag
        )
        .is_pass());
        // Seed 601, once the money word went back: pounds after a price cue are money, a
        // percentage where the price goes is no price, `a few more` waits for more of something.
        assert_eq!(
            judge(
                "Kestrelle Sable sleeping bag, for just a few extra pounds",
                &bag
            ),
            Verdict::Fail(Reason::WrongPriceRole("for just a few extra pounds".into()))
        );
        assert!(judge(
            "Kestrelle Sable sleeping bag, 109.49: weighs just a few pounds",
            &bag
        )
        .is_pass());
        assert_eq!(
            judge(
                "Kestrelle Sable sleeping bag, 20% off! Now costs only 20%.",
                &bag
            ),
            Verdict::Fail(Reason::WrongPriceRole("percentage as a price 20%".into()))
        );
        assert!(judge("Kestrelle Sable sleeping bag, now 109.49, 20% off.", &bag).is_pass());
        assert!(judge(
            "Kestrelle Sable sleeping bag, 109.49: warm for 20% of the night more",
            &bag
        )
        .is_pass());
        assert_eq!(
            judge(
                "Kestrelle Sable sleeping bag at 109.49, for just a few extra",
                &bag
            ),
            Verdict::Fail(Reason::Unfinished("extra".into()))
        );
        assert_eq!(
            judge(
                "Kestrelle Sable sleeping bag at 109.49, for just a few more",
                &bag
            ),
            Verdict::Fail(Reason::Unfinished("more".into()))
        );
        let coin = priced("Penny Lane Third Quarter Tote", 1299, None, &usd());
        assert!(judge(
            "Penny Lane Third Quarter Tote, 12.99: a quarter of the price",
            &coin
        )
        .is_pass());
        // A fraction of the price is a claim of half off or more.
        assert_eq!(
            judge(
                "Kestrelle Sable sleeping bag at a fraction of its original price.",
                &bag
            ),
            Verdict::Fail(Reason::FakeDiscount("fraction".into()))
        );
        // Another retailer by name (`…(at Kohl's)`, the same run, and `Kohl' s` with it barred),
        // and an origin the facts lack (`from the U.S.`).
        for elsewhere in ["(at Kohl's)", "(at Kohl' s)", "at Macy's"] {
            let seen = format!("Kestrelle Sable sleeping bag, 109.49 {elsewhere}");
            assert_eq!(judge(&seen, &bag).code(), "other_retailer", "{seen}");
        }
        // Seed 613, served: beauty and department stores, and a chain's name as one word.
        for elsewhere in [
            "available at Sephora.",
            "now on sale at Sephora.",
            "available at Nordstrom Rack.",
            "only available at Bestbuy",
            "about the same price at Home Goods",
        ] {
            let seen = format!("Kestrelle Sable sleeping bag, 109.49, {elsewhere}");
            assert_eq!(judge(&seen, &bag).code(), "other_retailer", "{seen}");
        }
        // `home goods` in words is no shop.
        let seen = "Kestrelle Sable sleeping bag, 109.49, for home goods lovers.";
        assert_ne!(judge(seen, &bag).code(), "other_retailer", "{seen}");
        // A price cue alone in brackets waits for its amount.
        assert_eq!(
            judge(
                "Quartz, this is the best! The Copperlake mug with a double-wall body now at only: (was)",
                &priced("Copperlake Quartz Mug Ivory", 1899, Some(2599), &usd())
            ),
            Verdict::Fail(Reason::Unfinished("was".into()))
        );
        assert_eq!(price_cue_aside("Mug (was 25.99), now 18.99"), None);
        assert_eq!(price_cue_aside("Mug (pack of 2) ("), None);
        let kohl = priced("Glimmer Kohl Eyeliner", 499, None, &usd());
        assert!(judge("Glimmer kohl eyeliner, a soft black line, 4.99", &kohl).is_pass());
        assert_eq!(
            judge("Kestrelle Sable sleeping bag, 109.49, from the U.S.", &bag),
            Verdict::Fail(Reason::BannedPhrase("u.s.".into()))
        );
    }

    /// Shown by `make run` for LC24888766: a story of the brand's origin its facts do not tell.
    #[test]
    fn an_origin_the_facts_lack_is_refused() {
        let bag = priced("Bramblewood Ivy Sleeping Bag Charcoal", 10949, None, &usd());
        let seen = "A few years ago, the British designer Bramblewood had a huge hit in China. Now we know that it's not just for home use but can be used as an office or camping wear too!";
        assert_eq!(
            judge(seen, &bag),
            Verdict::Fail(Reason::BannedPhrase("british".into()))
        );
        assert_eq!(
            judge(
                "Bramblewood Ivy sleeping bag, a hit in China, 109.49.",
                &bag
            ),
            Verdict::Fail(Reason::BannedPhrase("china".into()))
        );
        assert!(judge(
            "Bramblewood Ivy sleeping bag, warm all night, 109.49.",
            &bag
        )
        .is_pass());
        // The facts' own origin may be said; porcelain is no country.
        let mug = priced(
            "Copperlake Bone China Mug, Italian design",
            1199,
            None,
            &usd(),
        );
        assert!(judge("Copperlake bone china mug, Italian design, 11.99.", &mug).is_pass());
        let cup = priced("Copperlake Tea Cup", 1199, None, &usd());
        assert!(judge("Copperlake tea cup in fine bone china, 11.99.", &cup).is_pass());
        assert_eq!(
            judge("Copperlake tea cup from Japan, 11.99.", &cup).code(),
            "banned_phrase"
        );
    }

    /// Served by the demo (en, seed 569): an `over` or `up to` waiting for its amount.
    #[test]
    fn over_and_up_to_wait_for_an_amount() {
        for (copy, word) in [
            (
                "The Orvelle Ridge, from the company that has been selling face cream for over",
                "over",
            ),
            ("…is a coffee bean pod that lasts for up to", "to"),
            ("Only 6.99, just over", "over"),
        ] {
            assert_eq!(unfinished_ending(copy), Some(word), "{copy}");
        }
        for finished in [
            "The wait is over",
            "hand it over",
            "something to look forward to",
        ] {
            assert_eq!(unfinished_ending(finished), None, "{finished}");
        }
        // Inside the copy too, before a clause's mark (the demo, seed 571, served it).
        let tea = priced("Glenharrow Orbit Tea Bags", 749, None, &usd());
        let seen = "7.49! The Glenharrow Orbit tea bag is now at a price of just over, so cheap you don't even need to buy it anymore";
        assert_eq!(
            judge(seen, &tea),
            Verdict::Fail(Reason::Unfinished("over".into()))
        );
        for fine in [
            "Glenharrow Orbit tea bags: a soft, mellow black tea, now 7.49.",
            "Tea lovers, put the kettle on! Glenharrow Orbit tea bags, just 7.49.",
            "Glenharrow Orbit tea bags for 7.49: the game is over, the kettle is on.",
            "Best for: a mellow morning. Glenharrow Orbit tea bags, 7.49.",
        ] {
            assert!(
                judge(fine, &tea).is_pass(),
                "{fine}: {:?}",
                judge(fine, &tea)
            );
        }
    }

    /// Served by the zh-CN demo (seed 523) for a building set at ¥155 whose facts say
    /// `五百多块积木`: `五百块` at a clause's end reads as ¥500.
    #[test]
    fn a_spoken_yuan_amount_is_the_price_or_refused() {
        let set = zh_facts(
            "晨曦积木套装 薄荷绿",
            "童趣岛",
            "积木",
            15500,
            None,
            "舒适积木套装，五百多块积木，分步说明书。",
        );
        let config = zh_config();
        let code = |copy: &str| check(copy, &set, &zh_brands(), &config).code();
        assert_eq!(
            code("童趣岛 晨曦积木套装，厚度适中；五百块"),
            "wrong_price_role"
        );
        // Digits the facts do not have fail first as an unknown number.
        assert_ne!(code("童趣岛 晨曦积木套装，只要500块钱，好玩。"), "pass");
        assert_eq!(code("童趣岛 晨曦积木套装，现价155块，好玩。"), "pass");
        assert_eq!(code("童趣岛 晨曦积木套装，一百五十五块钱，好玩。"), "pass");
        assert_eq!(
            code("童趣岛 晨曦积木套装，五百多块积木，现价¥155。"),
            "pass"
        );
        assert_eq!(code("童趣岛 晨曦积木套装，五百块积木，现价¥155。"), "pass");
        // Not a yuan store: `块` is no money word there.
        let mut rupees = set.clone();
        rupees.currency = Currency::default();
        assert_eq!(colloquial_yuan("积木套装；五百块", &rupees), None);
    }

    /// Served by the demo: `…now at the lowest possible price.` (seed 523), `…now at the lowest
    /// online price of all time.` (seed 547).
    #[test]
    fn the_lowest_price_in_any_words_is_a_banned_phrase() {
        let set = priced("Marlowick Kite Building Set Clay", 1999, Some(2299), &usd());
        for (copy, claim) in [
            (
                "13% off: a Marlowick Kite Building Set Clay for 19.99, now at the lowest in-store price this year.",
                "lowest in",
            ),
            (
                "Marlowick Kite Building Set Clay, 19.99: now at the lowest possible price.",
                "lowest possible",
            ),
            (
                "Marlowick Kite Building Set Clay, now at the lowest possible rate: 19.99.",
                "lowest possible",
            ),
            (
                "Marlowick Kite Building Set Clay, now at the lowest rate: 19.99.",
                "lowest rate",
            ),
            (
                "Marlowick Kite Building Set Clay at the lowest cost, 19.99.",
                "lowest cost",
            ),
            // Seed 661, served once `at the best` and `lowest … price` were barred.
            (
                "Marlowick Kite Building Set Clay, 19.99, priced at the lowest in our store",
                "lowest in",
            ),
            (
                "Marlowick Kite Building Set Clay, available at the lowest of high-end prices.",
                "lowest of",
            ),
            (
                "Marlowick Kite Building Set Clay, now at the lowest budget.",
                "lowest budget",
            ),
            (
                "Marlowick Kite Building Set Clay now costs only 19.99, only the lowest priced set today",
                "lowest priced",
            ),
        ] {
            assert_eq!(
                judge(copy, &set),
                Verdict::Fail(Reason::BannedPhrase(claim.into())),
                "{copy}"
            );
        }
        for fine in [
            "Marlowick Kite Building Set Clay for 19.99: even the lowest shelf looks good with it.",
            "Marlowick Kite Building Set Clay, the lowest-maintenance build, 19.99.",
        ] {
            assert!(judge(fine, &set).is_pass(), "{fine}");
        }
    }

    /// Served by the demo (en, seed 541) on a second try: `Only 15.49, ‰ off: Northpine Ridge
    /// water bottle Ocean for just 15.49.` A percent sign states a number or is refused.
    #[test]
    fn a_percent_sign_without_its_number_is_refused() {
        let bottle = priced(
            "Northpine Ridge Water Bottle Ocean",
            1549,
            Some(1799),
            &usd(),
        );
        for copy in [
            "Only 15.49, ‰ off: Northpine Ridge water bottle Ocean for just 15.49.",
            "Only 15.49, % off: Northpine Ridge water bottle Ocean for just 15.49.",
        ] {
            assert_eq!(judge(copy, &bottle).code(), "wrong_percent", "{copy}");
        }
        let per_mille = "Only 15.49, 14‰ off: Northpine Ridge water bottle Ocean for just 15.49.";
        assert!(!judge(per_mille, &bottle).is_pass());
        for copy in [
            "Only 15.49, 14% off: Northpine Ridge water bottle Ocean.",
            "Only 15.49, 14 % off: Northpine Ridge water bottle Ocean.",
        ] {
            assert!(judge(copy, &bottle).is_pass(), "{copy}");
        }
    }

    /// Served by the demo (en, seed 523) with the gate masking stray words: a comparison cue
    /// left hanging before a mark or an emoji is as unfinished as one at the end.
    #[test]
    fn a_cue_before_marks_or_emoji_at_the_end_is_unfinished() {
        let bag = priced("Kestrelle Sable Sleeping Bag", 6699, Some(8999), &usd());
        for (copy, word) in [
            (
                "The best Kestrelle Sable sleeping bags for under ’.",
                "under",
            ),
            (
                "Only 66.99, 26% off: Kestrelle Sable sleeping bag for just under ...",
                "under",
            ),
        ] {
            assert_eq!(
                judge(copy, &bag),
                Verdict::Fail(Reason::Unfinished(word.into())),
                "{copy}"
            );
        }
        // Before an emoji the facts lack, the cue is unfinished too; the copy is refused for
        // the price word before a symbol, or for the emoji ([`stray_symbol`]).
        for (copy, word, code) in [
            (
                "A Kestrelle Sable sleeping bag for under ⭐\u{fe0f}",
                "under",
                "charset",
            ),
            (
                "Kestrelle Sable sleeping bag, 66.99, only 😢 😭",
                "only",
                "unfinished",
            ),
        ] {
            assert_eq!(unfinished_ending(copy), Some(word), "{copy}");
            assert_eq!(judge(copy, &bag).code(), code, "{copy}");
        }
        assert_eq!(
            judge(
                "Kestrelle Sable sleeping bag, warm all night for 66.99. ❄️",
                &bag
            )
            .code(),
            "charset"
        );
    }

    /// Seen on the demo kiosk (en, the first pick for LC24888766, generation cut by `max_tokens`).
    #[test]
    fn copy_left_open_is_unfinished() {
        let bag = priced(
            "Bramblewood Ivy sleeping bag Charcoal",
            10949,
            Some(13699),
            &usd(),
        );
        let seen = "The Bramblewood Ivy sleeping bag Charcoal is $109.49 now on sale for 20% off, only $109.49 (was $136.99,";
        assert_eq!(
            judge(seen, &bag),
            Verdict::Fail(Reason::Unfinished(",".into()))
        );
        for (copy, mark) in [
            (
                "The Bramblewood Ivy sleeping bag Charcoal, now $109.49 (was $136.99",
                "(",
            ),
            (
                "The Bramblewood Ivy sleeping bag Charcoal for campers: warm -",
                "-",
            ),
            (
                "Our pick for campers, the Bramblewood Ivy sleeping bag Charcoal:",
                ":",
            ),
        ] {
            assert_eq!(
                judge(copy, &bag),
                Verdict::Fail(Reason::Unfinished(mark.into())),
                "{copy}"
            );
        }
        assert!(judge(
            "The Bramblewood Ivy sleeping bag Charcoal, now $109.49 (was $136.99).",
            &bag
        )
        .is_pass());
        let shoe = zh_facts("李宁 超轻跑步鞋", "李宁", "跑步鞋", 45900, None, "透气网面");
        assert_eq!(
            zh_judge("李宁超轻跑步鞋，透气网面，只要459元（", &shoe).code(),
            "unfinished"
        );
        assert_eq!(
            zh_judge("李宁超轻跑步鞋，透气网面，只要459元，", &shoe).code(),
            "unfinished"
        );
        assert_eq!(open_ending(""), None);
        assert_eq!(unclosed_bracket("a (b) c", ""), None);
        assert_eq!(unclosed_bracket("a (b c", ""), Some("("));
        assert_eq!(
            unclosed_bracket("Tee (Pack of 2, now", "Tee (Pack of 2"),
            None
        );
    }

    /// Seen on the demo kiosk (en, the third pick for LC24888766): a double-wall mug.
    /// Copy repeating its prompt's instructions or the shopper line's price band: both served by
    /// the zh-CN demo's `copy warm` before the rule (`一到两个短句`, `预算适中`).
    #[test]
    fn copy_never_repeats_the_instructions_or_the_shoppers_budget() {
        use crate::copy::prompt::{Currency, PromptPack};
        let zh_pack = PromptPack::builtin_for(Locale::ZhCn).unwrap();
        let zh = GuardrailConfig::default().for_pack(&zh_pack);
        let beans = |name: &str, price: i64| Product {
            sku: "HK-COF-0003".into(),
            name: name.into(),
            brand: Some("禾匠".into()),
            category: vec!["食品饮料".into(), "咖啡豆".into()],
            price: Minor(price),
            list_price: None,
            description: "单一产区，可重复密封袋".into(),
            tags: vec![],
        };
        let facts = ProductFacts::localised(
            &beans("禾匠 青石咖啡豆 石板灰", 9900),
            &Currency::cny(),
            Locale::ZhCn,
        );
        let brands = BrandList::new(["禾匠"]);
        let judge_zh = |copy: &str| check(copy, &facts, &brands, &zh);
        assert_eq!(
            judge_zh("禾匠咖啡豆石板灰，一到两个短句"),
            Verdict::Fail(Reason::PromptLeak("短句".into())),
            "the brief's word, before the instructions' run"
        );
        assert_eq!(
            judge_zh("禾匠咖啡豆石板灰，一到两个短的"),
            Verdict::Fail(Reason::PromptLeak("一到两个短句".into()))
        );
        assert_eq!(
            judge_zh("禾匠青石咖啡豆石板灰，单一产区，价格实在；预算适中。"),
            Verdict::Fail(Reason::PromptLeak("预算".into()))
        );
        // Served when the gate masked only the band's last character.
        assert_eq!(
            judge_zh("禾匠青石咖啡豆石板灰，单一产区，低调；预算适"),
            Verdict::Fail(Reason::PromptLeak("预算".into()))
        );
        assert!(judge_zh("禾匠青石咖啡豆石板灰，单一产区，¥99。").is_pass());
        // Without the pack (a config never given one) nothing is an echo.
        let bare = GuardrailConfig::default().for_locale(Locale::ZhCn);
        assert!(check(
            "禾匠青石咖啡豆石板灰，单一产区，一到两个短句。",
            &facts,
            &brands,
            &bare
        )
        .is_pass());

        let en = GuardrailConfig::default().for_pack(&PromptPack::builtin().unwrap());
        let throw = Product {
            sku: "HK-THR-0002".into(),
            name: "Northloom Alder throw".into(),
            brand: Some("Northloom".into()),
            category: vec!["Home".into(), "Throws".into()],
            price: Minor(1299),
            list_price: None,
            description: "Stonewashed linen.".into(),
            tags: vec![],
        };
        let facts = ProductFacts::new(&throw, &usd());
        let brands = BrandList::new(["Northloom"]);
        let judge_en = |copy: &str| check(copy, &facts, &brands, &en);
        assert_eq!(
            judge_en(
                "Shelf talkers: one line of store copy for the Northloom Alder throw, $12.99."
            ),
            Verdict::Fail(Reason::PromptLeak("shelf talkers".into()))
        );
        assert_eq!(
            judge_en("Use only the facts given: the Northloom Alder throw, $12.99."),
            Verdict::Fail(Reason::PromptLeak(
                "Use only the facts given and quote prices exactly".into()
            ))
        );
        assert_eq!(
            judge_en("Stonewashed linen on a mid budget: the Northloom Alder throw, $12.99."),
            Verdict::Fail(Reason::PromptLeak("mid budget".into()))
        );
        // The demo kiosk, 2026-12-05, a shopper line `likes outdoor; high budget`.
        assert_eq!(
            judge_en("Plush sock pack, soft for outdoor; high price"),
            Verdict::Fail(Reason::PromptLeak("high price".into()))
        );
        assert_eq!(
            judge_en("Stonewashed linen at a low price: the Northloom Alder throw, $12.99."),
            Verdict::Pass
        );
        // Seen before the rule: "Low-budget coffee? A new one to look forward to!"
        assert_eq!(
            judge_en("Low-budget linen? The Northloom Alder throw, $12.99."),
            Verdict::Fail(Reason::PromptLeak("low-budget".into()))
        );
        // The band in the model's own words (seed 227), not the budget the product is for.
        for (copy, band) in [
            (
                "The best throw for your budget: Northloom Alder throw, $12.99.",
                "your budget",
            ),
            (
                "A linen throw, not a big budget. Northloom, $12.99.",
                "big budget",
            ),
            (
                "Tight-budget linen: the Northloom Alder throw, $12.99.",
                "tight-budget",
            ),
            (
                "Shoppers: likes home decor; mid- budget. Northloom Alder throw, $12.99.",
                "mid- budget",
            ),
            (
                "A low - budget linen throw: Northloom Alder, $12.99.",
                "low - budget",
            ),
            // Seeds 617 and 619.
            (
                "A bargain for the price of new: Northloom Alder throw, from under-budget to mid-range",
                "under-budget",
            ),
            (
                "Northloom Alder throw, $12.99: priced mid-range",
                "mid-range",
            ),
            (
                "Buy now at an affordable price, on a budget! Northloom Alder throw, $12.99.",
                "on a budget",
            ),
        ] {
            assert_eq!(
                judge_en(copy),
                Verdict::Fail(Reason::PromptLeak(band.into())),
                "{copy}"
            );
        }
        assert!(judge_en("A budget-friendly linen throw from Northloom, $12.99.").is_pass());
        // The bands and the brief's words are barred while the model writes too; the
        // instructions' runs are not.
        let barred = en.barred_phrases(&facts);
        assert!([
            "low budget",
            "mid budget",
            "high budget",
            "your budget",
            "store copy"
        ]
        .iter()
        .all(|b| barred.contains(&b.to_string())));
        assert!(!barred.iter().any(|p| p.contains("one line of store")));
        // Served by the demo (en, seed 373): four words of a clause, but the brief's words.
        assert_eq!(
            judge_en(
                "A little bit of fun, one or a few short sentences. Northloom Alder throw, $12.99."
            ),
            Verdict::Fail(Reason::PromptLeak("short sentences".into()))
        );
        // Four words of a clause are words, not an echo.
        assert!(
            judge_en("It is all about quality and craft: the Northloom Alder throw, $12.99.")
                .is_pass()
        );
        // A band phrase the facts have is a fact.
        let budget = Product {
            description: "A mid budget linen throw.".into(),
            ..throw.clone()
        };
        let facts = ProductFacts::new(&budget, &usd());
        assert!(!en
            .barred_phrases(&facts)
            .contains(&"mid budget".to_string()));
        assert!(check(
            "Stonewashed linen on a mid budget: the Northloom Alder throw, $12.99.",
            &facts,
            &brands,
            &en
        )
        .is_pass());
    }

    #[test]
    fn a_number_in_words_must_be_a_number_of_the_facts() {
        let product = Product {
            sku: "HK-MUG-0012".into(),
            name: "Copperlake Tide Mug Berry".into(),
            brand: Some("Copperlake".into()),
            category: vec!["Home & Kitchen".into(), "Mugs".into()],
            price: Minor(1199),
            list_price: Some(Minor(1399)),
            description: "Everyday mug with a double-wall body and a comfortable handle, set of 2."
                .into(),
            tags: vec![],
        };
        let mug = ProductFacts::new(&product, &usd());
        let seen = "14% off! It's only $11.99, but it keeps my coffee hot for two days in a Copperlake Tide mug";
        assert_eq!(
            judge(seen, &mug),
            Verdict::Fail(Reason::Testimonial("my".into())),
            "a customer's voice"
        );
        let told = "14% off! It's only $11.99, and it keeps your coffee hot for two days in a Copperlake Tide mug";
        assert!(judge(told, &mug).is_pass(), "two: the set of 2");
        for (copy, word) in [
            ("I love this Copperlake Tide mug, now $11.99!", "I"),
            ("I'm sold on the Copperlake Tide mug at $11.99.", "I"),
            ("The Copperlake Tide mug made me smile, $11.99.", "me"),
            ("Copperlake Tide mug: $11.99, just what I needed.", "I"),
            // The Flipkart sample, seed 619, served: the pronoun in lower case.
            (
                "Copperlake Tide mug, $11.99 (the same as it was when i bought it)",
                "I",
            ),
        ] {
            assert_eq!(
                judge(copy, &mug),
                Verdict::Fail(Reason::Testimonial(word.into())),
                "{copy}"
            );
        }
        assert!(judge(
            "We picked the Copperlake Tide mug for you: $11.99, 14% off.",
            &mug
        )
        .is_pass());
        // Not the pronoun: an abbreviation, a lower-case letter.
        for copy in [
            "A double-wall Copperlake Tide mug, i.e. hot coffee for longer: $11.99.",
            "A double-wall Copperlake Tide mug, I.e. hot coffee for longer: $11.99.",
        ] {
            assert!(judge(copy, &mug).is_pass(), "{copy}");
        }
        for (copy, word) in [
            (
                "Only $11.99: the Copperlake Tide mug keeps coffee hot for three days.",
                "three",
            ),
            (
                "Only $11.99: the Copperlake Tide mug, loved by thousands of coffee fans.",
                "thousands",
            ),
            (
                "Only $11.99: the Copperlake Tide mug keeps coffee hot thrice as long.",
                "thrice",
            ),
            (
                "The Copperlake Tide mug: Ten-hour warmth, now $11.99.",
                "ten",
            ),
            // The demo, en, seed 617, served.
            (
                "Only $11.99: a Copperlake Tide mug for under-a-trillion price.",
                "trillion",
            ),
        ] {
            assert_eq!(
                judge(copy, &mug),
                Verdict::Fail(Reason::UnknownNumber(word.into())),
                "{copy}"
            );
        }
        for fine in [
            "This one is the Copperlake Tide mug, a tender berry colour for $11.99.",
            "The Copperlake Tide mug is often the one coffee fans pick, now $11.99.",
        ] {
            assert!(judge(fine, &mug).is_pass(), "{fine}");
        }
        let barred = GuardrailConfig::default().barred_phrases(&mug);
        assert!(barred.contains(&"three".to_string()) && !barred.contains(&"two".to_string()));
        assert!(
            barred.contains(&"fourteen".to_string()),
            "a percentage is written with its %, as the number gate checks it"
        );
        let zh = zh_facts("李宁 超轻跑步鞋", "李宁", "跑步鞋", 45900, None, "透气网面");
        // Chinese numerals with a unit are numbers the scanner reads (`numbers::MEASURE_UNITS`).
        for (copy, value) in [
            ("李宁超轻跑步鞋，透气网面，穿三年不变形，只要459元。", "3"),
            ("李宁超轻跑步鞋只要459元，七天无理由退货。", "7"),
        ] {
            assert_eq!(
                zh_judge(copy, &zh),
                Verdict::Fail(Reason::UnknownNumber(value.into())),
                "{copy}"
            );
        }
        assert!(zh_judge("李宁超轻跑步鞋，透气网面，一年四季都能穿，只要459元。", &zh).is_pass());
        assert!(
            !GuardrailConfig::default()
                .for_locale(Locale::ZhCn)
                .barred_phrases(&zh)
                .contains(&"two".to_string()),
            "English words only"
        );
    }

    /// Seen on the demo kiosk (en, the first pick for LC24888766): every number true, and the
    /// shopper sent to another shop for a price this store did not set.
    #[test]
    fn copy_naming_another_retailer_fails() {
        let bag = priced(
            "Bramblewood Ivy sleeping bag Charcoal",
            10949,
            Some(13699),
            &usd(),
        );
        let seen = "$109.49, 20% off: a Bramblewood Ivy sleeping bag Charcoal at the lowest prices on Amazon.";
        assert_eq!(
            judge(seen, &bag),
            Verdict::Fail(Reason::BannedPhrase("lowest prices".into()))
        );
        for (copy, retailer) in [
            (
                "$109.49, 20% off: a Bramblewood Ivy sleeping bag Charcoal, cheaper than on Amazon.",
                "Amazon",
            ),
            (
                "A Bramblewood Ivy sleeping bag Charcoal for $109.49, as on eBay and WALMART.",
                "Walmart",
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal, just $109.49, like Sainsbury's own.",
                "Sainsbury's",
            ),
        ] {
            assert_eq!(
                judge(copy, &bag),
                Verdict::Fail(Reason::OtherRetailer(retailer.into())),
                "{copy}"
            );
        }
        // Not a retailer: a word that contains one, or a retailer the product's own facts name.
        assert!(judge(
            "An amazonite-grey Bramblewood Ivy sleeping bag Charcoal, now $109.49.",
            &bag
        )
        .is_pass());
        // A retailer whose name is a common word counts only written as a name: seen on seed
        // 211's en bench, "…, available at Target".
        for (copy, retailer) in [
            (
                "Bramblewood Ivy sleeping bag Charcoal, $109.49, available at Target.",
                Some("Target"),
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal for $109.49, cheaper than Best Buy.",
                Some("Best Buy"),
            ),
            (
                "Hit your target: a Bramblewood Ivy sleeping bag Charcoal for $109.49.",
                None,
            ),
            (
                "Target the cold with a Bramblewood Ivy sleeping bag Charcoal, $109.49.",
                None,
            ),
            (
                "The best buy of the week: Bramblewood Ivy sleeping bag Charcoal, $109.49.",
                None,
            ),
        ] {
            let verdict = judge(copy, &bag);
            match retailer {
                Some(r) => assert_eq!(verdict, Verdict::Fail(Reason::OtherRetailer(r.into()))),
                None => assert!(verdict.is_pass(), "{copy}: {verdict:?}"),
            }
        }
        // A shop no list has, named after a shop's cue (the demo, en, seed 613, and `make
        // run`), is another retailer; the facts' own names, a day, a currency and text without
        // a cue are not.
        for (copy, shop) in [
            (
                "Bramblewood Ivy sleeping bag Charcoal, $109.49, available at Sephara.",
                Some("Sephara"),
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal, only available at Best Prices for $109.49.",
                Some("Best Prices"),
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal, now at Shopaholics for only $109.49.",
                Some("Shopaholics"),
            ),
            (
                "Find it at Jetstar: Bramblewood Ivy sleeping bag Charcoal for $109.49.",
                Some("Jetstar"),
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal, now at Bramblewood for $109.49.",
                None,
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal, now at only $109.49.",
                None,
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal, on sale on Friday for $109.49.",
                None,
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal for nights at Yosemite, $109.49.",
                None,
            ),
        ] {
            let verdict = judge(copy, &bag);
            match shop {
                Some(s) => assert_eq!(
                    verdict,
                    Verdict::Fail(Reason::OtherRetailer(s.into())),
                    "{copy}"
                ),
                None => assert!(verdict.is_pass(), "{copy}: {verdict:?}"),
            }
        }
        // A place the product comes from, after an origin's cue or a clause's `from` (served by
        // the demo: seed 617, `…, from the Himalayas`; seed 619, `…, from B&W`), is a claim
        // the facts must make; a shop's name after an article is a shop.
        for (copy, place) in [
            (
                "Premium sleeping bag: Bramblewood Ivy Sleeping Bag Charcoal, from the Himalayas.",
                Some(Reason::BannedPhrase("Himalayas".into())),
            ),
            (
                "$109.49, a bargain: Bramblewood Ivy Sleeping Bag Charcoal, from B&W",
                Some(Reason::BannedPhrase("B".into())),
            ),
            (
                "From the Alps: Bramblewood Ivy sleeping bag Charcoal for $109.49.",
                Some(Reason::BannedPhrase("Alps".into())),
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal, handcrafted in Tuscany, $109.49.",
                Some(Reason::BannedPhrase("Tuscany".into())),
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal, $109.49, available at the Mall.",
                Some(Reason::OtherRetailer("Mall".into())),
            ),
            // The Flipkart sample, seed 631, served.
            (
                "Bramblewood Ivy sleeping bag, now on sale at USD Best Deal Store for $109.49",
                Some(Reason::OtherRetailer("Best Deal Store".into())),
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal, from Bramblewood, $109.49.",
                None,
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal, from the Bramblewood range, $109.49.",
                None,
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal, $109.49 from Monday.",
                None,
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal, warm from the first night, $109.49.",
                None,
            ),
            (
                "Bramblewood Ivy sleeping bag Charcoal for trips from Denver, $109.49.",
                None,
            ),
        ] {
            let verdict = judge(copy, &bag);
            match place {
                Some(r) => assert_eq!(verdict, Verdict::Fail(r), "{copy}"),
                None => assert!(verdict.is_pass(), "{copy}: {verdict:?}"),
            }
        }
        let zh_rule = PlaceNames::beside(
            "李宁 超轻跑步鞋",
            &GuardrailConfig::default().for_locale(Locale::ZhCn),
        );
        assert_eq!(
            zh_rule.first_in("only at Sephara", false),
            None,
            "spaced locales only"
        );
        let kindle = priced("Amazon Kindle Paperwhite", 13999, None, &usd());
        assert!(judge(
            "The Amazon Kindle Paperwhite reads like paper, just $139.99.",
            &kindle
        )
        .is_pass());
        // A marketplace's boilerplate in the catalog's description makes neither its name nor
        // its address a fact (the details drop it).
        let throw = ProductFacts::new(
            &Product {
                sku: "FK1".into(),
                name: "Elegance Polyester Door Curtain".into(),
                brand: Some("Elegance".into()),
                category: vec!["Curtains".into()],
                price: Minor(89900),
                list_price: None,
                description: "Flipkart.com: Buy Elegance Polyester Door Curtain online".into(),
                tags: vec![],
            },
            &Currency::default(),
        );
        let cur = Currency::default().symbol;
        for (copy, code) in [
            (
                format!("Elegance polyester door curtain, just {cur}899 at Flipkart.com."),
                "url",
            ),
            (
                format!("Elegance polyester door curtain, just {cur}899, as on Flipkart."),
                "other_retailer",
            ),
        ] {
            assert_eq!(
                check(&copy, &throw, &brands(), &GuardrailConfig::default()).code(),
                code
            );
        }
        // Chinese as written, without spaces; in both locales, not only where absolute claims
        // are on.
        let shoe = zh_facts("李宁 超轻跑步鞋", "李宁", "跑步鞋", 45900, None, "透气网面");
        for (copy, retailer) in [
            ("李宁超轻跑步鞋，比淘宝还划算，只要459元。", "淘宝"),
            ("李宁超轻跑步鞋，京东同款，现价459元。", "京东"),
        ] {
            assert_eq!(
                zh_judge(copy, &shoe),
                Verdict::Fail(Reason::OtherRetailer(retailer.into())),
                "{copy}"
            );
            let lenient = GuardrailConfig {
                absolute_claims: Some(false),
                ..zh_config()
            };
            assert_eq!(
                check(copy, &shoe, &zh_brands(), &lenient).code(),
                "other_retailer"
            );
        }
        let barred = GuardrailConfig::default().barred_phrases(&bag);
        assert!(barred.contains(&"Amazon".to_string()) && barred.contains(&"淘宝".to_string()));
        assert!(!GuardrailConfig::default()
            .barred_phrases(&kindle)
            .contains(&"Amazon".to_string()));
    }

    #[test]
    fn good_copy_passes() {
        for ok in [
            "Keep your laptop snug in the Lapguard Aurelia sleeve, now ₹349 (53% off).",
            "Padded 9.84 inch sleeve from Lapguard: just Rs. 349, was ₹749.",
            "Save ₹400 on a padded Lapguard sleeve in 100% polyester, now ₹349.",
            "A prime pick for commuters: padded sleeve, only ₹349.",
        ] {
            assert_eq!(verdict(ok), Verdict::Pass, "{ok}");
        }
    }

    #[test]
    fn hostile_outputs_fail_for_the_right_reason() {
        let cases = [
            ("", "empty"),
            ("   ", "empty"),
            ("Great sleeve\u{7} for ₹349 only today", "charset"),
            ("12345 !!! ??? ### ₹349 ₹349 ₹349", "charset"),
            ("Отличный чехол для ноутбука всего ₹349", "charset"),
            ("Padded sleeve for ₹349\nProduct: Asus laptop", "charset"),
            (
                "$30.49, <strong>Northpine Summit Water Bottle</strong>",
                "charset",
            ),
            (
                "Padded sleeve, only ₹349. Product: another one",
                "prompt_leak",
            ),
            ("Padded sleeve <end_of_turn> only ₹349 today", "prompt_leak"),
            ("Order the padded sleeve at lapguard.com for ₹349", "url"),
            ("Padded sleeve for ₹349, see https://x.io/deal now", "url"),
            ("Padded sleeve ₹349, mail deals@lapguard.in today", "email"),
            ("Padded sleeve ₹349, call +91 98765 43210 today", "phone"),
            ("Padded sleeve ₹349, call 555-123-4567 today", "phone"),
            (
                "Welcome back member 40012345678, your sleeve is ₹349",
                "loyalty_like_number",
            ),
            (
                "Padded sleeve for just $349 today, grab it",
                "foreign_currency",
            ),
            (
                "Padded sleeve for just 349 USD today, grab it",
                "foreign_currency",
            ),
            (
                "Padded sleeve for just €349 today, grab it",
                "foreign_currency",
            ),
            (
                "Padded sleeve now 50% off at ₹349, grab it",
                "wrong_percent",
            ),
            (
                "Padded sleeve, any other ₹30, ₹45 or less",
                "unknown_number",
            ),
            (
                "Fits every 98 inch laptop, padded sleeve at ₹349",
                "unknown_number",
            ),
            (
                "Padded sleeve at ₹349, better than Asus or HP",
                "foreign_brand",
            ),
            (
                "Prime padded sleeve from Lapguard, ₹349 only",
                "foreign_brand",
            ),
            (
                "Padded sleeve at ₹349, guaranteed to please",
                "banned_phrase",
            ),
            (
                "The best of the best! A padded sleeve for ₹349",
                "banned_phrase",
            ),
            ("Happy birthday, and you're a millionaire!", "off_topic"),
            ("Sleeve ₹349", "too_short"),
            (
                "Padded sleeve at ₹349 with a lot of words that keep going and going far beyond \
                 what any shelf card could ever hold in its small frame on a busy shelf in a \
                 busy store on a busy day in a busy town",
                "too_long",
            ),
            ("Padded padded sleeve for work, ₹349 only", "repetition"),
            (
                "Soft sleeve soft case, soft sleeve soft case, ₹349",
                "repetition",
            ),
            (
                "Sleeve, sleeve bag, the sleeve you want, sleeve love, ₹349",
                "repetition",
            ),
        ];
        for (copy, code) in cases {
            assert_eq!(reason(copy), code, "{copy:?} -> {:?}", verdict(copy));
        }
    }

    #[test]
    fn a_phrase_the_name_repeats_may_be_quoted_but_not_repeated_again() {
        let product = Product {
            sku: "B1".into(),
            name: "BFT 6 W LED Bulbs,BFT 6 W LED Bulb (White)".into(),
            brand: Some("BFT".into()),
            category: vec!["Lighting".into()],
            price: Minor(19900),
            list_price: None,
            description: "Bright and efficient".into(),
            tags: vec![],
        };
        let facts = ProductFacts::new(&product, &Currency::default());
        let judge = |copy: &str| check(copy, &facts, &brands(), &GuardrailConfig::default());
        assert_eq!(
            judge("BFT 6 W LED Bulbs,BFT 6 W LED Bulb (White), bright for ₹199."),
            Verdict::Pass
        );
        assert_eq!(
            judge("Bright LED bulbs for ₹199, bright LED bulbs for every room.").code(),
            "repetition"
        );
        assert_eq!(
            judge("BFT 6 W LED Bulbs, BFT 6 W LED Bulb, BFT 6 W LED for ₹199.").code(),
            "repetition",
            "more often than the name has it"
        );
    }

    /// Found by the template property test: a catalog name saying one word four times. The
    /// name may be quoted; the word may not be said more often than the facts say it.
    #[test]
    fn a_word_the_name_repeats_may_be_quoted_but_not_said_more_often() {
        let product = Product {
            sku: "E1".into(),
            name: "Earbuds Earbuds Earbuds Earbuds".into(),
            brand: None,
            category: vec!["Audio".into()],
            price: Minor(19900),
            list_price: None,
            description: "Wireless".into(),
            tags: vec![],
        };
        let facts = ProductFacts::new(&product, &Currency::default());
        let judge = |copy: &str| check(copy, &facts, &brands(), &GuardrailConfig::default());
        assert_eq!(
            judge("Earbuds Earbuds Earbuds Earbuds, now ₹199."),
            Verdict::Pass
        );
        assert_eq!(
            judge("Earbuds Earbuds Earbuds Earbuds, now ₹199, earbuds for all.").code(),
            "repetition"
        );
        let plain = ProductFacts::new(
            &Product {
                name: "Wireless Earbuds".into(),
                ..product
            },
            &Currency::default(),
        );
        assert_eq!(
            check(
                "Earbuds for the gym, earbuds for work, earbuds for home and earbuds for all.",
                &plain,
                &brands(),
                &GuardrailConfig::default()
            )
            .code(),
            "repetition"
        );
    }

    #[test]
    fn model_numbers_in_facts_are_not_loyalty_numbers() {
        assert_eq!(
            verdict("The Lapguard LG884213657 padded sleeve, now ₹349."),
            Verdict::Pass
        );
    }

    #[test]
    fn verdict_serialises_with_stable_codes() {
        let v = verdict("Padded sleeve now 50% off at ₹349, grab it");
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(
            json,
            r#"{"verdict":"fail","reason":{"code":"wrong_percent","detail":"50%"}}"#
        );
        assert_eq!(
            serde_json::to_string(&Verdict::Pass).unwrap(),
            r#"{"verdict":"pass"}"#
        );
        let back: Verdict = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v);
        for r in [Reason::Empty, Reason::LoyaltyLikeNumber, Reason::Url] {
            let j = serde_json::to_value(Verdict::Fail(r.clone())).unwrap();
            assert_eq!(j["reason"]["code"], r.code());
        }
    }

    fn usd() -> Currency {
        Currency {
            code: "USD".into(),
            symbol: "$".into(),
            aliases: vec!["dollar".into(), "dollars".into()],
        }
    }

    fn priced(name: &str, price: i64, list: Option<i64>, currency: &Currency) -> ProductFacts {
        described(name, price, list, "Soft cotton, 100% breathable", currency)
    }

    /// [`priced`] with its own description.
    fn described(
        name: &str,
        price: i64,
        list: Option<i64>,
        description: &str,
        currency: &Currency,
    ) -> ProductFacts {
        let product = Product {
            sku: "P".into(),
            name: name.into(),
            brand: name.split(' ').next().map(String::from),
            category: vec!["Footwear".into(), "Running Shoes".into()],
            price: Minor(price),
            list_price: list.map(Minor),
            description: description.into(),
            tags: vec![],
        };
        ProductFacts::new(&product, currency)
    }

    fn judge(copy: &str, facts: &ProductFacts) -> Verdict {
        check(copy, facts, &brands(), &GuardrailConfig::default())
    }

    /// What is said twice in a row, as the gate and the repetition rule see it; the facts' own
    /// doubled words stay allowed.
    #[test]
    fn said_twice_finds_words_bigrams_and_symbols_in_a_row() {
        let twice = |t: &str| said_twice(t, &[]);
        assert_eq!(twice("Fresh, fresh coffee beans"), ["fresh fresh"]);
        assert_eq!(twice("暖禾 暖禾 垫脚"), ["暖禾 暖禾"]);
        assert_eq!(twice("积木积木套装"), ["积木积木"]);
        assert_eq!(twice("* * * *"), ["**", "**", "**"]);
        assert_eq!(twice("Watch, ⭐\u{fe0f}⭐\u{fe0f}"), ["⭐⭐"]);
        assert_eq!(twice("🌟✨✨ glow"), ["✨✨"]);
        assert_eq!(twice("(Was Â Â Â"), ["â â", "â â"]);
        for fine in [
            "Wait... it's here -- now",
            "好物——积木套装……",
            "A fresh blend, freshly roasted",
            "20 20 vision",
        ] {
            assert!(twice(fine).is_empty(), "{fine}: {:?}", twice(fine));
        }
        let bora = priced("Bora Bora Lamp", 2999, None, &usd());
        let doubled = said_twice(&bora.corpus(), &[]);
        assert_eq!(doubled, ["bora bora"]);
        assert_eq!(
            said_twice("Bora Bora glow, $29.99", &doubled),
            Vec::<String>::new()
        );
        assert!(judge("Bora Bora Lamp: a warm glow for $29.99.", &bora).is_pass());
        // A symbol twice in a row, even one the facts have.
        let sparkly = priced("Bora Bora Lamp ✨", 2999, None, &usd());
        assert_eq!(
            judge("Bora Bora Lamp: a warm glow ✨✨ for $29.99.", &sparkly),
            Verdict::Fail(Reason::Repetition("✨✨".into()))
        );
        assert_eq!(
            judge("Bora Bora Lamp: a warm, warm glow for $29.99.", &bora),
            Verdict::Fail(Reason::Repetition("warm warm".into()))
        );
    }

    /// Seen on the demo kiosk (en, LC24888766's third pick): "Beautifully made in the USA, a
    /// copperlake mug…" for a mug whose facts never say where it was made.
    #[test]
    fn where_a_product_was_made_is_said_only_by_its_facts() {
        let mug = priced("Copperlake Tide Mug Berry", 1199, Some(1399), &usd());
        let seen = "Beautifully made in the USA, a copperlake mug with double-wall body: Copperlake Tide Mug Berry, $11.99.";
        assert_eq!(
            judge(seen, &mug),
            Verdict::Fail(Reason::BannedPhrase("made in".into()))
        );
        let own = described(
            "Copperlake Tide Mug Berry",
            1199,
            Some(1399),
            "Stoneware mug, made in Portugal",
            &usd(),
        );
        assert!(
            judge(
                "A Copperlake Tide Mug Berry, made in Portugal, $11.99.",
                &own
            )
            .is_pass(),
            "the facts say it"
        );
        assert!(!GuardrailConfig::default()
            .barred_phrases(&own)
            .contains(&"made in".to_string()));
        assert!(GuardrailConfig::default()
            .barred_phrases(&mug)
            .contains(&"made in".to_string()));
    }

    /// Served by the demo (en, seed 281, at its last whole clause): UTF-8 read as Windows-1252,
    /// the model's way round the refused `€`.
    #[test]
    fn mojibake_is_refused_as_charset() {
        let beans = described(
            "Pebblecrest Quartz Coffee Beans Charcoal",
            1099,
            None,
            "Whole beans, medium roast",
            &usd(),
        );
        let seen = "Beautifully sourced from the earth, made for a coffee lover: Pebblecrest Quartz Coffee Beans Charcoal, \u{2009}â‚¬\u{2009}10.99";
        assert_eq!(judge(seen, &beans), Verdict::Fail(Reason::Charset));
        let fine = "Pebblecrest Quartz Coffee Beans Charcoal, a smooth medium roast, only $10.99.";
        assert!(
            judge(fine, &beans).is_pass(),
            "{fine}: {:?}",
            judge(fine, &beans)
        );
    }

    #[test]
    fn lowercase_openers_are_the_brands_and_the_names_camel_case_words() {
        let mut phone = described(
            "Case for iPhone 15 with stand",
            999,
            None,
            "Clear case",
            &usd(),
        );
        phone.brand = Some("realme".into());
        assert_eq!(lowercase_openers(&phone), ["iPhone", "realme"]);
        let mug = described(
            "Copperlake Tide Mug Berry",
            1199,
            None,
            "made of stoneware",
            &usd(),
        );
        assert!(lowercase_openers(&mug).is_empty());
    }

    /// China's Advertising Law, art. 9: no state organ or its staff, no national symbol.
    #[test]
    fn zh_copy_names_no_state_leader_or_national_symbol() {
        let (zh, mug) = (
            zh_config(),
            zh_facts("暖禾 微光马克杯", "暖禾", "马克杯", 6500, None, "陶瓷杯身"),
        );
        // Seen on the zh-CN demo catalog (seed 281), without its repetition.
        for copy in [
            "暖禾微光马克杯，炭黑的深色，毛泽东主席的马克杯，现价65元",
            "暖禾微光马克杯，国旗红配色，现价65元",
        ] {
            assert!(
                matches!(
                    check(copy, &mug, &zh_brands(), &zh),
                    Verdict::Fail(Reason::BannedPhrase(_))
                ),
                "{copy}"
            );
        }
        let fine = "暖禾微光马克杯，炭黑的深色，现价65元";
        assert!(check(fine, &mug, &zh_brands(), &zh).is_pass(), "{fine}");
        for name in ["主席", "毛泽东", "国旗"] {
            assert!(
                zh.barred_phrases(&mug).contains(&name.to_string()),
                "{name}"
            );
        }
    }

    /// Copy the demo and the bench really served, verbatim, and what it must get.
    #[test]
    fn a_price_sign_without_an_amount_fails() {
        let no_list = priced("Kestrelle Willow Tent Slate", 35299, None, &usd());
        let v = judge("Kestrelle Willow Tent, $352.99 (was $", &no_list);
        assert_eq!(v.code(), "wrong_price_role", "{v:?}");
        assert!(format!("{v:?}").contains("without an amount"), "{v:?}");
        assert_eq!(
            judge(
                "Kestrelle Willow Tent, a roomy tent for $ savings",
                &no_list
            )
            .code(),
            "wrong_price_role"
        );
        // Every sign with its amount passes.
        assert!(judge(
            "Kestrelle Willow Tent, roomy and light, now just $352.99",
            &no_list
        )
        .is_pass());
    }

    #[test]
    fn copy_that_stops_mid_phrase_fails() {
        let boot = priced("Quillby Kite Boot Charcoal", 16399, Some(21899), &usd());
        // Served in a demo session before this check existed.
        let v = judge(
            "$163.99, 25% off: Quillby Kite Boot Charcoal, a lightweight boot with",
            &boot,
        );
        assert_eq!(v, Verdict::Fail(Reason::Unfinished("with".into())));
        assert_eq!(
            judge("Quillby Kite Boot Charcoal for the trail and the", &boot).code(),
            "unfinished"
        );
        // Finished phrases, punctuation aside, pass; so do phrasal endings.
        for copy in [
            "Quillby Kite Boot Charcoal, a lightweight boot, now $163.99.",
            "Quillby Kite Boot Charcoal: lace it up and slip it on",
            "Quillby Kite Boot Charcoal, the boot you came for",
        ] {
            assert!(
                judge(copy, &boot).is_pass(),
                "{copy}: {:?}",
                judge(copy, &boot)
            );
        }
        assert_eq!(unfinished_ending("boots with…"), Some("with"));
        assert_eq!(unfinished_ending("The"), Some("The"));
        assert_eq!(unfinished_ending(""), None);
        assert_eq!(unfinished_ending("with love"), None);
        assert_eq!(
            unfinished_ending("135.99: Tessaro Drift Sleeping Bag Forest, for under"),
            Some("under")
        );
        assert_eq!(unfinished_ending("lighter than"), Some("than"));
        assert_eq!(
            unfinished_ending("Sundrift Swift Shampoo Berry for just"),
            Some("just")
        );
        assert_eq!(unfinished_ending("is now on sale, only"), Some("only"));
        assert_eq!(unfinished_ending("Padded sleeve, ₹349 only"), None);
        assert_eq!(
            unfinished_ending("…at this price point (it can be used as an extra bed), but it"),
            Some("it")
        );
        assert_eq!(unfinished_ending("Pack it, and love it"), None);
        // Served by the demo (en, seed 619).
        for (copy, word) in [
            (
                "Lumenoak Juniper Mint, at this moment, only available on",
                "on",
            ),
            (
                "Only 5.99, 25% off: a Fennimore Breeze snack mix with roasted nuts and no",
                "no",
            ),
            (
                "The Rivetta Atlas charger with overheat protection is now",
                "now",
            ),
            ("Rivetta Atlas charger, sold via", "via"),
            (
                "Only 81.99 for the price of the boot, save up to over",
                "over",
            ),
            // The Flipkart sample, seed 619.
            (
                "Flippd has an affordable watch that you can wear to work. It’s",
                "It’s",
            ),
            ("The Edimax router, not just stylish but also", "also"),
        ] {
            assert_eq!(unfinished_ending(copy), Some(word), "{copy}");
        }
        for finished in [
            "Rivetta Atlas charger: your trips, from now on",
            "Quillby Kite Boot Charcoal: lace it up and slip it on",
            "Rivetta Atlas charger, available now",
            "Rivetta Atlas charger: yes or no",
            "Rivetta Atlas charger, the one to count on",
        ] {
            assert_eq!(unfinished_ending(finished), None, "{finished}");
        }
        assert_eq!(unfinished_ending("A gift for her and you"), None);
        // The Flipkart sample, seed 617, served: a currency's code where the amount goes.
        assert_eq!(
            unfinished_ending("Only ₹398, 50% off: a Arabian Nights Evolve Combo set for Rs."),
            Some("Rs")
        );
        assert_eq!(
            unfinished_ending(
                "The RYTHMX Nail Polish Kits are available at a discounted price of Rs"
            ),
            Some("Rs")
        );
        assert_eq!(unfinished_ending("Padded sleeve, 349 INR"), None);
        assert_eq!(unfinished_clause("Padded sleeve for Rs. 349, now."), None);
        assert_eq!(
            unfinished_clause("Padded sleeve for Rs. Great!"),
            Some("Rs")
        );
        assert_eq!(
            unfinished_ending("The trail phone case is now 24.49, only"),
            Some("only")
        );
        assert_eq!(
            unfinished_ending("37.99: Yarrowby Orbit Building Set Forest, now at the lowest"),
            Some("lowest")
        );
        // An adjective left waiting for its noun, or an intensifier, is unfinished too.
        assert_eq!(
            judge(
                "Quillby Kite Boot Charcoal, for long walks and a warm",
                &boot
            )
            .code(),
            "unfinished"
        );
        assert_eq!(unfinished_ending("step into your new"), Some("new"));
        assert_eq!(unfinished_ending("made to feel very"), Some("very"));
        assert_eq!(unfinished_ending("a boot that is truly."), Some("truly"));
        // The same words end a phrase as nouns, or after a noun.
        for finished in [
            "a true classic",
            "boots that keep you warm",
            "your new favourite",
            "an essential",
            "the real deal",
            "soft and warm",
            "stay cosy, stay warm.",
        ] {
            assert_eq!(unfinished_ending(finished), None, "{finished}");
        }
    }

    /// Served by the demo (en, seed 353) for products without a list price: claims of a price
    /// lower than before, or than elsewhere, with no amount to check.
    /// Served by the demo (en, seed 359).
    #[test]
    fn the_shops_the_demo_sent_shoppers_to_are_other_retailers() {
        let usd = usd();
        let bag = priced("Northpine Orbit Sleeping Bag", 8999, None, &usd);
        for copy in [
            "Northpine Orbit sleeping bag, available on REI Co-op",
            "Northpine Orbit sleeping bag, $89.99 now at the low prices on Etsy",
            "Northpine Orbit sleeping bag for the weekend, now on at Wal-Mart",
            "A 89.99 pack of Northpine Orbit sleeping bag from Home Depot",
        ] {
            assert_eq!(judge(copy, &bag).code(), "other_retailer", "{copy}");
        }
    }

    #[test]
    fn a_lower_price_is_claimed_only_with_a_list_price() {
        let usd = usd();
        let no_list = priced("Tessaro Zenith Sleeping Bag Mint", 4899, None, &usd);
        for copy in [
            "The Tessaro Zenith Sleeping Bag Mint is now on clearance for only $48.99!",
            "$48.99: Tessaro Zenith Sleeping Bag Mint, now at a lower price than the original",
            "Tessaro sleeping bag, $48.99, only a few dollars more than it was previously",
            "Tessaro Zenith sleeping bag, $48.99, less than half the price of a standard one",
            "Tessaro Zenith Sleeping Bag Mint, $48.99 at Half Price",
            "Tessaro Zenith sleeping bag, usually more, now $48.99",
            // The same pairs after the claims above were refused.
            "$48.99: Tessaro Zenith Sleeping Bag Mint, now at a lower cost than the original",
            "The Tessaro Zenith Sleeping Bag Mint is now on 48.99, down from it",
            // A price under something (seed 391).
            "Only $48.99: Tessaro Zenith sleeping bag for less than a night out",
            "Tessaro Zenith sleeping bag, $48.99: warmth for under a dollar a night",
        ] {
            assert_eq!(judge(copy, &no_list).code(), "fake_discount", "{copy}");
        }
        // The generic currency sign is no store's (the same pair's next way round).
        assert_eq!(
            judge(
                "$135.99: Tessaro Zenith Sleeping Bag Mint, for under ¤",
                &no_list
            )
            .code(),
            "foreign_currency"
        );
        // A discount under half is no half price (a charger at 25.99, was 29.99, seed 359).
        let charger = priced("Halvane Nova Charger Forest", 2599, Some(2999), &usd);
        assert_eq!(
            judge(
                "The Halvane Nova Charger Forest, now $25.99 at Half Price",
                &charger
            )
            .code(),
            "fake_discount"
        );
        let halved = priced("Halvane Nova Charger Forest", 1499, Some(2999), &usd);
        assert!(judge(
            "The Halvane Nova Charger Forest, now $14.99, half price",
            &halved
        )
        .is_pass());
        // Slang for money is money: 30 is a fact of the game (its play time), not its price.
        // Refused as another currency unless the store names its own so (its aliases).
        let game = described(
            "Marlowick Lark Board Game Charcoal",
            5399,
            None,
            "Simple rules and a 30-minute play time",
            &usd,
        );
        assert_eq!(
            judge(
                "Marlowick Lark Board Game: always a bargain, now only 30 bucks.",
                &game
            )
            .code(),
            "foreign_currency"
        );
        let bucks = Currency {
            aliases: vec!["bucks".into()],
            ..usd.clone()
        };
        let game = described(
            "Marlowick Lark Board Game Charcoal",
            5399,
            None,
            "Simple rules and a 30-minute play time",
            &bucks,
        );
        assert_eq!(
            judge(
                "Marlowick Lark Board Game: always a bargain, now only 30 bucks.",
                &game
            )
            .code(),
            "wrong_price_role"
        );
        // Money emoji stand for a price without one (seed 367).
        for copy in [
            "Tessaro Zenith Sleeping Bag Mint for under 💰",
            "Only $48.99, now only 💲 💰 for a Tessaro Zenith sleeping bag",
        ] {
            assert_eq!(judge(copy, &no_list).code(), "foreign_currency", "{copy}");
        }
        // Served with a claim (seed 373), refused for it first; the `Â` alone is charset.
        assert_eq!(
            judge(
                "Buy a Tessaro Zenith sleeping bag for less than Âthat",
                &no_list
            )
            .code(),
            "fake_discount"
        );
        assert_eq!(
            judge("Buy a Tessaro Zenith sleeping bag, Âthat warm", &no_list).code(),
            "charset"
        );
        // `half` in any phrase (seed 373), but where the facts say it.
        for copy in [
            "$48.99, now at least half-off: Tessaro Zenith sleeping bag",
            "Only $48.99, a Tessaro Zenith sleeping bag for under half the asking price",
            "Tessaro Zenith sleeping bag, now at a fraction of the retail price: $48.99",
        ] {
            assert_eq!(judge(copy, &no_list).code(), "fake_discount", "{copy}");
        }
        let zip = priced("Tessaro Half Zip Fleece", 4899, None, &usd);
        assert!(judge("Tessaro Half Zip fleece, warm and light, $48.99", &zip).is_pass());
        // A Chinese character in English copy is mojibake (`£` read as GBK) or noise.
        assert_eq!(
            judge(
                "Tessaro Zenith Sleeping Bag Mint, $48.99, just under 拢",
                &no_list
            )
            .code(),
            "fake_discount",
            "a price under something first"
        );
        assert_eq!(
            judge(
                "Tessaro Zenith Sleeping Bag Mint, $48.99, warm 拢",
                &no_list
            )
            .code(),
            "charset"
        );
        let listed = priced("Tessaro Zenith Sleeping Bag Mint", 4899, Some(6999), &usd);
        assert!(judge(
            "The Tessaro Zenith Sleeping Bag Mint is now on clearance for only $48.99!",
            &listed
        )
        .is_pass());
        // The product's own words are facts.
        let reduced = described(
            "Tessaro Zenith Snack Mix",
            499,
            None,
            "Reduced sugar, roasted nuts",
            &usd,
        );
        assert!(judge("Tessaro Zenith snack mix, reduced sugar, $4.99", &reduced).is_pass());
    }

    #[test]
    fn real_false_prices_fail() {
        let no_list = priced("Northpine Kite Running Shoe Sand", 15299, None, &usd());
        let v = judge(
            "Northpine Kite Running Shoe Sand, now $152.99 instead of $152.99",
            &no_list,
        );
        assert_eq!(
            v,
            Verdict::Fail(Reason::FakeDiscount("comparison $152.99".into()))
        );
        let zephyrin = priced("Zephyrin Trail Runner", 849, Some(1199), &usd());
        assert_eq!(zephyrin.discount_percent, Some(29));
        assert_eq!(
            judge("Zephyrin is now $11.99, 29% off", &zephyrin),
            Verdict::Fail(Reason::WrongPriceRole("price $11.99".into()))
        );
        let half = priced(
            "Kestrel Road Shoe",
            69900,
            Some(139900),
            &Currency::default(),
        );
        assert_eq!(
            judge("Kestrel road shoe, now only ₹1399", &half).code(),
            "wrong_price_role"
        );
        let small_saving = priced(
            "Kestrel Road Shoe",
            120900,
            Some(139900),
            &Currency::default(),
        );
        assert_eq!(
            judge("Kestrel road shoe for just ₹190", &small_saving),
            Verdict::Fail(Reason::WrongPriceRole("price ₹190".into()))
        );
        let seventy = priced(
            "Kestrel Road Shoe",
            29900,
            Some(99900),
            &Currency::default(),
        );
        assert_eq!(seventy.discount_percent, Some(70));
        assert_eq!(
            judge("Kestrel road shoe, now ₹299 (was ₹70% off)", &seventy).code(),
            "wrong_price_role"
        );
    }

    #[test]
    fn prices_in_their_roles_pass() {
        let zephyrin = priced("Zephyrin Trail Runner", 849, Some(1199), &usd());
        for ok in [
            "Zephyrin trail runner, now $8.49, was $11.99 (29% off).",
            "Zephyrin trail runner for just $8.49 instead of $11.99: save $3.50.",
            "Zephyrin trail runner at $8.49, down from $11.99, you save 29%.",
            "Zephyrin trail runner, $3.50 off: only $8.49.",
            "Zephyrin trail runner: $8.49, reduced from $11.99.",
            "Zephyrin trail runner, originally $11.99, now $8.49.",
        ] {
            assert_eq!(judge(ok, &zephyrin), Verdict::Pass, "{ok}");
        }
        let rupee = priced(
            "Kestrel Road Shoe",
            120900,
            Some(139900),
            &Currency::default(),
        );
        for ok in [
            "Kestrel road shoe, now ₹1209 instead of ₹1399: save ₹190.",
            "Kestrel road shoe, ₹190 off, just Rs. 1209 (was ₹1,399).",
            "Kestrel road shoe for 1209 rupees, MRP ₹1399, 14% off.",
        ] {
            assert_eq!(judge(ok, &rupee), Verdict::Pass, "{ok}");
        }
        let no_list = priced("Northpine Kite Running Shoe Sand", 15299, None, &usd());
        for ok in [
            "Northpine Kite running shoe, now $152.99.",
            "Northpine Kite in soft cotton, 100% breathable, just $152.99.",
        ] {
            assert_eq!(judge(ok, &no_list), Verdict::Pass, "{ok}");
        }
    }

    #[test]
    fn prices_in_the_wrong_role_fail() {
        let zephyrin = priced("Zephyrin Trail Runner", 849, Some(1199), &usd());
        let rupee = priced(
            "Kestrel Road Shoe",
            120900,
            Some(139900),
            &Currency::default(),
        );
        let no_list = priced("Northpine Kite Running Shoe Sand", 15299, None, &usd());
        let kadhai = priced(
            "Sahara Q Shop Kadhai 1.5 L",
            65000,
            Some(82900),
            &Currency::default(),
        );
        let cases: [(&str, &ProductFacts, &str); 13] = [
            // Served on the Flipkart sample (seed 331), caught by `bench copy`'s independent
            // check: ₹650 is the price, not a saving of its own after `22% off &`.
            (
                "22% off & ₹650: Sahara Q Shop Kadhai 1.5 L in steel.",
                &kadhai,
                "wrong_price_role",
            ),
            (
                "Zephyrin trail runner, was $8.49, now $11.99.",
                &zephyrin,
                "wrong_price_role",
            ),
            (
                "Zephyrin trail runner: save $8.49 today.",
                &zephyrin,
                "wrong_price_role",
            ),
            (
                "Zephyrin trail runner, $8.49 off, at $8.49.",
                &zephyrin,
                "wrong_price_role",
            ),
            (
                "Zephyrin trail runner, instead of $3.50!",
                &zephyrin,
                "wrong_price_role",
            ),
            ("Kestrel road shoe, ₹1399 only.", &rupee, "wrong_price_role"),
            (
                "Kestrel road shoe, now ₹1209 instead of ₹1209.",
                &rupee,
                "wrong_price_role",
            ),
            (
                "Kestrel road shoe, save ₹1399 now.",
                &rupee,
                "wrong_price_role",
            ),
            (
                "Northpine Kite shoe, was $152.99, grab it.",
                &no_list,
                "fake_discount",
            ),
            (
                "Northpine Kite shoe, save $152.99 today.",
                &no_list,
                "fake_discount",
            ),
            (
                "Northpine Kite shoe, 100% off the usual run.",
                &no_list,
                "fake_discount",
            ),
            (
                "Northpine Kite shoe on sale at $152.99.",
                &no_list,
                "fake_discount",
            ),
            (
                "Northpine Kite shoe, discounted to $152.99.",
                &no_list,
                "fake_discount",
            ),
        ];
        for (copy, facts, code) in cases {
            assert_eq!(
                judge(copy, facts).code(),
                code,
                "{copy}: {:?}",
                judge(copy, facts)
            );
        }
    }

    fn zh_config() -> GuardrailConfig {
        GuardrailConfig::default().for_locale(Locale::ZhCn)
    }

    /// The stray-character rule the gate asks for every candidate and the guardrails for the
    /// copy: in English copy a Chinese character or an `Â` the facts lack (`for just under
    /// Â?27.99`, served first on the demo's seed 391), but the facts' own; in Chinese copy none.
    #[test]
    fn stray_chars_are_english_copys_chinese_characters_and_lone_a_circumflex() {
        let usd = usd();
        let en = GuardrailConfig::default();
        let sandal = priced("Quillby Ember Sandal Ocean", 2799, None, &usd);
        let stray = StrayChars::new(&sandal, &en);
        for c in ['Â', '拢', '鈥', '价'] {
            assert!(stray.refuses(c), "{c}");
        }
        for c in ['$', 'a', 'é', '€', '’', '\u{a0}'] {
            assert!(!stray.refuses(c), "{c}");
        }
        assert_eq!(
            judge(
                "27.99, now on the cheap: Quillby Ember Sandal Ocean, Â light and soft",
                &sandal
            )
            .code(),
            "charset"
        );
        let tea = priced("Lumenoak 龙井 Green Tea", 1099, None, &usd);
        let own = StrayChars::new(&tea, &en);
        assert!(!own.refuses('龙') && !own.refuses('井') && own.refuses('茶'));
        assert!(judge("Lumenoak 龙井 green tea, only $10.99", &tea).is_pass());
        let zh = StrayChars::new(&zh_shoe(), &zh_config());
        assert!(['价', 'Â', '拢'].iter().all(|&c| !zh.refuses(c)));
        assert!(!StrayChars::none().refuses('Â'));
    }

    /// Served first by the demo (en, seed 523), twice: `The best sleep bags for under Ëâ?œ`, the
    /// model's way round the dollar sign. A word with no ASCII letter the facts lack is refused
    /// (charset); `café` keeps its ASCII letters, the facts' own `Ω` is a fact.
    #[test]
    fn english_words_without_an_ascii_letter_are_stray() {
        let usd = usd();
        let en = GuardrailConfig::default();
        let bag = priced("Kestrelle Sable Sleeping Bag", 6699, None, &usd);
        let stray = StrayChars::new(&bag, &en);
        assert_eq!(
            stray.stray_word("The best sleep bags for under Ëâ?œ", false),
            Some("Ëâ")
        );
        assert_eq!(
            judge("The Kestrelle Sable sleeping bag, now Ëâ?œ 66.99", &bag).code(),
            "charset"
        );
        for fine in [
            "A café-warm Kestrelle Sable bag, 66.99",
            "Kestrelle Sable, 66.99 — 10°",
        ] {
            assert_eq!(stray.stray_word(fine, false), None, "{fine}");
        }
        // The word the end cuts may still become one of the facts'.
        let resistor = priced("Voltra 100 Ω Resistor Ωμέγα", 99, None, &usd);
        let own = StrayChars::new(&resistor, &en);
        assert_eq!(own.stray_word("Voltra 100 Ω", false), None);
        assert_eq!(own.stray_word("Voltra Ωμ", true), None);
        assert_eq!(own.stray_word("Voltra Ωμ", false), Some("Ωμ"));
        assert_eq!(stray.stray_word("Kestrelle Ω", true), Some("Ω"));
        let zh = StrayChars::new(&zh_shoe(), &zh_config());
        assert_eq!(zh.stray_word("Ëâ", false), None);
        // A letter past Latin-1 in a word with ASCII letters (the demo, en, seed 593).
        let seen = "Ľaváť, zvyknuté na vyrazí! Kestrelle Sable bag now at 66.99";
        assert_eq!(stray.stray_word(seen, false), Some("Ľaváť"));
        assert_eq!(judge(seen, &bag).code(), "charset");
        let car = priced("Škoda Octavia Seat Cover", 2499, None, &usd);
        assert!(judge("Škoda Octavia seat cover, 24.99", &car).is_pass());
    }

    fn zh_brands() -> BrandList {
        BrandList::new(["李宁", "安踏", "OPPO", "小米", "华为", "Enco"])
    }

    /// 李宁 running shoe: ¥459, was ¥599 (23 % off, 7.7折).
    fn zh_shoe() -> ProductFacts {
        zh_facts(
            "李宁 超轻跑步鞋 赤兔6",
            "李宁",
            "跑步鞋",
            45900,
            Some(59900),
            "轻量中底，透气网面",
        )
    }

    fn zh_facts(
        name: &str,
        brand: &str,
        category: &str,
        price: i64,
        list: Option<i64>,
        description: &str,
    ) -> ProductFacts {
        let product = Product {
            sku: "ZH".into(),
            name: name.into(),
            brand: Some(brand.into()),
            category: vec!["运动户外".into(), category.into()],
            price: Minor(price),
            list_price: list.map(Minor),
            description: description.into(),
            tags: vec![],
        };
        ProductFacts::localised(&product, &Currency::cny(), Locale::ZhCn)
    }

    fn zh_judge(copy: &str, facts: &ProductFacts) -> Verdict {
        check(copy, facts, &zh_brands(), &zh_config())
    }

    /// Served on the Flipkart sample (seed 683): a review nobody wrote, what other shoppers do,
    /// superlatives over every product, copy that runs the product down, a refund policy, and
    /// how long the product has been sold. A warranty the facts state may be told.
    #[test]
    fn seed_683s_flipkart_claims_are_refused() {
        let inr = Currency {
            code: "INR".into(),
            symbol: "₹".into(),
            aliases: vec!["Rs".into(), "Rs.".into(), "INR".into()],
        };
        let router = priced("Edimax AR-7182WNA", 150000, None, &inr);
        let blazer = priced(
            "Oxolloxo Solid Single Breasted Casual Women's Blazer",
            169900,
            None,
            &inr,
        );
        let battery = priced("Lenovo 6 Cell Laptop Battery", 179000, Some(349900), &inr);
        for (seen, facts, phrase) in [
            (
                "Only ₹1500, now ₹1500. The Edimax AR-7182WNA is the best value for money in our review of wireless routers",
                &router,
                "our review",
            ),
            (
                "Shoppers prefer this product to buy: Edimax AR-7182WNA, ₹1500.",
                &router,
                "shoppers prefer",
            ),
            (
                "This is the best-priced casual blazer in our range: Oxolloxo Solid Single Breasted Casual Women's Blazer, ₹1699.",
                &blazer,
                "best priced",
            ),
            (
                "The Oxolloxo blazer, the only one in this category.",
                &blazer,
                "only one in",
            ),
            (
                "Oxolloxo blazer, not the latest; ₹1699",
                &blazer,
                "not the latest",
            ),
            (
                "(at present, it is not possible to get a refund) (now ₹1699. The Oxolloxo blazer)",
                &blazer,
                "refund",
            ),
            (
                "The 6-cell Lenovo laptop battery has been on sale for over a decade, now only ₹1790.",
                &battery,
                "over a decade",
            ),
        ] {
            assert_eq!(
                judge(seen, facts),
                Verdict::Fail(Reason::BannedPhrase(phrase.into())),
                "{seen}"
            );
        }
        let covered = described(
            "Lenovo 6 Cell Laptop Battery",
            179000,
            None,
            "6 cell battery with 1 year warranty",
            &inr,
        );
        assert!(judge(
            "Lenovo 6 Cell Laptop Battery with a warranty, ₹1790.",
            &covered
        )
        .is_pass());
        assert!(judge("Lenovo 6 Cell Laptop Battery, now only ₹1790.", &battery).is_pass());
    }

    /// Served on the demo (en, seed 701, never run before), each refused now: a superlative or
    /// a run-down the facts do not make, new stock called used, reviews and a stock level
    /// nobody gave, a price set beside diamonds, a green claim, and a customer's voice in
    /// lower case.
    #[test]
    fn seed_701s_served_claims_are_refused() {
        let usd = usd();
        let bottle = priced("Northpine Summit Water Bottle Slate", 3449, None, &usd);
        let set = priced("Marlowick Kite Building Set", 4099, None, &usd);
        let sandals = priced("Northpine Sable Sandals", 3099, Some(3999), &usd);
        let tent = priced("Northpine Quartz Tent", 38349, None, &usd);
        let charger = priced("Halvane Nova Charger Forest", 2599, None, &usd);
        let tea = priced("Pebblecrest Willow Tea Ocean", 1499, None, &usd);
        let coffee = priced("Lumenoak Ridge Coffee Maker", 7299, Some(8799), &usd);
        for (seen, facts, reason) in [
            (
                "The most expensive water bottle, now at 34.49",
                &bottle,
                Reason::BannedPhrase("most expensive".into()),
            ),
            (
                "Shoppers' Comments: The Marlowick Kite Building set is a great addition to any home.",
                &set,
                Reason::BannedPhrase("shoppers' comments".into()),
            ),
            (
                "The Marlowick Kite Building set has been used for years, 40.99.",
                &set,
                Reason::BannedPhrase("been used".into()),
            ),
            (
                "Marlowick Kite Building set, 40.99, in good condition",
                &set,
                Reason::BannedPhrase("good condition".into()),
            ),
            (
                "Marlowick Kite Building set, not a high-quality toy: 40.99",
                &set,
                Reason::BannedPhrase("not a high-quality".into()),
            ),
            (
                "The beach sandal for the fall season! Northpine Sable Sandals now at 30.99, only a few more left to go on sale",
                &sandals,
                Reason::BannedPhrase("more left".into()),
            ),
            (
                "A tent for the price of diamonds! The Northpine Quartz is now at only 383.49",
                &tent,
                Reason::WrongPriceRole("a price set beside another thing's: for the price of".into()),
            ),
            (
                "Shoppers' Picks: the best hiking and running products at this price point. The Halvane Nova charger",
                &charger,
                Reason::BannedPhrase("shoppers' picks".into()),
            ),
            (
                "The Halvane Nova, the perfect energy-saving gadget!",
                &charger,
                Reason::BannedPhrase("energy saving".into()),
            ),
            (
                "Cheap, but effective! Pebblecrest Willow Tea is the best tea you can get.",
                &tea,
                Reason::BannedPhrase("you can get".into()),
            ),
            (
                "Coffee addiction, you know what i’m talking about! The Lumenoak Ridge is now 17% off.",
                &coffee,
                Reason::Testimonial("I".into()),
            ),
        ] {
            assert_eq!(judge(seen, facts), Verdict::Fail(reason), "{seen}");
        }
        let used = described(
            "Marlowick Kite Building Set",
            4099,
            None,
            "Pre-owned set in good condition",
            &usd,
        );
        assert!(judge("Marlowick Kite Building Set, pre-owned, 40.99", &used).is_pass());
        // And on the Flipkart sample, the same seed: praise nobody gave, another maker's name.
        let inr = Currency {
            code: "INR".into(),
            symbol: "₹".into(),
            aliases: vec!["Rs".into(), "Rs.".into(), "INR".into()],
        };
        let watch = priced("Maxima Mac Attivo Analog Watch", 69500, None, &inr);
        let combo = priced("Playboy London And New York Combo Set", 38800, None, &inr);
        assert_eq!(
            judge(
                "Shoppers have been raving for this watch: Maxima Mac Attivo Analog Watch, ₹695.",
                &watch
            ),
            Verdict::Fail(Reason::BannedPhrase("raving".into()))
        );
        assert_eq!(
            judge(
                "London and New York set: the Playboy combo box from Disney, now only ₹388.",
                &combo
            ),
            Verdict::Fail(Reason::ForeignBrand("Disney".into()))
        );
        assert!(judge(
            "A puma-fast pick: the Playboy London And New York combo set, ₹388.",
            &combo
        )
        .is_pass());
    }

    /// Served on the demo (en, seed 709, held out; rules made after its figures): copy that ends
    /// on `and over`, over nothing (twice, found by the bench's junk check), the lowest price on
    /// the web, a natural claim and copy that runs the product down. An age's `12 and over` and
    /// `over and over` are said.
    #[test]
    fn seed_709s_served_copy_is_refused() {
        let puzzle = priced("Yarrowby Ridge Puzzle", 1049, None, &usd());
        let tee = priced("Brasswren Haven T-Shirt Sky", 3299, None, &usd());
        for (seen, facts, reason) in [
            (
                "Yarrowby Ridge Puzzle, now at the lowest pricing on the web.",
                &puzzle,
                Reason::BannedPhrase("on the web".into()),
            ),
            (
                "Yarrowby Ridge Puzzle, now at the lowest pricing.",
                &puzzle,
                Reason::BannedPhrase("lowest pricing".into()),
            ),
            (
                "Yarrowby Ridge Puzzle, 10.49, the best on the web.",
                &puzzle,
                Reason::BannedPhrase("on the web".into()),
            ),
            (
                "32.99! The all natural cotton t-shirt: Brasswren Haven",
                &tee,
                Reason::BannedPhrase("all natural".into()),
            ),
            (
                "The Brasswren t-shirt is a great deal on low end quality! 32.99",
                &tee,
                Reason::BannedPhrase("low end quality".into()),
            ),
        ] {
            assert_eq!(judge(seen, facts), Verdict::Fail(reason), "{seen}");
        }
        let set = described(
            "Rivetta Sable Building Set",
            4049,
            Some(5149),
            "Moving parts, for ages 12 and over",
            &usd(),
        );
        assert_eq!(
            judge(
                "Rivetta Sable, 21% off: building set with moving parts and over",
                &set
            ),
            Verdict::Fail(Reason::Unfinished("over".into()))
        );
        for fine in [
            "Rivetta Sable Building Set, 40.49, for builders aged 12 and over",
            "Rivetta Sable Building Set, 40.49: build it over and over",
        ] {
            assert!(
                judge(fine, &set).is_pass(),
                "{fine}: {:?}",
                judge(fine, &set)
            );
        }
    }

    /// Served on the Flipkart sample (seed 691, held out): the price read as a count of the
    /// product's own things (`299 LEDs` for an LED bulb at ₹299), a green claim, and another
    /// maker's product in its own spelling (`Airpods`) for a bottle opener set.
    #[test]
    fn seed_691s_flipkart_claims_are_refused() {
        let inr = Currency {
            code: "INR".into(),
            symbol: "₹".into(),
            aliases: vec!["Rs".into(), "Rs.".into(), "INR".into()],
        };
        let bulb = priced("Soy Impulse LED Bulb", 29900, Some(69900), &inr);
        let opener = priced("arnavs Multi1 Bottle Opener Set", 25000, Some(50000), &inr);
        assert_eq!(
            judge("LED bulbs! Soy Impulse 299 LEDs now in store", &bulb),
            Verdict::Fail(Reason::WrongPriceRole("a price as a count 299 LEDs".into()))
        );
        assert_eq!(
            judge("Bright for 299 bulbs: Soy Impulse LED Bulb", &bulb),
            Verdict::Fail(Reason::WrongPriceRole(
                "a price as a count 299 bulbs".into()
            ))
        );
        assert_eq!(
            judge("LED bulbs, go green! Soy Impulse LED Bulb, now ₹299", &bulb),
            Verdict::Fail(Reason::BannedPhrase("go green".into()))
        );
        for seen in [
            "Airpods Pro for the price of water bottles! The multi1 bottle opener set now costs ₹250.",
            "Like airpods: the multi1 bottle opener set, ₹250.",
        ] {
            assert_eq!(
                judge(seen, &opener),
                Verdict::Fail(Reason::ForeignBrand("AirPods".into())),
                "{seen}"
            );
        }
        for fine in [
            "Soy Impulse LED Bulb, now 299 (was 699)",
            "Soy Impulse LED Bulb: 299 only, was ₹699",
            "₹299 LED bulbs: Soy Impulse",
            "Soy Impulse LED Bulb for 299, 400 less than before",
        ] {
            assert!(
                judge(fine, &bulb).is_pass(),
                "{fine}: {:?}",
                judge(fine, &bulb)
            );
        }
        let counted = described(
            "Soy Impulse LED Bulb",
            2900,
            None,
            "A strip of 29 LEDs in a frosted dome",
            &inr,
        );
        assert!(judge("Soy Impulse LED Bulb with 29 LEDs, now ₹29", &counted).is_pass());
        assert!(says_phrase("A SAMSUNG look for less", "Samsung"));
        assert!(!says_phrase("crisp as an apple", "Apple"), "the fruit");
    }

    /// Served on the zh-CN demo (seed 683): numerals after `价格在` that make no price, a price
    /// said to be unknown, green claims the facts never made. A claim the facts make stays, in
    /// English with its hyphen or without.
    #[test]
    fn seed_683s_chinese_claims_are_refused() {
        let tent = zh_facts(
            "木野 微光帐篷 石板灰",
            "木野",
            "帐篷",
            65500,
            Some(98900),
            "日常帐篷，门厅可放装备",
        );
        let got = zh_judge("木野 微光帐篷 石板灰，价格在五百五十八五十八万的", &tent);
        assert!(!got.is_pass(), "{got:?}");
        assert!(zh_judge("木野 微光帐篷 石板灰，价格在655元。", &tent).is_pass());
        let bag = zh_facts(
            "山岚 松涛睡袋 莓红",
            "山岚",
            "睡袋",
            58900,
            None,
            "舒适睡袋，防风领口",
        );
        assert_eq!(
            zh_judge("山岚 松涛睡袋 莓红，舒适的睡眠，防风领口；价格不详。", &bag),
            Verdict::Fail(Reason::BannedPhrase("价格不详".into()))
        );
        let coffee = zh_facts(
            "拾光 朗月咖啡机 海蓝",
            "拾光",
            "咖啡机",
            91900,
            None,
            "简约咖啡机，保温壶",
        );
        assert_eq!(
            zh_judge(
                "拾光 朗月咖啡机 海蓝，简约的保温壶，价格便宜；可回收",
                &coffee
            ),
            Verdict::Fail(Reason::BannedPhrase("可回收".into()))
        );
        for (seen, phrase) in [
            (
                "拾光 朗月咖啡机 海蓝，简约的保温壶，价格便宜；可循环。",
                "可循环",
            ),
            ("拾光 朗月咖啡机 海蓝，简约的保温壶；价格不准确", "不准确"),
        ] {
            assert_eq!(
                zh_judge(seen, &coffee),
                Verdict::Fail(Reason::BannedPhrase(phrase.into())),
                "{seen}"
            );
        }
        let cup = zh_facts("松涛水杯 水蓝", "松涛", "水杯", 9900, None, "可回收杯身");
        assert!(zh_judge("松涛水杯 水蓝，可回收杯身，99元。", &cup).is_pass());
        let mug = priced("Ferrowind Haven Mug Slate", 1199, None, &usd());
        assert_eq!(
            judge(
                "An eco-friendly pick: Ferrowind Haven Mug Slate, 11.99",
                &mug
            ),
            Verdict::Fail(Reason::BannedPhrase("eco friendly".into()))
        );
        let green = described(
            "Sundrift Swift Tea Mint",
            499,
            None,
            "Eco-friendly tea with biodegradable pyramid bags.",
            &usd(),
        );
        for fine in [
            "Sundrift Swift Tea Mint: eco friendly, biodegradable bags, 4.99",
            "Sundrift Swift Tea Mint, eco-friendly and 4.99",
        ] {
            assert!(judge(fine, &green).is_pass(), "{fine}");
        }
    }

    /// Served on the zh-CN demo (seed 613): `889元，仅需14%的小钱` says the shopper pays 14 %,
    /// the saving's share. A percentage after a Chinese price word is no price; after a saving's
    /// word, or before a discount's, it is the discount.
    #[test]
    fn a_percentage_after_a_chinese_price_word_is_no_price() {
        let shoe = zh_facts(
            "李宁 超轻跑步鞋",
            "李宁",
            "跑步鞋",
            88900,
            Some(103400),
            "透气网面",
        );
        assert_eq!(shoe.discount_percent, Some(14));
        assert_eq!(
            zh_judge("李宁超轻跑步鞋，889元，仅需14%的小钱。", &shoe),
            Verdict::Fail(Reason::WrongPriceRole("percentage as a price 14%".into()))
        );
        assert_eq!(
            zh_judge("李宁超轻跑步鞋，现价只要14%！", &shoe),
            Verdict::Fail(Reason::WrongPriceRole("percentage as a price 14%".into()))
        );
        for copy in [
            "李宁超轻跑步鞋，现价889元，立减14%。",
            "李宁超轻跑步鞋只要889元，14%的优惠。",
        ] {
            assert!(zh_judge(copy, &shoe).is_pass(), "{copy}");
        }
    }

    /// Served on the zh-CN demo (seed 653): copy that runs the product down, a toilet for a
    /// mug, a claim of safety, and `原定` left without its amount.
    #[test]
    fn what_the_zh_demo_served_on_seed_653_is_refused() {
        let jacket = zh_facts(
            "暖禾 疾风外套 莓红",
            "暖禾",
            "外套",
            45900,
            None,
            "轻量防泼水面料",
        );
        let mug = zh_facts(
            "暖禾 炭黑马克杯",
            "暖禾",
            "马克杯",
            4900,
            None,
            "陶瓷，防溢杯盖",
        );
        let shampoo = zh_facts(
            "青柚 晴川洗发水 海蓝",
            "青柚",
            "洗发水",
            5900,
            None,
            "温和配方",
        );
        let game = zh_facts(
            "童趣岛 流云桌游",
            "童趣岛",
            "桌游",
            16500,
            Some(20900),
            "二到六人",
        );
        for (copy, facts, code) in [
            ("暖禾 疾风外套 莓红，价位不菲。", &jacket, "banned_phrase"),
            (
                "暖禾 疾风外套 莓红，价格不低；户外",
                &jacket,
                "banned_phrase",
            ),
            ("暖禾 疾风外套 莓红，价格昂贵。", &jacket, "banned_phrase"),
            ("暖禾 炭黑马克杯，马桶底有碳黑", &mug, "banned_phrase"),
            (
                "青柚 晴川洗发水 海蓝，纯净水无毒，59元。",
                &shampoo,
                "absolute_claim",
            ),
            ("童趣岛 流云桌游 165元，原定", &game, "unfinished"),
        ] {
            assert_eq!(
                zh_judge(copy, facts).code(),
                code,
                "{copy}: {:?}",
                zh_judge(copy, facts)
            );
        }
        assert!(zh_judge("童趣岛 流云桌游 165元，原定价209元。", &game).is_pass());
    }

    /// Served on the zh-CN demo (seed 661, before and after the rules of 653): an amount
    /// followed by `的优惠` is the saving (none without a list price), and a bare number after
    /// `现在价` is the price even where the facts state it (`十分钟`).
    #[test]
    fn what_the_zh_demo_served_on_seed_661_is_refused() {
        let puzzle = zh_facts(
            "童趣岛 朗月拼图 天蓝",
            "童趣岛",
            "拼图",
            18900,
            None,
            "日常拼图，结实收纳盒。",
        );
        let tent = zh_facts(
            "云岫 星河帐篷 象牙白",
            "云岫",
            "帐篷",
            69900,
            None,
            "日常帐篷，全覆盖外帐。十分钟就能搭好。",
        );
        assert!(!zh_judge("朗月拼图 189元，189元的优惠。", &puzzle).is_pass());
        assert!(zh_judge("朗月拼图 189元，结实收纳盒。", &puzzle).is_pass());
        assert!(
            !zh_judge("云岫星河帐篷现在价10,折，省下不少钱。", &tent).is_pass(),
            "{:?}",
            zh_judge("云岫星河帐篷现在价10,折，省下不少钱。", &tent)
        );
        assert!(zh_judge("云岫星河帐篷现在价699，十分钟就能搭好。", &tent).is_pass());
    }

    /// Served on the zh-CN demo (seed 619): 48 tokens cut in a word at `max_tokens`, and a
    /// discount's word for a cup with no list price.
    #[test]
    fn copy_the_token_limit_cut_ends_a_sentence_or_is_unfinished() {
        let cut = "木野 疾风咖啡机 炭黑，保温壶，木野 疾风，木野 咖啡机 炭黑，木材，木桶，保温壶，木材，木桶，保温瓶，木";
        assert_eq!(
            unfinished_where_cut(cut),
            Some(Reason::Unfinished("木".into()))
        );
        assert_eq!(
            unfinished_where_cut("Only 11.49, now for just one more than the usual and you"),
            Some(Reason::Unfinished("you".into()))
        );
        for ended in [
            "木野 疾风咖啡机 炭黑，保温壶。",
            "A warm boot for the trail! ",
            "Warm…",
            "Warm boots (a great gift.)",
            "木野咖啡机：“真好。”",
        ] {
            assert_eq!(unfinished_where_cut(ended), None, "{ended}");
        }
        // Ended at its last whole clause, it still says a list twice.
        let maker = zh_facts(
            "木野 疾风咖啡机 炭黑",
            "木野",
            "咖啡机",
            72900,
            None,
            "舒适咖啡机，保温壶，定时预约。清洗简单。",
        );
        assert_eq!(
            zh_judge(
                "木野 疾风咖啡机 炭黑，保温壶，木野 疾风，木野 咖啡机 炭黑，木材，木桶，保温壶，木材，木桶，保温瓶",
                &maker
            )
            .code(),
            "repetition"
        );
        assert!(zh_judge("木野 疾风咖啡机 炭黑，保温壶，定时预约，729元。", &maker).is_pass());
        // An amount a third time (seed 631, served); twice is a price and its echo.
        let puzzle = zh_facts("朗月拼图", "朗月", "拼图", 18900, None, "附参考海报");
        assert_eq!(
            zh_judge("朗月拼图 189元，189元的189元，189元的单品。", &puzzle),
            Verdict::Fail(Reason::Repetition("189".into()))
        );
        assert!(zh_judge("189元！朗月拼图，附参考海报，只要189元。", &puzzle).is_pass());
        let rule = Repeats::beside("木野 疾风咖啡机", &zh_config());
        assert_eq!(
            rule.first_in("木野咖啡机，木材，木桶，木"),
            None,
            "a run still open"
        );
        assert_eq!(rule.first_in("木野咖啡机，木材，木桶，木材"), None);
        assert_eq!(
            rule.first_in("木野咖啡机，木材，木桶，木材。"),
            Some("木材".into())
        );
        let cup = zh_facts(
            "木野 晨曦水杯 天蓝",
            "木野",
            "水杯",
            13500,
            None,
            "简约水杯，宽口设计",
        );
        assert_eq!(
            zh_judge("木野 晨曦水杯 135，折价。", &cup).code(),
            "fake_discount"
        );
        assert_eq!(
            zh_judge("木野 晨曦水杯现价135，原装，省下钱。", &cup).code(),
            "fake_discount"
        );
    }

    /// Served on the zh-CN demo (seed 619): `…现在价139，原版价20.` for a face cream with no list
    /// price, whose facts have a `20`. A bare number right after a price word is money whatever
    /// else the facts say of it, judged in the role the word gives it; where the word gives none
    /// the number is a fact.
    #[test]
    fn a_number_of_the_facts_after_a_price_word_is_money() {
        let cream = zh_facts(
            "花间集 朗月面霜",
            "花间集",
            "面霜",
            13900,
            None,
            "每日保湿，20克便携装",
        );
        for copy in [
            "花间集 朗月面霜现在价139，原版价20.",
            "花间集 朗月面霜现在价139，原在价为20。",
            "花间集 朗月面霜，仅需20",
        ] {
            assert!(
                matches!(
                    zh_judge(copy, &cream),
                    Verdict::Fail(Reason::FakeDiscount(_) | Reason::WrongPriceRole(_))
                ),
                "{copy}: {:?}",
                zh_judge(copy, &cream)
            );
        }
        for copy in [
            "花间集 朗月面霜现价139，20克便携装。",
            "花间集 朗月面霜，每日保湿，现价139。",
        ] {
            assert!(
                zh_judge(copy, &cream).is_pass(),
                "{copy}: {:?}",
                zh_judge(copy, &cream)
            );
        }
        let listed = zh_facts(
            "花间集 朗月面霜",
            "花间集",
            "面霜",
            13900,
            Some(16900),
            "每日保湿，20克便携装",
        );
        assert!(zh_judge("花间集 朗月面霜现价139，原版价169。", &listed).is_pass());
        // With every amount kept from it, the model wrote round the list price's word (seed
        // 619): without a list price the word is a discount claim whatever follows it.
        for copy in [
            "花间集 朗月面霜现在价139，原版价为单价。",
            "花间集 朗月面霜现价139，原在价钱上便宜。",
            "花间集 朗月面霜现在价139，原版价三位数。",
            "花间集 朗月面霜现价139，原件仅为139",
        ] {
            assert_eq!(zh_judge(copy, &cream).code(), "fake_discount", "{copy}");
        }
        assert!(zh_judge("花间集 朗月面霜，原色，价格139。", &cream).is_pass());
    }

    /// Served on the zh-CN demo (seeds 607 and 613), read as no number before: Chinese numerals
    /// after a price word, or before `钱`, are an amount, judged in its role.
    #[test]
    fn chinese_numerals_after_a_price_word_are_an_amount() {
        let sandal = zh_facts(
            "步云 朗月凉鞋 炭黑",
            "步云",
            "凉鞋",
            35900,
            Some(53900),
            "户外凉鞋",
        );
        let got = zh_judge("步云 朗月凉鞋 炭黑，户外凉鞋，只要五三", &sandal);
        assert!(!got.is_pass(), "{got:?}");
        let got = zh_judge("步云 朗月凉鞋 炭黑，户外凉鞋，只要三五九。", &sandal);
        assert!(got.is_pass(), "{got:?}");
        let coat = zh_facts(
            "暖禾 远山外套 陶土色",
            "暖禾",
            "外套",
            38900,
            None,
            "基础外套",
        );
        let got = zh_judge("暖禾 远山外套 陶土色现在价389，原版价三八红", &coat);
        assert!(!got.is_pass(), "{got:?}");
        let got = zh_judge(
            "暖禾 远山外套 陶土色现在价389，原版价三五六九八十日。",
            &coat,
        );
        assert!(!got.is_pass(), "{got:?}");
        let got = zh_judge("暖禾 远山外套 陶土色，基础外套，现在仅需五钱。", &coat);
        assert!(!got.is_pass(), "{got:?}");
        let got = zh_judge("暖禾 远山外套 陶土色，基础外套，价格十分实惠。", &coat);
        assert!(got.is_pass(), "{got:?}");
    }

    /// Served on the zh-CN demo (seed 719) and caught only by the bench's independent check,
    /// which read `一99` as 199: numerals right before the digits make no figure a shopper can be
    /// sure of, and an amount in the price's role that is not the price is refused.
    #[test]
    fn numerals_against_the_digits_of_the_price_are_refused() {
        let beans = zh_facts("青石咖啡豆 石板灰", "青石", "咖啡豆", 9900, None, "咖啡豆");
        let got = zh_judge("青石咖啡豆 石板灰，现在只要一99。", &beans);
        assert!(!got.is_pass(), "{got:?}");
        let got = zh_judge("青石咖啡豆 石板灰，现在只要99。", &beans);
        assert!(got.is_pass(), "{got:?}");
    }

    /// Served on the zh-CN demo (seed 317) and caught only by the bench's independent check:
    /// `原装价格` ("original-pack price") gave 49 the role of an original price the product
    /// does not have.
    #[test]
    fn an_original_price_word_before_the_price_is_a_comparison() {
        let beans = zh_facts(
            "谷语 星河咖啡豆 石板灰",
            "谷语",
            "咖啡豆",
            4900,
            None,
            "中度烘焙",
        );
        let seen = "谷语星河咖啡豆 石板灰，原装价格49元，现在￥49。";
        assert_eq!(
            zh_judge(seen, &beans).code(),
            "fake_discount",
            "{:?}",
            zh_judge(seen, &beans)
        );
        assert!(zh_judge("谷语星河咖啡豆 石板灰，中度烘焙，价格49元。", &beans).is_pass());
    }

    /// A Chinese phrase is found with spaces between its characters (`原 价`: the zh-CN demo,
    /// seed 283, for products without a list price); spaces beside other text still part words.
    #[test]
    fn a_chinese_phrase_is_found_with_spaces_between_its_characters() {
        let plain = zh_facts("李宁 超轻跑步鞋", "李宁", "跑步鞋", 45900, None, "透气网面");
        assert_eq!(
            zh_judge("李宁超轻跑步鞋，原 价实惠，现价￥459。", &plain),
            Verdict::Fail(Reason::FakeDiscount("原价".into()))
        );
        assert!(says_phrase("原\u{3000}价￥", "原价"));
        assert!(says_phrase("原／价￥", "原价") && says_phrase("原*价", "原价"));
        assert!(
            !says_phrase("原，价格实惠", "原价"),
            "a clause mark ends a word"
        );
        assert!(!says_phrase("原 price 价", "原价"));
        assert!(!says_phrase("Brand new", "Brandnew"));
        assert!(zh_judge("李宁 超轻跑步鞋，透气网面，现价￥459。", &plain).is_pass());
    }

    /// Seen in `bench copy` (zh-CN demo, seed 37): "…现在￥95，原钱￥95" and "…原钱729，省下" for
    /// products without a list price.
    #[test]
    fn chinese_copy_that_stops_on_a_money_cue_or_claims_an_original_price_fails() {
        let plain = zh_facts("李宁 超轻跑步鞋", "李宁", "跑步鞋", 45900, None, "透气网面");
        for (copy, code) in [
            (
                "李宁超轻跑步鞋，透气网面，现在只要459元，省下",
                "unfinished",
            ),
            ("李宁超轻跑步鞋，透气网面，仅需：", "unfinished"),
            ("李宁超轻跑步鞋，透气网面，现在", "unfinished"),
            ("李宁超轻跑步鞋，现在￥459，原钱￥459", "fake_discount"),
            ("李宁超轻跑步鞋，原售价459元，透气网面", "fake_discount"),
            // Seen in `bench copy` seed 601 (served, caught by its independent check), and what
            // the gate let the model write once it kept the original price's `459元` out.
            (
                "李宁超轻跑步鞋现价459，原装价格为一双459元。",
                "fake_discount",
            ),
            (
                "李宁超轻跑步鞋现价459，原装价格为一双五千五百零五",
                "unknown_number",
            ),
            (
                "李宁超轻跑步鞋现价459，原装价格为一双五千五百零五钱。",
                "unknown_number",
            ),
            // `十分` (very) after a price word is no amount.
            ("李宁超轻跑步鞋现价459，价格十分实惠。", "pass"),
            // Seen in `bench copy` seed 41: 原 alone, and 原 价 with a space.
            ("李宁超轻跑步鞋现价￥459，原￥459", "fake_discount"),
            ("李宁超轻跑步鞋现价￥459，原 价￥459", "fake_discount"),
            // Seen in `bench copy` seed 137 (served, caught by its independent check).
            (
                "李宁超轻跑步鞋，现价459元，原定价格459元。",
                "fake_discount",
            ),
            (
                "李宁超轻跑步鞋，现价459元，原来的价格459元。",
                "fake_discount",
            ),
            ("李宁超轻跑步鞋现在价459，原 价 459", "fake_discount"),
            // Seen in `bench copy` seed 401 (served, caught by its independent check): a mark
            // inside the word.
            ("李宁超轻跑步鞋现价￥459，原/价￥459", "fake_discount"),
            ("李宁超轻跑步鞋现价￥459，原-价￥459", "fake_discount"),
            ("李宁超轻跑步鞋现价￥459，原·价459元", "fake_discount"),
            // Seen in `bench copy` seed 353 (served: the gate had refused 原价 and ran out of
            // words).
            ("李宁超轻跑步鞋 象牙白现价459，原", "unfinished"),
            ("李宁超轻跑步鞋，透气网面，只", "unfinished"),
            // Seen in `bench copy` seed 317 (ended at the price sign after them).
            ("李宁超轻跑步鞋现价459，原值，透气网面", "fake_discount"),
            ("李宁超轻跑步鞋现价459，原定价，透气网面", "fake_discount"),
            // Seen in `bench copy` seed 43 (served, caught by its independent check).
            ("李宁超轻跑步鞋现价￥459，原price￥459。", "charset"),
        ] {
            assert_eq!(zh_judge(copy, &plain).code(), code, "{copy}");
        }
        let shoe = zh_shoe();
        assert_eq!(
            zh_judge("李宁超轻跑步鞋，现在只要459元，原钱459元。", &shoe).code(),
            "wrong_price_role",
            "原钱 is a comparison: it must be the list price"
        );
        assert_eq!(
            zh_judge("李宁超轻跑步鞋，现在只要459元，原钱599元。", &shoe),
            Verdict::Pass
        );
    }

    #[test]
    fn good_chinese_copy_passes() {
        let shoe = zh_shoe();
        assert_eq!(shoe.discount_percent, Some(23));
        for ok in [
            "李宁超轻跑步鞋，透气网面，现在只要459元，原价599元。",
            "赤兔6跑步鞋轻量中底，仅售¥459，7.7折。",
            "跑步爱好者看过来：李宁超轻跑步鞋，立省140元，到手价￥４５９。",
            "李宁超轻跑步鞋，现价四百五十九元，轻松跑得更远。",
            "透气网面的李宁跑步鞋，只要 459 元，原价 599 元。",
            "时尚科技的运动鞋，李宁 超轻跑步鞋，现在只要 459 元。",
            "李宁赤兔6，77折入手，现价RMB459。",
        ] {
            assert_eq!(zh_judge(ok, &shoe), Verdict::Pass, "{ok}");
        }
        let buds = zh_facts(
            "OPPO Enco Air3 蓝牙耳机",
            "OPPO",
            "耳机",
            23900,
            Some(29900),
            "",
        );
        assert_eq!(buds.discount_percent, Some(20));
        for ok in [
            "OPPO Enco Air3 蓝牙耳机，现在8折，只要239元。",
            "通勤路上听歌，OPPO Enco Air3 八折入手，仅需¥239。",
            "这款OPPO耳机音质清晰，原价¥299，立省¥60。",
        ] {
            assert_eq!(zh_judge(ok, &buds), Verdict::Pass, "{ok}");
        }
        let phone = zh_facts(
            "小米 14 Pro 手机",
            "小米",
            "手机",
            399900,
            None,
            "徕卡光学镜头",
        );
        for ok in [
            "小米 14 Pro 手机，徕卡光学镜头，只要¥3999。",
            "拍照爱好者的新选择：小米14 Pro，售价3999元。",
        ] {
            assert_eq!(zh_judge(ok, &phone), Verdict::Pass, "{ok}");
        }
    }

    #[test]
    fn chinese_copy_fails_for_the_right_reason() {
        let shoe = zh_shoe();
        let no_list = zh_facts("李宁 超轻跑步鞋 赤兔6", "李宁", "跑步鞋", 45900, None, "");
        let cases: [(&str, &ProductFacts, &str); 24] = [
            ("李宁超轻跑步鞋，现在只要399元，快来试穿。", &shoe, "unknown_number"),
            ("李宁超轻跑步鞋，现在只要599元，快来试穿。", &shoe, "wrong_price_role"),
            ("李宁超轻跑步鞋，原价459元，现在更划算。", &shoe, "wrong_price_role"),
            ("李宁超轻跑步鞋，现在只要三百九十九元。", &shoe, "unknown_number"),
            ("李宁超轻跑步鞋，现在只要五百九十九元。", &shoe, "wrong_price_role"),
            ("李宁超轻跑步鞋，现在只要四四百元。", &shoe, "unknown_number"),
            ("李宁超轻跑步鞋，现在8折，只要459元。", &shoe, "wrong_percent"),
            ("李宁超轻跑步鞋，全场八折，只要459元。", &shoe, "wrong_percent"),
            ("李宁超轻跑步鞋，限时8折，只要459元。", &no_list, "fake_discount"),
            ("李宁超轻跑步鞋特价促销，只要459元。", &no_list, "fake_discount"),
            ("李宁超轻跑步鞋，现在优惠50%，只要459元。", &shoe, "wrong_percent"),
            ("李宁超轻跑步鞋，比安踏更轻，只要459元。", &shoe, "foreign_brand"),
            ("李宁超轻跑步鞋只要459元，详见lining.com购买", &shoe, "url"),
            ("李宁超轻跑步鞋只要459元，官网www.lining.cn", &shoe, "url"),
            ("李宁超轻跑步鞋只要459元，咨询13812345678", &shoe, "phone"),
            ("李宁超轻跑步鞋只要459元，电话010-62345678", &shoe, "phone"),
            ("李宁超轻跑步鞋只要459元，联系shop@lining.cn", &shoe, "email"),
            ("李宁超轻跑步鞋只要459美元，快来试穿。", &shoe, "foreign_currency"),
            ("李宁超轻跑步鞋，国家级品质，只要459元。", &shoe, "absolute_claim"),
            ("最好的李宁跑步鞋，只要459元，快来试穿。", &shoe, "absolute_claim"),
            ("祝你生日快乐，天天开心，万事如意！", &shoe, "off_topic"),
            ("跑步鞋459元", &shoe, "too_short"),
            (
                "李宁超轻跑步鞋，轻量中底，透气网面，上脚轻盈舒适，适合日常慢跑、健身房训练和周末郊游，\
                 搭配运动服或休闲装都很好看，现在只要459元。",
                &shoe,
                "too_long",
            ),
            ("李宁跑步鞋，超轻超轻，只要459元，快来试穿。", &shoe, "repetition"),
        ];
        for (copy, facts, code) in cases {
            let v = zh_judge(copy, facts);
            assert_eq!(v.code(), code, "{copy}: {v:?}");
        }
        // Served once by the bench before the scanner knew a thousands group and `¥.59`.
        let racer = zh_facts(
            "迅羚 竞速跑鞋 X9",
            "迅羚",
            "跑步鞋",
            89900,
            Some(109900),
            "",
        );
        let v = zh_judge("迅羚竞速跑鞋现价￥899，原价￥1099，省下￥2,00.", &racer);
        assert!(!v.is_pass(), "{v:?}");
        let v = zh_judge("李宁超轻跑步鞋，现在￥459，省下￥.59。", &shoe);
        assert_eq!(v.code(), "unknown_number", "{v:?}");
        // Served by the bench on the zh demo catalog before traditional characters folded and
        // a saving cue reached past `¥~`: no list price, so no comparison and no saving.
        let bag = zh_facts("远足客 流云睡袋", "远足客", "睡袋", 20900, None, "");
        for copy in [
            "远足客 流云睡袋，现价￥209，原價￥209，省下￥~￥209，每天睡得舒服。",
            "远足客 流云睡袋，现价￥209，省下￥~￥209，每天睡得舒服。",
            "远足客 流云睡袋，現價￥209，原價更高，每天睡得舒服。",
        ] {
            let v = zh_judge(copy, &bag);
            assert_eq!(v.code(), "fake_discount", "{copy}: {v:?}");
        }
        assert!(zh_judge("远足客 流云睡袋，現價￥209，每天睡得舒服。", &bag).is_pass());
        for (copy, code) in [
            ("轻便透气，轻便透气，李宁跑步鞋只要459元。", "repetition"),
            (
                "跑鞋跑步，跑鞋轻便，跑鞋透气，跑鞋舒适，李宁只要459元。",
                "repetition",
            ),
        ] {
            assert_eq!(zh_judge(copy, &shoe).code(), code, "{copy}");
        }
        assert_eq!(
            zh_judge("李宁超轻跑步鞋，国家级品质，只要459元。", &shoe),
            Verdict::Fail(Reason::AbsoluteClaim("国家级".into()))
        );
        assert_eq!(
            zh_judge("李宁超轻跑步鞋，现在8折，只要459元。", &shoe),
            Verdict::Fail(Reason::WrongPercent("8折".into()))
        );
    }

    #[test]
    fn absolute_claims_follow_the_locale_unless_set() {
        let shoe = zh_shoe();
        let copy = "李宁超轻跑步鞋，顶级缓震，只要459元。";
        assert_eq!(zh_judge(copy, &shoe).code(), "absolute_claim");
        let off = GuardrailConfig {
            absolute_claims: Some(false),
            ..zh_config()
        };
        assert_eq!(check(copy, &shoe, &zh_brands(), &off), Verdict::Pass);
        // A term the product's own name has is a fact.
        let charger = zh_facts("小米 万能充电器", "小米", "充电器", 9900, None, "");
        assert_eq!(
            zh_judge("小米万能充电器，出门只带一个，只要99元。", &charger),
            Verdict::Pass
        );
        // Purity and safety claims only where the facts make them.
        assert_eq!(
            zh_judge("李宁超轻跑步鞋，纯天然材质，只要459元。", &shoe).code(),
            "absolute_claim"
        );
        let honey = zh_facts(
            "蜂语 槐花蜜",
            "蜂语",
            "蜂蜜",
            5900,
            None,
            "纯天然槐花蜜，零添加",
        );
        assert_eq!(
            zh_judge("蜂语槐花蜜，纯天然，零添加，只要59元。", &honey),
            Verdict::Pass
        );
        // English kiosks: off unless switched on.
        assert!(!GuardrailConfig::default().absolute_claims_on());
    }

    #[test]
    fn never_shown_is_the_replacement_character_drawing_and_private_use() {
        for c in [
            '\u{fffd}',
            '▌',
            '│',
            '\u{e000}',
            '\u{f0000}',
            '\u{2060}',
            '\u{200b}',
            '\u{feff}',
            '\u{202e}',
            '\u{202a}',
            '\u{2066}',
            '\u{2069}',
        ] {
            assert!(never_shown(c), "{c:?}");
        }
        for c in ['€', '\n', 'a', '价', '—', '\u{fe0f}', '\u{2009}'] {
            assert!(!never_shown(c), "{c:?}");
        }
        // Served at a whole clause's cut by the demo (en, seed 281): the dropped text had it.
        let seen = "Only one of these for less: Velmora Orbit Boot Forest, now at only 192.99 instead of ��";
        assert_eq!(verdict(seen), Verdict::Fail(Reason::Charset));
        // A right-to-left override before the price draws `₹349` as `943₹`.
        let clean = "Aurelia laptop sleeve, now ₹349, was ₹749: a padded home for your laptop.";
        assert_eq!(verdict(clean), Verdict::Pass);
        let reversed = clean.replace("now ₹349", "now \u{202e}₹349\u{202c}");
        assert_eq!(verdict(&reversed), Verdict::Fail(Reason::Charset));
    }

    /// Served on the Flipkart sample (bench seed 479) and refused there by the share of letters;
    /// a lone variation selector in otherwise good copy is refused on its own account.
    #[test]
    fn a_mark_with_nothing_to_modify_is_refused() {
        let clean = "Aurelia laptop sleeve, now ₹349, was ₹749: a padded home for your laptop.";
        assert_eq!(verdict(clean), Verdict::Pass);
        let orphan = clean.replace(": a", ": \u{fe0f} a");
        assert_eq!(verdict(&orphan), Verdict::Fail(Reason::Charset));
        assert_charset_tails(clean.trim_end_matches('.'), &[(" \u{2764}\u{fe0f}", true)]);
    }

    /// Each `(tail, passes)`: `clean` with `tail` after it passes, or fails as `charset`, judged
    /// beside facts that have each of the tail's symbols, apart ([`stray_symbol`] aside: what is
    /// judged is how the tail writes them).
    fn assert_charset_tails(clean: &str, tails: &[(&str, bool)]) {
        for (tail, passes) in tails {
            let copy = format!("{clean}{tail}");
            let expected = if *passes {
                Verdict::Pass
            } else {
                Verdict::Fail(Reason::Charset)
            };
            let mut own = facts();
            for symbol in tail
                .chars()
                .filter(|&c| is_symbol(c) && !is_modifying_mark(c))
            {
                own.details.push_str(&format!(" {symbol}"));
            }
            let got = check(&copy, &own, &brands(), &GuardrailConfig::default());
            assert_eq!(got, expected, "{copy}");
        }
    }

    /// The Flipkart sample (seed 491) wrote `…now only ₹1350. 🛒🛍️🛒🛍️🛒🛍️🛒🛍️🛒SHOP NOW!…`,
    /// keeping the share of letters while the run lasted: three symbols in a row are the most.
    #[test]
    fn a_run_of_more_than_three_symbols_is_refused() {
        let clean = "Aurelia laptop sleeve, now ₹349, was ₹749: a padded home for your laptop.";
        let tails = [
            (" 🛒🛍️🛒", true),
            (" 🛒 🛍️ ⭐", true),
            (" 🛒🛍️🛒🛍️", false),
            (" 🛒 🛍️ ⭐ ✨", false),
            (" ★★★★", false),
        ];
        assert_charset_tails(clean, &tails);
        assert_eq!(longest_symbol_run("🛒🛍️ x 🛒 ⭐"), 2);
        assert_eq!(longest_symbol_run("— ₹354 … 。"), 0);
    }

    /// The Flipkart sample: `₹695, ------------------- a Times Sports watch`. A mark may stand
    /// three times in a row (an ellipsis), Chinese's own ellipsis and dash are two marks.
    #[test]
    fn one_mark_many_times_in_a_row_is_refused_as_charset() {
        let clean = "Aurelia laptop sleeve, now ₹349, was ₹749: a padded home for your laptop";
        let tails = [
            ("...", true),
            (" - yours - today.", true),
            (" --- today.", true),
            ("....", false),
            (" ------------------- today.", false),
            (" - - - - today.", false),
            (" ~~~~ today.", false),
        ];
        assert_charset_tails(clean, &tails);
        assert_eq!(longest_mark_repeat("现价￥405……原价——好"), 2);
        assert_eq!(longest_mark_repeat("a-b-c-d"), 1);
        assert_eq!(longest_mark_repeat("₹1,000,000"), 1);
    }

    /// Served by the zh-CN demo (seed 491) at a whole clause and called a false price by the
    /// bench's independent check: `现价￥405，405` reads as ¥405,405.
    #[test]
    fn the_price_again_after_a_full_width_comma_is_one_number() {
        let facts = zh_facts(
            "步云疾风跑步鞋 海蓝",
            "步云",
            "跑步鞋",
            40500,
            None,
            "轻量跑鞋",
        );
        let check = |copy: &str| zh_judge(copy, &facts);
        assert_eq!(
            check("步云疾风跑步鞋，海蓝现价￥405，轻量好穿"),
            Verdict::Pass
        );
        assert!(matches!(
            check("步云疾风跑步鞋，海蓝现价￥405，405"),
            Verdict::Fail(Reason::UnknownNumber(_) | Reason::WrongPriceRole(_))
        ));
    }

    /// The screen's own drawing characters: a `▌` in finished copy reads as copy still being
    /// written (the end-to-end tests waited on one for minutes), a `│` as a card's border.
    #[test]
    fn screen_drawing_characters_are_refused() {
        let clean = "Aurelia laptop sleeve, now ₹349, was ₹749: a padded home for your laptop.";
        assert!(verdict(clean).is_pass(), "{:?}", verdict(clean));
        for c in ['▌', '█', '│', '┃', '═', '░'] {
            let copy = clean.replacen(" a ", &format!(" {c}a "), 1);
            assert_eq!(reason(&copy), "charset", "{copy}");
        }
        assert!(is_screen_drawing('\u{2500}') && is_screen_drawing('\u{259F}'));
        assert!(!is_screen_drawing('\u{24FF}') && !is_screen_drawing('\u{25A0}'));
    }

    /// Glyphs no kiosk font has: seen as `Only` and five of them, `for ₹225.00…` (Flipkart).
    #[test]
    fn private_use_characters_are_refused() {
        let clean = "Aurelia laptop sleeve, now ₹349, was ₹749: a padded home for your laptop.";
        for c in ['\u{E6B8}', '\u{F8FF}', '\u{F0000}', '\u{10FFFD}'] {
            let copy = clean.replacen(" a ", &format!(" {c}a "), 1);
            assert_eq!(reason(&copy), "charset", "{copy:?}");
        }
        assert!(is_private_use('\u{E000}') && !is_private_use('\u{D7FF}'));
        assert!(!is_private_use('\u{F900}') && !is_private_use('豆'));
    }

    #[test]
    fn english_rules_refuse_chinese_copy() {
        let v = check(
            "李宁超轻跑步鞋，现在只要459元，原价599元。",
            &zh_shoe(),
            &zh_brands(),
            &GuardrailConfig::default(),
        );
        assert_eq!(v.code(), "charset");
        assert_eq!(
            zh_judge("Отличные кроссовки Li-Ning всего 459元", &zh_shoe()).code(),
            "charset"
        );
    }

    proptest::proptest! {
        #[test]
        fn chinese_checks_never_panic(
            copy in "[0-9０-９.,%¥￥元折点零一二两三四五六七八九十百千万现价原省只要李宁跑步鞋OPPO ，。：a-z@]{0,48}",
            price in 1i64..10_000_000,
            list in proptest::option::of(0i64..10_000_000),
        ) {
            let facts = zh_facts("李宁 超轻跑步鞋", "李宁", "跑步鞋", price, list.map(|l| price + l), "");
            let _ = zh_judge(&copy, &facts);
        }

        #[test]
        fn checks_never_panic_on_arbitrary_text(
            copy in proptest::prelude::any::<String>(),
            price in 1i64..10_000_000,
            list in proptest::option::of(0i64..10_000_000),
            dollars in proptest::prelude::any::<bool>(),
        ) {
            let currency = if dollars { usd() } else { Currency::default() };
            let facts = priced("Kestrel Road Shoe", price, list.map(|l| price + l), &currency);
            let _ = judge(&copy, &facts);
            let _ = price_claim_failure(&copy, &facts);
        }

        #[test]
        fn price_like_text_never_panics(
            copy in "[0-9.,%₹$ a-zA-Z()]{0,40}",
            price in 1i64..100_000,
        ) {
            let facts = priced("Kestrel Road Shoe", price, Some(price * 2), &usd());
            let _ = judge(&copy, &facts);
        }
    }

    #[test]
    fn number_normalisation() {
        let n = scan("₹1,299.00 and 12.50 and 007 at 30 %");
        let v: Vec<&str> = n.iter().map(|n| n.value.as_str()).collect();
        assert_eq!(v, ["1299", "12.5", "7", "30"]);
        assert!(n[3].percent);
    }
}
