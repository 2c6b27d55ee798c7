PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_opportunities` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`symbol` text NOT NULL,
	`buy_venue` text NOT NULL,
	`sell_venue` text NOT NULL,
	`anomaly` integer NOT NULL,
	`opened_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`closed_at` integer,
	`close_reason` text,
	`size_quote` real NOT NULL,
	`gross_bps_open` real NOT NULL,
	`net_bps_open` real NOT NULL,
	`gross_bps` real NOT NULL,
	`net_bps` real NOT NULL,
	`profit_quote` real NOT NULL,
	`max_size_quote` real NOT NULL,
	`max_profit_quote` real NOT NULL,
	`buy_price` real NOT NULL,
	`sell_price` real NOT NULL,
	`fee_bps` real NOT NULL,
	`buy_age_ms` real NOT NULL,
	`sell_age_ms` real NOT NULL,
	`peak_net_bps` real NOT NULL,
	`legs` text,
	CONSTRAINT "opportunities_kind_check" CHECK("__new_opportunities"."kind" in ('cross', 'triangle', 'cross-quote'))
);
--> statement-breakpoint
INSERT INTO `__new_opportunities`("id", "kind", "symbol", "buy_venue", "sell_venue", "anomaly", "opened_at", "updated_at", "closed_at", "close_reason", "size_quote", "gross_bps_open", "net_bps_open", "gross_bps", "net_bps", "profit_quote", "max_size_quote", "max_profit_quote", "buy_price", "sell_price", "fee_bps", "buy_age_ms", "sell_age_ms", "peak_net_bps", "legs") SELECT "id", "kind", "symbol", "buy_venue", "sell_venue", "anomaly", "opened_at", "updated_at", "closed_at", "close_reason", "size_quote", "gross_bps_open", "net_bps_open", "gross_bps", "net_bps", "profit_quote", "max_size_quote", "max_profit_quote", "buy_price", "sell_price", "fee_bps", "buy_age_ms", "sell_age_ms", "peak_net_bps", "legs" FROM `opportunities`;--> statement-breakpoint
DROP TABLE `opportunities`;--> statement-breakpoint
ALTER TABLE `__new_opportunities` RENAME TO `opportunities`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `opportunities_opened_at_idx` ON `opportunities` (`opened_at`,`id`);--> statement-breakpoint
CREATE INDEX `opportunities_symbol_opened_at_idx` ON `opportunities` (`symbol`,`opened_at`,`id`);--> statement-breakpoint
CREATE INDEX `opportunities_buy_venue_opened_at_idx` ON `opportunities` (`buy_venue`,`opened_at`,`id`);--> statement-breakpoint
CREATE INDEX `opportunities_sell_venue_opened_at_idx` ON `opportunities` (`sell_venue`,`opened_at`,`id`);--> statement-breakpoint
CREATE INDEX `opportunities_kind_opened_at_idx` ON `opportunities` (`kind`,`opened_at`,`id`);