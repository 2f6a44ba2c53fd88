#!/usr/bin/env python3
"""Writes shelftalk's own demo data: demo/catalog.csv and demo/events.csv (en, prices in USD),
and demo/zh-CN/catalog.csv and demo/zh-CN/events.csv (zh-CN, prices in CNY).

Everything here is invented by the team: brands, product names, descriptions, shoppers. No
real brand, no copied text. The output is deterministic (fixed seed, no set iteration, no
clock), so `python3 demo/generate.py` reproduces the committed files byte for byte; a Rust
test checks that.

catalog.csv is shelftalk's `csv` catalog format:
    sku,name,brand,category,price,list_price,description   (category as "A > B", prices major units)
events.csv is REES46-like, which the `rees46` event reader reads:
    event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session
with loyalty-card-like shopper ids (LC + 8 digits) in user_id.

Shoppers have structure: one or two preferred categories, one or two preferred brands there, a
price band, and complementary purchases (running shoes -> socks, coffee maker -> coffee beans,
tent -> sleeping bag, ...). Timestamps fall within 2026-10-01 .. 2026-11-27 (UTC).

The zh-CN data has its own invented Chinese brands, product names and descriptions, whole-yuan
prices ending in 9, the same categories (same codes, so the same REES46 category ids), the same
kind of shopper structure and loyalty codes, from its own seed (ZH_SEED), so adding it left the en
files unchanged. No brand name uses an absolute claim (最, 第一, 顶级, ...) China's advertising
law forbids: the kiosk's zh guardrails would refuse copy naming it.

Usage: python3 demo/generate.py [--out DIR]     (default: the directory of this script)
"""

import argparse
import csv
import datetime
import os
import random

SEED = 20261128
ZH_SEED = 20261130
PRODUCTS_PER_SUBCATEGORY = 15
SHOPPERS = 400
FIRST_DAY = datetime.datetime(2026, 10, 1, tzinfo=datetime.timezone.utc)
DAYS = 58  # 2026-10-01 .. 2026-11-27

