# shelftalk's screen and console strings, English. Every id here is in every other locale's
# file with the same arguments (src/i18n.rs tests); ids: kiosk- the shopper screen, reason- why a
# pick is shown, price- the price line, console- the technician console.

## The shopper screen

kiosk-header = shelftalk · { $title }
kiosk-title-attract = Welcome
kiosk-title-goodbye = Thank you
kiosk-title-personal = Picked for you
kiosk-title-opted-out = Personalisation off
kiosk-title-popular = Popular picks
kiosk-hint-attract = Scan your loyalty card or any product barcode
kiosk-hint-picks = ←/→ or 1-3 choose · 👍 + · 👎 - · ? why · o opt out · d done
kiosk-hint-product = 👍 + · 👎 - · ? why · Esc back · o opt out · d done
kiosk-hint-why = ? or Esc close · o opt out · d done
kiosk-hint-opted-out = any key to continue · d done
kiosk-reading-code = Reading code…
kiosk-goodbye-heading = Thank you for visiting!
kiosk-goodbye-body = Your session has ended. Nothing about you stays on this screen.
kiosk-welcome-heading = Scan your loyalty card for picks chosen for you
kiosk-welcome-body = or scan any product to learn more about it
kiosk-featured = Featured
kiosk-about-for-you = About this product, for you
kiosk-about = About this product
kiosk-finding-picks = Finding picks for you…
kiosk-no-picks-heading = Scan any product to learn more about it
kiosk-no-picks-body = Or press d when you are done.
kiosk-unknown-heading = Sorry, we don't know that code
kiosk-unknown-body = Try scanning another product.
kiosk-looking-up = Looking it up…
kiosk-why-title = Why am I seeing this?
kiosk-why-personal = Chosen from your past shopping with us. Press o to turn this off.
kiosk-why-popular = Chosen from what is popular and what you looked at in this visit only.
kiosk-opted-out-title = Done
kiosk-opted-out-heading = Personalisation is off
kiosk-opted-out-body = From now on this kiosk will not use your shopping history, starting with this visit.
kiosk-opted-out-scan = You can still scan products to learn about them.
kiosk-opted-out-undo = Changed your mind? Press o again to turn it back on.

## Why a pick is shown (the line under a pick and the why panel)

reason-likes-brand = Because you like { $brand }
reason-likes-category = Because you like { $category }
reason-likes-tag = Because you're into { $tag }
reason-matches-interests = Matches your interests
reason-popular-in-store = Popular in this store this week
reason-goes-with-scanned = Goes well with { $product }
reason-goes-with-scanned-unknown = Goes well with what you scanned
reason-goes-with-favourites = Goes well with things you like
reason-price-range = Matches your usual price range
reason-completes-basket = Completes your basket
reason-on-offer = On offer right now
reason-worth-a-look = Worth a look
reason-picked-for-you = Picked for you
reason-scanned = You scanned this

## The price line of a pick

price-was = { $now } (was { $list })

## The technician console

console-tab-status = Status
console-tab-logs = Logs
console-tab-content = Content
console-tab-actions = Actions
console-tab-config = Config
console-hint-logs = l level · ↑/↓ scroll · Tab/1-5 switch · q quit
console-hint-loyalty = Enter continue · Esc cancel
console-hint-confirm = y confirm · n or Esc cancel
console-hint-actions = ↑/↓ choose · Enter run · Tab/1-5 switch · q quit
console-hint-tabs = Tab/Shift-Tab or 1-5 switch tabs · q quit
console-pin-header = shelftalk console
console-pin-hint = digits then Enter · Esc quit
console-pin-title = Technician PIN
console-pin-label = PIN:
console-pin-enter = Enter the technician PIN.
console-pin-wrong = Wrong PIN. Try again.
console-pin-checking = Checking…
console-locked = Too many wrong PINs. Locked for { $wait }.
console-status-model = Model
console-status-model-hash = Model hash
console-status-load-state = Load state
console-status-tokens = Tokens/s
console-status-cache-hit = Copy cache hit rate
console-status-verdicts = Guardrail verdicts
console-status-fell-back = Copy fell back
console-status-latency = Copy latency
console-status-db-size = Database size
console-status-db-rows = Database rows
console-status-backlog = Sync backlog
console-status-disk-free = Disk free
console-status-storage = Storage
console-status-feedback = Feedback in memory
console-status-uptime = Uptime
console-status-cpu-temp = CPU temperature
console-waiting = Waiting for the daemon…
console-to-template = to template: { $counts }
console-latency = p50 { $p50 } ms · p99 { $p99 } ms (last { $samples } of { $answered })
console-batches = { $count } batches
console-storage-ok = ok
console-feedback-memory = { $waiting } waiting · { $dropped } dropped
console-no-cpu-temp = not exposed by this board
console-logs-all = Showing every level
console-logs-from = Showing { $level } and more severe
console-content-line = style { $style } · source { $source } · verdict { $verdict }
console-no-content = No copy written yet.
console-action-self-test = Run self-test
console-action-warm-cache = Warm copy cache
console-action-rotate-keys = Rotate keys
console-action-erase = Erase a shopper
console-action-reload = Reload config
console-action-choose = Choose an action and press Enter.
console-erase-prompt = Loyalty number of the shopper to erase:
console-erase-confirm = Erase the shopper with loyalty number { $masked } ({ $length } characters)? This cannot be undone.
console-action-confirm = { $action } now?
console-confirm-keys = Press y to confirm, n to cancel.
console-running = { $action }: running…
console-outcome = { $mark } { $action }: { $message }
console-duration-min-sec = { $m }m { $s }s
console-duration-sec = { $s }s
console-uptime-days = { $days }d { $clock }
