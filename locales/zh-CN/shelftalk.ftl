# shelftalk 的屏幕与控制台文字，简体中文。与 en 文件的消息 id 和参数一一对应（src/i18n.rs 的测试）。

## 顾客屏幕

kiosk-header = shelftalk · { $title }
kiosk-title-attract = 欢迎光临
kiosk-title-goodbye = 谢谢
kiosk-title-personal = 为你挑选
kiosk-title-opted-out = 个性化已关闭
kiosk-title-popular = 热门推荐
kiosk-hint-attract = 请扫描会员卡或任意商品条码
kiosk-hint-picks = ←/→ 或 1-3 选择 · 👍 + · 👎 - · ? 为什么 · o 关闭个性化 · d 完成
kiosk-hint-product = 👍 + · 👎 - · ? 为什么 · Esc 返回 · o 关闭个性化 · d 完成
kiosk-hint-why = ? 或 Esc 关闭 · o 关闭个性化 · d 完成
kiosk-hint-opted-out = 按任意键继续 · d 完成
kiosk-reading-code = 正在读取条码…
kiosk-goodbye-heading = 感谢光临！
kiosk-goodbye-body = 本次服务已结束，屏幕上不会保留你的任何信息。
kiosk-welcome-heading = 扫描会员卡，查看为你挑选的商品
kiosk-welcome-body = 或扫描任意商品，了解更多信息
kiosk-featured = 精选
kiosk-about-for-you = 商品详情（为你推荐）
kiosk-about = 商品详情
kiosk-finding-picks = 正在为你挑选…
kiosk-no-picks-heading = 扫描任意商品，了解更多信息
kiosk-no-picks-body = 完成后请按 d。
kiosk-unknown-heading = 抱歉，无法识别这个条码
kiosk-unknown-body = 请尝试扫描其他商品。
kiosk-looking-up = 正在查询…
kiosk-why-title = 为什么向我推荐这些？
kiosk-why-personal = 根据你在本店的购物记录挑选。按 o 可关闭。
kiosk-why-popular = 根据店内热门商品和你本次浏览的商品挑选。
kiosk-opted-out-title = 已完成
kiosk-opted-out-heading = 个性化推荐已关闭
kiosk-opted-out-body = 从本次起，本机将不再使用你的购物记录。
kiosk-opted-out-scan = 你仍可以扫描商品了解详情。
kiosk-opted-out-undo = 改变主意了？再按一次 o 即可重新开启。

## 推荐理由（商品下方一行和"为什么"面板）

reason-likes-brand = 因为你喜欢{ $brand }
reason-likes-category = 因为你喜欢{ $category }
reason-likes-tag = 因为你对{ $tag }感兴趣
reason-matches-interests = 符合你的兴趣
reason-popular-in-store = 本周店内热卖
reason-goes-with-scanned = 与{ $product }很搭
reason-goes-with-scanned-unknown = 与你扫描的商品很搭
reason-goes-with-favourites = 与你喜欢的商品很搭
reason-price-range = 符合你常买的价位
reason-completes-basket = 帮你凑齐购物篮
reason-on-offer = 正在优惠
reason-worth-a-look = 值得一看
reason-picked-for-you = 为你挑选
reason-scanned = 你扫描了这件商品

## 价格行

price-was = { $now }（原价 { $list }）

## 技术人员控制台

console-tab-status = 状态
console-tab-logs = 日志
console-tab-content = 文案
console-tab-actions = 操作
console-tab-config = 配置
console-hint-logs = l 级别 · ↑/↓ 滚动 · Tab/1-5 切换 · q 退出
console-hint-loyalty = Enter 继续 · Esc 取消
console-hint-confirm = y 确认 · n 或 Esc 取消
console-hint-actions = ↑/↓ 选择 · Enter 执行 · Tab/1-5 切换 · q 退出
console-hint-tabs = Tab/Shift-Tab 或 1-5 切换标签 · q 退出
console-pin-header = shelftalk 维护控制台
console-pin-hint = 输入数字后按 Enter · Esc 退出
console-pin-title = 技术人员 PIN
console-pin-label = PIN：
console-pin-enter = 请输入技术人员 PIN。
console-pin-wrong = PIN 错误，请重试。
console-pin-checking = 正在验证…
console-locked = PIN 错误次数过多，已锁定 { $wait }。
console-status-model = 模型
console-status-model-hash = 模型哈希
console-status-load-state = 加载状态
console-status-tokens = 词元/秒
console-status-cache-hit = 文案缓存命中率
console-status-verdicts = 护栏判定
console-status-fell-back = 文案回退
console-status-latency = 文案延迟
console-status-db-size = 数据库大小
console-status-db-rows = 数据库行数
console-status-backlog = 同步积压
console-status-disk-free = 磁盘剩余
console-status-storage = 存储
console-status-feedback = 内存中的反馈
console-status-uptime = 运行时间
console-status-cpu-temp = CPU 温度
console-waiting = 正在等待守护进程…
console-to-template = 改用模板：{ $counts }
console-latency = p50 { $p50 } 毫秒 · p99 { $p99 } 毫秒（最近 { $samples } 次，共 { $answered } 次）
console-batches = { $count } 批
console-storage-ok = 正常
console-feedback-memory = { $waiting } 条等待 · { $dropped } 条丢弃
console-no-cpu-temp = 此主板未提供
console-logs-all = 显示全部级别
console-logs-from = 显示 { $level } 及更严重的级别
console-content-line = 风格 { $style } · 来源 { $source } · 判定 { $verdict }
console-no-content = 尚未生成文案。
console-action-self-test = 运行自检
console-action-warm-cache = 预热文案缓存
console-action-rotate-keys = 轮换密钥
console-action-erase = 删除顾客数据
console-action-reload = 重新加载配置
console-action-choose = 选择一项操作并按 Enter。
console-erase-prompt = 要删除的顾客会员号：
console-erase-confirm = 删除会员号为 { $masked }（{ $length } 位）的顾客？此操作无法撤销。
console-action-confirm = 立即{ $action }？
console-confirm-keys = 按 y 确认，按 n 取消。
console-running = { $action }：正在执行…
console-outcome = { $mark } { $action }：{ $message }
console-duration-min-sec = { $m }分{ $s }秒
console-duration-sec = { $s }秒
console-uptime-days = { $days }天 { $clock }