# (top category, code, [(subcategory, code, singular noun, price band in cents, features, benefits)])
CATEGORIES = [
    ("Footwear", "FW", [
        ("Running Shoes", "RUN", "Running Shoe", (5999, 15999),
         ["a cushioned foam midsole", "a breathable knit upper", "a grippy rubber outsole", "reflective heel tabs"],
         ["Built for daily miles.", "Light enough for race day.", "Soft landings on hard pavements."]),
        ("Sandals", "SAN", "Sandal", (1999, 5999),
         ["adjustable straps", "a contoured cork footbed", "a quick-dry lining", "a non-slip sole"],
         ["Made for warm afternoons.", "Easy on, easy off.", "Comfortable from beach to town."]),
        ("Boots", "BOO", "Boot", (7999, 19999),
         ["a waterproof membrane", "a padded collar", "a lugged outsole", "a warm fleece lining"],
         ["Ready for wet trails.", "Keeps feet dry all day.", "Sturdy support on rough ground."]),
    ]),
    ("Apparel", "AP", [
        ("Socks", "SOC", "Sock Pack", (399, 1499),
         ["a cushioned sole", "moisture-wicking yarn", "a seamless toe", "arch support bands"],
         ["Three pairs per pack.", "Stays put on long runs.", "Soft after many washes."]),
        ("T-Shirts", "TEE", "T-Shirt", (999, 3499),
         ["organic cotton", "a relaxed fit", "flat-locked seams", "a quick-dry finish"],
         ["An everyday favourite.", "Layers well under a jacket.", "Keeps its shape wash after wash."]),
        ("Jackets", "JAC", "Jacket", (4999, 17999),
         ["a water-resistant shell", "a packable hood", "zipped hand pockets", "a light insulated lining"],
         ["Ready for changing weather.", "Packs into its own pocket.", "Warm without the bulk."]),
    ]),
    ("Home & Kitchen", "HK", [
        ("Coffee Makers", "COF", "Coffee Maker", (2999, 19999),
         ["a programmable timer", "a thermal carafe", "a reusable filter", "a one-cup mode"],
         ["Fresh coffee when you wake up.", "Brews a full pot in minutes.", "Simple to clean."]),
        ("Mugs", "MUG", "Mug", (599, 1999),
         ["a double-wall body", "a stoneware glaze", "a comfortable handle", "a spill-resistant lid"],
         ["Keeps drinks warm longer.", "Dishwasher safe.", "A cheerful start to the day."]),
        ("Cookware", "COO", "Pan", (1999, 8999),
         ["a non-stick coating", "an even-heating base", "a stay-cool handle", "an oven-safe build"],
         ["Works on every hob.", "Easy weeknight cooking.", "Cleans up in seconds."]),
    ]),
    ("Grocery", "GR", [
        ("Coffee Beans", "BEA", "Coffee Beans", (699, 2499),
         ["a medium roast", "notes of cocoa and hazelnut", "single-origin beans", "a resealable bag"],
         ["Roasted in small batches.", "Great for filter and espresso.", "Smooth and full-bodied."]),
        ("Tea", "TEA", "Tea", (399, 1499),
         ["whole-leaf blends", "biodegradable pyramid bags", "a calming herbal mix", "a bright citrus note"],
         ["Twenty bags per box.", "A gentle afternoon lift.", "Brews in three minutes."]),
        ("Snacks", "SNA", "Snack Mix", (199, 699),
         ["roasted nuts", "dried fruit pieces", "a light sea-salt seasoning", "no artificial colours"],
         ["Good for sharing.", "A handy pick-me-up.", "Packed for on the go."]),
    ]),
    ("Beauty", "BE", [
        ("Shampoo", "SHA", "Shampoo", (399, 1899),
         ["a gentle daily formula", "plant-based cleansers", "a fresh mint scent", "a sulphate-free wash"],
         ["Leaves hair soft and light.", "Kind to the scalp.", "A salon feel at home."]),
        ("Conditioner", "CON", "Conditioner", (399, 1899),
         ["a lightweight cream", "argan oil", "a detangling formula", "a silk protein blend"],
         ["Smooths without weighing hair down.", "Easy combing after every wash.", "Adds a healthy shine."]),
        ("Face Cream", "FAC", "Face Cream", (899, 4999),
         ["hyaluronic acid", "a non-greasy texture", "SPF 20 protection", "a fragrance-free formula"],
         ["Hydrates all day.", "Sits well under make-up.", "Suits sensitive skin."]),
    ]),
    ("Electronics", "EL", [
        ("Headphones", "HEA", "Headphones", (1999, 29999),
         ["active noise cancelling", "a 30-hour battery", "soft memory-foam cushions", "a foldable frame"],
         ["Quiet focus on the commute.", "Rich sound at any volume.", "Comfortable for long listens."]),
        ("Phone Cases", "CAS", "Phone Case", (799, 3999),
         ["raised camera edges", "a shock-absorbing rim", "a slim matte finish", "a built-in card slot"],
         ["Protection without the bulk.", "Easy grip, no slips.", "Fits wireless charging."]),
        ("Chargers", "CHA", "Charger", (999, 4999),
         ["two fast-charging ports", "a compact folding plug", "a braided cable", "overheat protection"],
         ["Charges a phone in under an hour.", "Travels light.", "One charger for every device."]),
    ]),
    ("Toys & Games", "TG", [
        ("Board Games", "BOA", "Board Game", (1499, 5999),
         ["a 30-minute play time", "two to six players", "illustrated cards", "simple rules"],
         ["Perfect for family nights.", "Easy to learn, hard to master.", "Great with friends."]),
        ("Puzzles", "PUZ", "Puzzle", (799, 2999),
         ["1000 thick pieces", "a poster guide", "a matte anti-glare finish", "a sturdy storage box"],
         ["A calm evening project.", "Satisfying to finish.", "Makes a lovely gift."]),
        ("Building Sets", "BUI", "Building Set", (1999, 9999),
         ["over 500 bricks", "step-by-step instructions", "moving parts", "a display stand"],
         ["Hours of creative play.", "Build it again and again.", "Ages eight and up."]),
    ]),
    ("Outdoor", "OU", [
        ("Tents", "TEN", "Tent", (7999, 39999),
         ["a two-person design", "colour-coded poles", "a full rain fly", "a vestibule for gear"],
         ["Pitches in ten minutes.", "Steady in wind and rain.", "Light enough to carry far."]),
        ("Sleeping Bags", "SLE", "Sleeping Bag", (3999, 14999),
         ["a three-season rating", "a draught collar", "a compression sack", "a soft brushed lining"],
         ["Warm nights under the stars.", "Packs down small.", "Roomy at the shoulders."]),
        ("Water Bottles", "WAT", "Water Bottle", (799, 3499),
         ["a leak-proof lid", "a vacuum-insulated body", "a wide mouth", "a carry loop"],
         ["Cold for a full day.", "Fits most cup holders.", "Ready for every trip."]),
    ]),
]

