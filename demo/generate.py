#!/usr/bin/env python3
"""Writes shelftalk's own demo data: demo/catalog.csv and demo/events.csv.

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

Usage: python3 demo/generate.py [--out DIR]     (default: the directory of this script)
"""

import argparse
import csv
import datetime
import os
import random

SEED = 20261128
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


def money(cents):
    return "%d.%02d" % (cents // 100, cents % 100)


def shelf_price(rng, low, high):
    """A price inside the band that ends in .99 or .49."""
    whole = rng.randint(low // 100, high // 100)
    return whole * 100 + rng.choice([99, 99, 49])


def build_catalog(rng):
    products = []
    for top, top_code, subs in CATEGORIES:
        brands = [name for name, homes in BRANDS if top_code in homes]
        for sub, sub_code, noun, (low, high), features, benefits in subs:
            names_used = []
            for n in range(1, PRODUCTS_PER_SUBCATEGORY + 1):
                brand = brands[(n - 1) % len(brands)] if n <= len(brands) else rng.choice(brands)
                while True:
                    name = "%s %s %s %s" % (brand, rng.choice(MODEL_WORDS), noun, rng.choice(COLOURS))
                    if name not in names_used:
                        names_used.append(name)
                        break
                price = shelf_price(rng, low, high)
                list_price = ""
                if rng.random() < 0.3:
                    list_price = money((price * rng.choice([115, 120, 125, 133, 150]) // 100) // 100 * 100 + 99)
                feature_a, feature_b = rng.sample(features, 2)
                description = "%s %s with %s and %s. %s" % (
                    rng.choice(ADJECTIVES), noun.lower(), feature_a, feature_b, rng.choice(benefits))
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


def build_events(rng, products):
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
    for top, top_code, subs in CATEGORIES:
        subs_of_top[top_code] = [s[1] for s in subs]
    sub_ids = {}
    for top, top_code, subs in CATEGORIES:
        for s in subs:
            sub_ids[s[1]] = (2090001000 + len(sub_ids), "%s.%s" % (
                top.lower().replace(" & ", "_").replace(" ", "_"), s[0].lower().replace(" ", "_").replace("-", "")))
    top_codes = [c[1] for c in CATEGORIES]
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
        home_brands = [b for b, homes in BRANDS if any(t in homes for t in tops)]
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    rng = random.Random(SEED)
    products = build_catalog(rng)
    rows, sub_ids = build_events(rng, products)
    os.makedirs(args.out, exist_ok=True)
    write_catalog(os.path.join(args.out, "catalog.csv"), products)
    write_events(os.path.join(args.out, "events.csv"), rows, sub_ids)


if __name__ == "__main__":
    main()