# Subcategory code -> complementary subcategory codes bought alongside.
COMPLEMENTS = {
    "RUN": ["SOC"], "BOO": ["SOC"], "COF": ["BEA", "MUG"], "MUG": ["TEA"], "SHA": ["CON"],
    "TEN": ["SLE"], "SLE": ["WAT"], "HEA": ["CHA"], "CAS": ["CHA"], "BOA": ["SNA"], "JAC": ["TEE"],
}

# Invented brands, each at home in one or two top categories (by code).
BRANDS = [
    ("Northpine", ["FW", "OU"]), ("Velmora", ["FW"]), ("Quillby", ["FW", "AP"]), ("Brasswren", ["AP"]),
    ("Tovari", ["AP"]), ("Kestrelle", ["AP", "OU"]), ("Mossgate", ["HK"]), ("Ferrowind", ["HK"]),
    ("Lumenoak", ["HK", "GR"]), ("Glenharrow", ["GR"]), ("Pebblecrest", ["GR"]), ("Sundrift", ["GR", "BE"]),
    ("Orvelle", ["BE"]), ("Talbrook", ["BE"]), ("Zephyrin", ["BE"]), ("Cindertail", ["EL"]),
    ("Halvane", ["EL"]), ("Ambergrove", ["EL"]), ("Rivetta", ["EL", "TG"]), ("Yarrowby", ["TG"]),
    ("Duskline", ["TG"]), ("Marlowick", ["TG"]), ("Tessaro", ["OU"]), ("Wrenfield", ["OU"]),
    ("Copperlake", ["HK"]), ("Bramblewood", ["OU", "FW"]), ("Kitecourt", ["FW"]), ("Nimbrel", ["AP"]),
    ("Fennimore", ["GR"]), ("Ostrava Lane", ["BE", "AP"]),
]

MODEL_WORDS = [
    "Swift", "Harbor", "Summit", "Breeze", "Ember", "Atlas", "Cove", "Drift", "Echo", "Fable",
    "Glide", "Haven", "Ivy", "Juniper", "Kite", "Lark", "Meadow", "Nova", "Orbit", "Pine",
    "Quartz", "Ridge", "Sable", "Tide", "Umber", "Vale", "Willow", "Zenith",
]
COLOURS = ["Slate", "Sand", "Forest", "Ocean", "Berry", "Charcoal", "Sky", "Clay", "Mint", "Ivory"]
ADJECTIVES = ["Everyday", "Classic", "Lightweight", "Premium", "Compact", "Essential", "Deluxe", "Trail"]

# zh-CN: (top category, code, [(subcategory, code, noun, price band in fen, features, benefits)]),
# the same codes as CATEGORIES.
ZH_CATEGORIES = [
    ("鞋履", "FW", [
        ("跑步鞋", "RUN", "跑步鞋", (29900, 89900),
         ["缓震泡棉中底", "透气针织鞋面", "防滑橡胶大底", "反光鞋跟"],
         ["每天跑步都合适。", "轻快好穿，适合晨跑。", "落地柔软，路面再硬也不怕。"]),
        ("凉鞋", "SAN", "凉鞋", (9900, 39900),
         ["可调节绑带", "软木贴合鞋床", "速干内衬", "防滑鞋底"],
         ["夏天午后正合适。", "穿脱方便。", "海边街头都舒服。"]),
        ("靴子", "BOO", "短靴", (39900, 129900),
         ["防水内膜", "加厚鞋口", "深齿大底", "保暖抓绒内里"],
         ["雨天山路也放心。", "一整天保持双脚干爽。", "崎岖路面支撑稳。"]),
    ]),
    ("服饰", "AP", [
        ("袜子", "SOC", "袜子三双装", (1900, 8900),
         ["加厚袜底", "吸湿排汗纱线", "无缝袜头", "足弓支撑"],
         ["一包三双。", "长跑不滑落。", "多次洗涤依然柔软。"]),
        ("T恤", "TEE", "T恤", (4900, 19900),
         ["有机棉", "宽松版型", "平缝接缝", "速干面料"],
         ["日常百搭。", "外套里面叠穿正好。", "洗后不变形。"]),
        ("外套", "JAC", "外套", (29900, 99900),
         ["防泼水面料", "可收纳兜帽", "拉链口袋", "轻薄保暖内胆"],
         ["天气多变也从容。", "可收进自己的口袋。", "保暖又不臃肿。"]),
    ]),
    ("家居厨房", "HK", [
        ("咖啡机", "COF", "咖啡机", (19900, 129900),
         ["定时预约", "保温壶", "可重复使用滤网", "单杯模式"],
         ["起床就有新鲜咖啡。", "几分钟煮好一壶。", "清洗简单。"]),
        ("马克杯", "MUG", "马克杯", (2900, 12900),
         ["双层杯身", "陶瓷釉面", "舒适把手", "防溢杯盖"],
         ["饮品保温更久。", "可以放进洗碗机。", "开启愉快的一天。"]),
        ("锅具", "COO", "平底锅", (9900, 49900),
         ["不粘涂层", "均匀导热锅底", "防烫手柄", "可进烤箱"],
         ["各种灶具都能用。", "工作日做饭更轻松。", "几秒就能洗干净。"]),
    ]),
    ("食品", "GR", [
        ("咖啡豆", "BEA", "咖啡豆", (3900, 15900),
         ["中度烘焙", "可可与榛果风味", "单一产区", "可重复密封袋"],
         ["小批量烘焙。", "手冲意式都合适。", "口感顺滑饱满。"]),
        ("茶叶", "TEA", "茶", (1900, 9900),
         ["原叶拼配", "可降解三角茶包", "舒缓花草配方", "清新柑橘香"],
         ["每盒二十包。", "下午提提神。", "三分钟就能泡好。"]),
        ("零食", "SNA", "什锦零食", (900, 3900),
         ["烘烤坚果", "果干", "淡海盐调味", "不含人工色素"],
         ["适合分享。", "随时补充能量。", "小包装方便带走。"]),
    ]),
    ("美妆个护", "BE", [
        ("洗发水", "SHA", "洗发水", (2900, 12900),
         ["温和日常配方", "植物清洁成分", "清新薄荷香", "无硫酸盐"],
         ["洗后头发柔软轻盈。", "对头皮温和。", "在家也有沙龙感。"]),
        ("护发素", "CON", "护发素", (2900, 12900),
         ["轻盈乳霜", "摩洛哥坚果油", "顺滑配方", "丝蛋白"],
         ["顺滑不厚重。", "洗后梳理不打结。", "头发更有光泽。"]),
        ("面霜", "FAC", "面霜", (6900, 39900),
         ["玻尿酸", "清爽不油腻", "SPF20 防晒", "无香精配方"],
         ["全天保湿。", "上妆服帖。", "敏感肌也适用。"]),
    ]),
    ("数码电子", "EL", [
        ("耳机", "HEA", "耳机", (19900, 199900),
         ["主动降噪", "30 小时续航", "记忆棉耳罩", "可折叠机身"],
         ["通勤路上安静专注。", "音量大小音质都好。", "长时间佩戴也舒适。"]),
        ("手机壳", "CAS", "手机壳", (3900, 19900),
         ["镜头加高边框", "防摔边框", "轻薄磨砂质感", "卡槽设计"],
         ["保护周全又轻薄。", "握感好不打滑。", "支持无线充电。"]),
        ("充电器", "CHA", "充电器", (4900, 29900),
         ["双口快充", "折叠插脚", "编织数据线", "过热保护"],
         ["一小时内充满手机。", "出门轻便。", "一个充电器搞定所有设备。"]),
    ]),
    ("玩具游戏", "TG", [
        ("桌游", "BOA", "桌游", (9900, 39900),
         ["一局三十分钟", "二到六人", "插画卡牌", "规则简单"],
         ["适合家庭聚会。", "上手容易，越玩越有趣。", "和朋友一起玩正好。"]),
        ("拼图", "PUZ", "拼图", (4900, 19900),
         ["一千片加厚拼块", "附参考海报", "哑光防反光", "结实收纳盒"],
         ["安静的夜晚小项目。", "拼完很有成就感。", "送礼也合适。"]),
        ("积木", "BUI", "积木套装", (12900, 69900),
         ["五百多块积木", "分步说明书", "可动结构", "展示底座"],
         ["玩上好几个小时。", "可以反复拼搭。", "适合八岁以上。"]),
    ]),
    ("户外", "OU", [
        ("帐篷", "TEN", "帐篷", (49900, 259900),
         ["双人设计", "彩色标记帐杆", "全覆盖外帐", "门厅可放装备"],
         ["十分钟就能搭好。", "风雨中依然稳固。", "轻便好背。"]),
        ("睡袋", "SLE", "睡袋", (19900, 99900),
         ["三季适用", "防风领口", "压缩袋", "柔软磨毛内里"],
         ["星空下睡得暖。", "收纳体积小。", "肩部空间宽松。"]),
        ("水杯", "WAT", "水杯", (4900, 19900),
         ["防漏杯盖", "真空保温杯身", "宽口设计", "提环"],
         ["冷饮保冷一整天。", "放得进大多数杯架。", "每次出行都能带上。"]),
    ]),
]

# Invented Chinese brands, each at home in one or two top categories (by code).
ZH_BRANDS = [
    ("山岚", ["FW", "OU"]), ("步云", ["FW"]), ("远足客", ["FW", "OU"]), ("云岫", ["AP", "OU"]),
    ("棉语", ["AP"]), ("暖禾", ["AP", "HK"]), ("木野", ["HK", "OU"]), ("拾光", ["HK"]),
    ("谷语", ["GR"]), ("青柚", ["GR", "BE"]), ("禾匠", ["GR"]), ("素颜坊", ["BE"]),
    ("花间集", ["BE"]), ("声屿", ["EL"]), ("星轨", ["EL"]), ("电小满", ["EL", "TG"]),
    ("童趣岛", ["TG"]), ("方块熊", ["TG"]),
]

ZH_MODEL_WORDS = ["疾风", "晨曦", "远山", "流云", "微光", "青石", "松涛", "星河", "晴川", "朗月", "秋水", "听雨"]
ZH_COLOURS = ["沙色", "石板灰", "森林绿", "海蓝", "莓红", "炭黑", "天蓝", "陶土色", "薄荷绿", "象牙白"]
ZH_ADJECTIVES = ["日常", "经典", "轻量", "便携", "基础", "舒适", "户外", "简约"]


def money(cents):
    return "%d.%02d" % (cents // 100, cents % 100)


def shelf_price(rng, low, high):
    """A price inside the band that ends in .99 or .49."""
    whole = rng.randint(low // 100, high // 100)
    return whole * 100 + rng.choice([99, 99, 49])


def list_price_of(price, factor):
    """A list price `factor` % of `price`, ending in .99."""
    return (price * factor // 100) // 100 * 100 + 99


def zh_shelf_price(rng, low, high):
    """A whole-yuan price inside the band that ends in 9 (or 5), as Chinese shelves price."""
    whole = rng.randint(low // 100, high // 100)
    return (whole // 10 * 10 + rng.choice([9, 9, 5])) * 100


def zh_list_price_of(price, factor):
    """A whole-yuan list price `factor` % of `price`, ending in 9."""
    return (price * factor // 100) // 1000 * 1000 + 900


def en_description(adjective, noun, feature_a, feature_b, benefit):
    return "%s %s with %s and %s. %s" % (adjective, noun.lower(), feature_a, feature_b, benefit)


def zh_description(adjective, noun, feature_a, feature_b, benefit):
    return "%s%s，%s，%s。%s" % (adjective, noun, feature_a, feature_b, benefit)


# What differs between the locales' demo data.
EN = {
    "categories": CATEGORIES, "brands": BRANDS, "model_words": MODEL_WORDS, "colours": COLOURS,
    "adjectives": ADJECTIVES, "name": "%s %s %s %s", "description": en_description,
    "shelf_price": shelf_price, "list_price": list_price_of,
}
ZH = {
    "categories": ZH_CATEGORIES, "brands": ZH_BRANDS, "model_words": ZH_MODEL_WORDS,
    "colours": ZH_COLOURS, "adjectives": ZH_ADJECTIVES, "name": "%s %s%s %s",
    "description": zh_description, "shelf_price": zh_shelf_price, "list_price": zh_list_price_of,
}


def build_catalog(rng, spec):
    products = []
    for top, top_code, subs in spec["categories"]:
        brands = [name for name, homes in spec["brands"] if top_code in homes]
        for sub, sub_code, noun, (low, high), features, benefits in subs:
            names_used = []
            for n in range(1, PRODUCTS_PER_SUBCATEGORY + 1):
                brand = brands[(n - 1) % len(brands)] if n <= len(brands) else rng.choice(brands)
                while True:
                    name = spec["name"] % (
                        brand, rng.choice(spec["model_words"]), noun, rng.choice(spec["colours"]))
                    if name not in names_used:
                        names_used.append(name)
                        break
                price = spec["shelf_price"](rng, low, high)
                list_price = ""
                if rng.random() < 0.3:
                    list_price = money(spec["list_price"](price, rng.choice([115, 120, 125, 133, 150])))
                feature_a, feature_b = rng.sample(features, 2)
                description = spec["description"](
                    rng.choice(spec["adjectives"]), noun, feature_a, feature_b, rng.choice(benefits))
                products.append({
                    "sku": "%s-%s-%04d" % (top_code, sub_code, n),
                    "name": name,
                    "brand": brand,
                    "top": top,
                    "top_code": top_code,
                    "sub": sub,
                    "sub_code": sub_code,
                    "price": price,
                    "list_price": list_price,
                    "description": description,
                })
    return products


def write_catalog(path, products):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["sku", "name", "brand", "category", "price", "list_price", "description"])
        for p in products:
            w.writerow([p["sku"], p["name"], p["brand"], "%s > %s" % (p["top"], p["sub"]),
                        money(p["price"]), p["list_price"], p["description"]])


def build_events(rng, products, spec):
    by_sub = {}
    for p in products:
        by_sub.setdefault(p["sub_code"], []).append(p)
    # Price rank of each product inside its subcategory, 0.0 (cheapest) .. 1.0 (dearest).
    rank = {}
    for items in by_sub.values():
        ordered = sorted(items, key=lambda p: (p["price"], p["sku"]))
        for i, p in enumerate(ordered):
            rank[p["sku"]] = i / (len(ordered) - 1)
    subs_of_top = {}
    for top, top_code, subs in spec["categories"]:
        subs_of_top[top_code] = [s[1] for s in subs]
    # Category ids and codes from the English names in every locale (same codes, same ids).
    sub_ids = {}
    for top, top_code, subs in CATEGORIES:
        for s in subs:
            sub_ids[s[1]] = (2090001000 + len(sub_ids), "%s.%s" % (
                top.lower().replace(" & ", "_").replace(" ", "_"), s[0].lower().replace(" ", "_").replace("-", "")))
    top_codes = [c[1] for c in spec["categories"]]
    bands = [(0.0, 0.45), (0.3, 0.75), (0.6, 1.0)]

    used_ids = []
    shoppers = []
    for _ in range(SHOPPERS):
        while True:
            card = "LC%08d" % rng.randint(10000000, 99999999)
            if card not in used_ids:
                used_ids.append(card)
                break
        tops = rng.sample(top_codes, rng.choice([1, 1, 2]))
        home_brands = [b for b, homes in spec["brands"] if any(t in homes for t in tops)]
        shoppers.append({
            "card": card,
            "tops": tops,
            "brands": rng.sample(home_brands, min(len(home_brands), rng.choice([1, 2]))),
            "band": rng.choice(bands),
        })

    def pick(shopper, sub_code):
        items = by_sub[sub_code]
        low, high = shopper["band"]
        weights = []
        for p in items:
            w = 1.0
            if p["brand"] in shopper["brands"]:
                w *= 5.0
            if low <= rank[p["sku"]] <= high:
                w *= 3.0
            weights.append(w)
        return rng.choices(items, weights=weights)[0]

    def fits(shopper, p):
        low, high = shopper["band"]
        return p["brand"] in shopper["brands"] or low <= rank[p["sku"]] <= high

    rows = []
    used_sessions = []
    for shopper in shoppers:
        for _ in range(1 + min(7, int(rng.expovariate(0.5)))):
            while True:
                session = "s%010x" % rng.getrandbits(40)
                if session not in used_sessions:
                    used_sessions.append(session)
                    break
            t = FIRST_DAY + datetime.timedelta(
                days=rng.randrange(DAYS), hours=rng.randint(8, 20), minutes=rng.randrange(60),
                seconds=rng.randrange(60))
            events = []

            def emit(kind, p):
                nonlocal t
                t += datetime.timedelta(seconds=rng.randint(15, 240))
                events.append((t, kind, p))

            if rng.random() < 0.85:
                focus = rng.choice(subs_of_top[rng.choice(shopper["tops"])])
            else:
                focus = rng.choice(list(by_sub))
            carted = []
            viewed = []
            for _ in range(rng.randint(3, 10)):
                for _attempt in range(4):
                    sub = focus if rng.random() < 0.85 else rng.choice(list(by_sub))
                    p = pick(shopper, sub)
                    if p not in viewed:
                        break
                viewed.append(p)
                emit("view", p)
                if rng.random() < (0.2 if fits(shopper, p) else 0.04) and p not in carted:
                    emit("cart", p)
                    carted.append(p)
            for p in carted:
                if rng.random() < 0.6:
                    emit("purchase", p)
                    for comp in COMPLEMENTS.get(p["sub_code"], []):
                        if rng.random() < 0.55:
                            q = pick(shopper, comp)
                            emit("view", q)
                            emit("cart", q)
                            if rng.random() < 0.8:
                                emit("purchase", q)
            rows.extend((ts, kind, p, shopper["card"], session) for ts, kind, p in events)

    rows.sort(key=lambda r: (r[0], r[4], r[1], r[2]["sku"]))
    return rows, sub_ids


def write_events(path, rows, sub_ids):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["event_time", "event_type", "product_id", "category_id", "category_code", "brand",
                    "price", "user_id", "user_session"])
        for ts, kind, p, card, session in rows:
            cat_id, cat_code = sub_ids[p["sub_code"]]
            w.writerow([ts.strftime("%Y-%m-%d %H:%M:%S UTC"), kind, p["sku"], cat_id, cat_code, p["brand"],
                        money(p["price"]), card, session])


def write_locale(out, seed, spec):
    rng = random.Random(seed)
    products = build_catalog(rng, spec)
    rows, sub_ids = build_events(rng, products, spec)
    os.makedirs(out, exist_ok=True)
    write_catalog(os.path.join(out, "catalog.csv"), products)
    write_events(os.path.join(out, "events.csv"), rows, sub_ids)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    write_locale(args.out, SEED, EN)
    write_locale(os.path.join(args.out, "zh-CN"), ZH_SEED, ZH)


if __name__ == "__main__":
    main()
